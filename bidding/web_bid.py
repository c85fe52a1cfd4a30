"""The bidder's pages: bidder keys (投标密钥) and the bid page (投标文件递交).

Everything cryptographic happens in the browser (static/js/bid-upload.js with sbe1.js and
keystore.js); these views only check access and hand the page what it needs. The private keys
never reach the server.

The page texts live in TEXTS below as (English, 简体中文) pairs. A text is run through gettext
first, so a translation added to locale/ wins; without one, Chinese pages use the Chinese text
given here. This keeps the pages Chinese by default even before the catalogue is updated.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from bidding.models import BidderKey
from bidding.services.uploads import MAX_CHUNK
from trading import selectors
from trading.models import Section, User
from trading.services.errors import DomainError
from trading.services.registrations import require_registered

UPLOAD_CHUNK_SIZE = 4 * 1024 * 1024  # ≤ MAX_CHUNK (8 MiB): what the browser PUTs per request
SEAL_CHUNK_SIZE = 1024 * 1024  # plaintext bytes per SBE1 documents frame
assert UPLOAD_CHUNK_SIZE <= MAX_CHUNK

TEXTS: dict[str, tuple[str, str]] = {
    # shared
    "keys_title": ("Bidder keys", "投标密钥"),
    "bid_title": ("Submit a sealed bid", "投标文件递交"),
    "workspace": ("Bidder workspace", "投标人工作台"),
    "kid": ("Key id (kid)", "密钥标识（kid）"),
    "use": ("Use", "用途"),
    "use_enc": ("Encryption", "加密"),
    "use_sign": ("Signing", "签名"),
    "registered_at": ("Registered", "登记时间"),
    "state": ("State", "状态"),
    "active": ("In use", "使用中"),
    "retired": ("Retired", "已停用"),
    "in_browser": ("In this browser", "本浏览器"),
    "checking": ("Checking…", "正在检查…"),
    "held_yes": ("Held here", "已保存"),
    "held_no": ("Not in this browser", "不在本浏览器"),
    "passphrase": ("Passphrase", "备份口令"),
    "passphrase_again": ("Passphrase again", "再次输入口令"),
    # keys page
    "keys_lead": (
        "Your bid is sealed and signed on this computer. The server only ever receives your public keys.",
        "投标文件在您自己的电脑上加密和签名，服务器只接收公钥。",
    ),
    "keys_explain_1": (
        "The private keys are created in this browser and never leave this computer. Nobody at the "
        "trading centre can read or recover them.",
        "私钥在本浏览器中生成，永远不会离开这台电脑。交易中心的任何人都无法读取或找回私钥。",
    ),
    "keys_explain_2": (
        "When the keys are made, a backup file protected by your passphrase is downloaded. Keep it "
        "somewhere safe (for example on a USB stick): you need it to use the keys on another computer, "
        "and at the opening to decrypt your bid if this browser's data is lost.",
        "生成密钥时会下载一个由口令保护的备份文件。请妥善保管（例如存到 U 盘）：换电脑投标，或本浏览器数据丢失后"
        "在开标时解密投标文件，都需要这个文件和口令。",
    ),
    "keys_explain_3": (
        "If you lose both the backup file and the passphrase, your bids cannot be decrypted at the "
        "opening (R11).",
        "如果备份文件或口令丢失，开标时将无法解密您的投标文件（R11）。",
    ),
    "registered_keys": ("Registered keys", "已登记的密钥"),
    "no_keys": (
        "Your organization has not registered any keys yet. Generate them below before bidding.",
        "贵单位尚未登记密钥。投标前请先在下方生成密钥。",
    ),
    "generate": ("Generate new keys", "生成新密钥"),
    "generate_help": (
        "Choose a passphrase of at least 12 characters. It protects the backup file; the platform "
        "never sees it. New keys replace the keys in use for future bids; bids already submitted keep "
        "their keys.",
        "请设置至少 12 位的口令，用于保护备份文件，平台不会看到它。新密钥将替换当前使用的密钥，"
        "已递交的投标文件仍使用原密钥。",
    ),
    "generate_btn": ("Generate keys and download backup", "生成密钥并下载备份文件"),
    "import": ("Import a backup file", "导入备份文件"),
    "import_help": (
        "Moving to another computer? Import the backup file with its passphrase.",
        "更换了电脑？请导入备份文件并输入口令。",
    ),
    "backup_file": ("Backup file", "备份文件"),
    "import_btn": ("Import", "导入"),
    "browser_keys": ("Keys stored in this browser", "本浏览器中保存的密钥"),
    "browser_none": ("This browser holds no keys.", "本浏览器中没有保存密钥。"),
    "register_btn": ("Register these keys for use", "登记为使用中的密钥"),
    "to_bid": ("Back to my sections", "返回我的标段"),
    # bid page
    "deadline": ("Bid deadline and opening time", "投标截止及开标时间"),
    "my_bid": ("My current bid", "我的投标文件"),
    "no_bid": ("You have not submitted a bid for this section.", "您尚未递交本标段的投标文件。"),
    "bid_id": ("Bid id", "投标编号"),
    "status": ("Status", "状态"),
    "received_at": ("Received at (server time)", "接收时间（服务器时间）"),
    "digest": ("Envelope digest (SHA-256)", "投标文件摘要（SHA-256）"),
    "receipt_pdf": ("Receipt (PDF)", "回执（PDF）"),
    "receipt_tsr": ("Timestamp token (.tsr)", "时间戳凭证（.tsr）"),
    "withdraw": ("Withdraw bid", "撤回投标"),
    "withdraw_confirm": (
        "Withdraw this bid? It will not be opened. You can submit a new bid before the deadline.",
        "确定撤回该投标文件吗？撤回后将不参加开标。截止时间前您仍可重新递交。",
    ),
    "withdrawn": ("The bid was withdrawn.", "投标文件已撤回。"),
    "form_title": ("Opening form (开标一览表)", "开标一览表"),
    "form_help": (
        "These values are sealed inside your bid with the file. Nobody can read them before the opening.",
        "以下内容与投标文件一起加密封装，开标前任何人都无法查看。",
    ),
    "currency": ("Currency", "币种"),
    "price": ("Bid price (CNY)", "投标报价（元）"),
    "cny": ("Renminbi yuan", "人民币（元）"),
    "file": ("Bid file", "投标文件"),
    "file_help": (
        "One file, for example a ZIP with all documents. It is encrypted on this computer before upload.",
        "单个文件，例如包含全部材料的 ZIP 压缩包。文件在本机加密后才上传。",
    ),
    "replace_warn": (
        "You already have a bid for this section. A new submission replaces it (R08).",
        "您已递交过投标文件。再次递交将替换原投标文件（R08）。",
    ),
    "seal_btn": ("Seal and submit", "加密并递交"),
    "closed": (
        "The bid deadline has passed: this section no longer accepts bids (R06).",
        "投标截止时间已过，本标段不再接收投标文件（R06）。",
    ),
    "no_browser_keys": (
        "This browser does not hold your organization's keys in use. Generate or import them first.",
        "本浏览器中没有贵单位正在使用的密钥，请先生成或导入密钥。",
    ),
    "no_server_keys": (
        "Your organization has not registered bidder keys yet.",
        "贵单位尚未登记投标密钥。",
    ),
    "manage_keys": ("Manage keys", "管理密钥"),
    "progress": ("Progress", "进度"),
    "step_hash": ("Hashing", "计算摘要"),
    "step_encrypt": ("Encrypting", "加密"),
    "step_upload": ("Uploading", "上传"),
    "step_submit": ("Signing and submitting", "签名并递交"),
    "resume_btn": ("Resume upload", "继续上传"),
    "cancel_btn": ("Cancel", "取消"),
    "receipt_title": ("Receipt (回执)", "投标回执"),
    "receipt_ok": (
        "Your bid was received. Keep the receipt: it proves what you submitted and when.",
        "投标文件已成功接收。请保存回执，它证明了您递交的内容和时间。",
    ),
    "section": ("Section", "标段"),
    "timestamp": ("Timestamp token", "时间戳凭证"),
    "sealed_keys": ("Sealed for", "加密接收方"),
    "currency_note": (
        "All prices in CNY, at most 2 decimals.",
        "报价单位为人民币元，最多两位小数。",
    ),
}

JS_TEXTS: dict[str, tuple[str, str]] = {
    "required": ("Fill in “{label}”.", "请填写“{label}”。"),
    "bad_money": (
        "“{label}” must be an amount in yuan with at most 2 decimals, e.g. 1234567.89.",
        "“{label}”须为金额（元），最多两位小数，例如 1234567.89。",
    ),
    "bad_integer": ("“{label}” must be a whole number.", "“{label}”须为整数。"),
    "no_file": ("Choose the bid file.", "请选择投标文件。"),
    "empty_file": ("The bid file is empty.", "投标文件为空。"),
    "fetch_key": ("Fetching the section's opening key…", "正在获取本标段的开标公钥…"),
    "hashing": ("Computing the file's SHA-256… {pct}%", "正在计算文件摘要… {pct}%"),
    "encrypting": ("Encrypting on this computer… {pct}%", "正在本机加密… {pct}%"),
    "uploading": (
        "Uploading {done} of {total} ({chunks}/{count} chunks)",
        "正在上传 {done} / {total}（第 {chunks}/{count} 块）",
    ),
    "retrying": (
        "Connection lost. Retrying in {s} s… ({n})",
        "网络连接中断，{s} 秒后重试…（第 {n} 次）",
    ),
    "paused": (
        "The upload was interrupted: {have} of {count} chunks are on the server. Check the network and "
        "click “Resume upload”; only the missing chunks will be sent.",
        "上传中断：服务器已收到 {have} / {count} 块。请检查网络后点击“继续上传”，只会补传缺少的部分。",
    ),
    "resuming": ("Asking the server which chunks it already has…", "正在向服务器查询已收到的分块…"),
    "signing": ("Signing the digest with your signing key…", "正在用签名密钥对摘要签名…"),
    "submitting": ("Submitting…", "正在递交…"),
    "done": ("Received.", "已接收。"),
    "reloaded": (
        "An earlier upload on this page ({id}) was not finished. The sealed file was only kept in memory, "
        "so after reloading the page you need to seal and upload again.",
        "本页面之前有一次上传（{id}）未完成。加密后的文件只保存在内存中，页面刷新后需要重新加密并上传。",
    ),
    "network": ("Network error: the server could not be reached.", "网络错误：无法连接服务器。"),
    "http": ("The server answered {status}.", "服务器返回错误 {status}。"),
    "withdraw_confirm": TEXTS["withdraw_confirm"],
    "withdrawn": TEXTS["withdrawn"],
    "status_submitted": ("Submitted", "已递交"),
    "status_replaced": ("Replaced by a later bid", "已被新投标替换"),
    "status_withdrawn": ("Withdrawn (撤回)", "已撤回"),
    "status_decrypted": ("Decrypted", "已解密"),
    "status_revoked": ("Revoked (撤销)", "已撤销"),
    "status_failed_platform": ("Withdrawn (platform fault)", "撤回（平台原因）"),
    "status_disqualified": ("Disqualified", "已否决"),
    "earlier": ("Earlier submissions", "历史递交记录"),
    "pass_short": ("The passphrase needs at least 12 characters.", "口令至少需要 12 个字符。"),
    "pass_mismatch": ("The two passphrases differ.", "两次输入的口令不一致。"),
    "generating": (
        "Generating keys and encrypting the backup (this takes a few seconds)…",
        "正在生成密钥并加密备份文件（需要几秒钟）…",
    ),
    "registering": ("Registering the public keys with the platform…", "正在向平台登记公钥…"),
    "generated": (
        "Done. The backup file “{name}” was downloaded: keep it and the passphrase safe. "
        "Encryption key {enc}, signing key {sign}.",
        "完成。备份文件“{name}”已下载，请妥善保管该文件和口令。加密密钥 {enc}，签名密钥 {sign}。",
    ),
    "imported": ("Imported the keys {kid}.", "已导入密钥 {kid}。"),
    "import_other_org": (
        "This backup belongs to another organization ({org}).",
        "该备份文件属于其他单位（{org}）。",
    ),
    "no_backup_file": ("Choose the backup file.", "请选择备份文件。"),
    "registered": ("The keys are registered and in use.", "密钥已登记并投入使用。"),
    "not_registered": ("Not registered", "未登记"),
    "state_active": ("In use", "使用中"),
    "state_retired": ("Retired", "已停用"),
    "keyset": ("Key set", "密钥组"),
    "created": ("stored {at}", "保存于 {at}"),
    "unsupported": (
        "This browser cannot seal bids (WebCrypto and IndexedDB are needed). Use a current Chrome, "
        "Edge or Firefox over HTTPS.",
        "当前浏览器不支持加密投标（需要 WebCrypto 和 IndexedDB）。请通过 HTTPS 使用新版 Chrome、Edge 或 Firefox。",
    ),
    "key_error": ("Key store: {msg}", "密钥库：{msg}"),
    "held_yes": TEXTS["held_yes"],
    "held_no": TEXTS["held_no"],
    "no_browser_keys": TEXTS["no_browser_keys"],
    "leave": ("The upload is not finished. Leave the page?", "上传尚未完成，确定离开页面吗？"),
}


def _texts(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    chinese = (translation.get_language() or "zh-hans").lower().startswith("zh")
    out = {}
    for key, (en, zh) in table.items():
        translated = gettext(en)
        out[key] = zh if chinese and translated == en else translated
    return out


def _bidder_or_login(request):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.has_role(User.Role.BIDDER) or user.organization_id is None:
        raise PermissionDenied(gettext("This page is not available to your role."))
    return None


def _keys(organization) -> list[dict]:
    return [
        {
            "kid": k.kid,
            "use": k.use,
            "created_at": k.created_at,
            "active": k.retired_at is None,
            "retired_at": k.retired_at,
        }
        for k in BidderKey.objects.filter(organization=organization).order_by("-created_at", "use")
    ]


def bidder_keys(request):
    """投标密钥: generate or import the bidder's keys, and see which kids are registered."""
    denied = _bidder_or_login(request)
    if denied:
        return denied
    organization = request.user.organization
    keys = _keys(organization)
    config = {
        "organization": organization.credit_code,
        "api": {"keys": reverse("api-bidder-keys")},
        "registered": [{"kid": k["kid"], "use": k["use"], "active": k["active"]} for k in keys],
        "text": {**_texts(TEXTS), **_texts(JS_TEXTS)},
        "lang": translation.get_language(),
    }
    return render(
        request,
        "bidding/keys.html",
        {
            "t": _texts(TEXTS),
            "organization": organization,
            "keys": keys,
            "config": config,
        },
    )


def _section_for_bidder(request, section_id: str) -> Section:
    section = selectors.section_get_visible(user=request.user, public_id=section_id)
    try:
        require_registered(user=request.user, section=section)
    except DomainError as exc:
        raise PermissionDenied(str(exc.message)) from None
    return section


def bid_page(request, section_id: str):
    """投标文件递交: seal in the browser, upload in chunks (断点续传), sign, get the receipt (R09)."""
    denied = _bidder_or_login(request)
    if denied:
        return denied
    section = _section_for_bidder(request, section_id)
    organization = request.user.organization
    now = timezone.now()
    active = {k["use"]: k["kid"] for k in _keys(organization) if k["active"]}
    fields = [
        {
            "key": str(f.get("key", "")),
            "label": str(f.get("label") or f.get("key", "")),
            "type": f.get("type") if f.get("type") in {"money", "integer", "text"} else "text",
        }
        for f in (section.opening_form_fields or [])
        if isinstance(f, dict) and f.get("key")
    ]
    if not any(f["key"] == "price" for f in fields):
        fields.insert(0, {"key": "price", "label": _texts(TEXTS)["price"], "type": "money"})
    sid = section.public_id
    config = {
        "section": sid,
        "bidder": organization.credit_code,
        "deadline": section.bid_deadline.isoformat(),
        "open": section.accepts_bids(now),
        "enc_kid": active.get(BidderKey.Use.ENCRYPTION, ""),
        "sign_kid": active.get(BidderKey.Use.SIGNING, ""),
        "fields": fields,
        "upload_chunk_size": UPLOAD_CHUNK_SIZE,
        "seal_chunk_size": SEAL_CHUNK_SIZE,
        "api": {
            "opening_key": reverse("api-opening-key", args=[sid]),
            "uploads": reverse("api-upload-create", args=[sid]),
            "mine": reverse("api-my-bids", args=[sid]),
            "upload": reverse("api-upload", args=["UPLOAD"]),
            "chunk": reverse("api-upload-chunk", args=["UPLOAD", 0]).rsplit("/", 1)[0] + "/",
            "submit": reverse("api-upload-submit", args=["UPLOAD"]),
            "bid": reverse("api-bid", args=["BID"]),
            "receipt_pdf": reverse("api-bid-receipt-pdf", args=["BID"]),
            "receipt_tsr": reverse("api-bid-receipt-tsr", args=["BID"]),
        },
        "text": {**_texts(TEXTS), **_texts(JS_TEXTS)},
        "lang": translation.get_language(),
    }
    return render(
        request,
        "bidding/bid.html",
        {
            "t": _texts(TEXTS),
            "section": section,
            "project": section.project,
            "fields": fields,
            "accepts": config["open"],
            "has_server_keys": bool(config["enc_kid"] and config["sign_kid"]),
            "config": config,
        },
    )


urlpatterns = [
    path("sections/<str:section_id>/bid/", bid_page, name="bid_page"),
    path("keys/", bidder_keys, name="bidder_keys"),
]
