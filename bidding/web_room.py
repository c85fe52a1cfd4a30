"""开标大厅: the opening room page and the list of live openings (DESIGN.md §8).

The page renders the room as the visitor's role may see it (the same snapshot the WebSocket sends), then
static/js/room.js connects to ``/ws/sections/<id>/opening/`` with the session cookie and keeps it live.
The room's own words live in ``ROOM_STRINGS`` (Chinese and English side by side) so the template and the
script always agree; the page's chrome comes from base.html and the project's message catalogue.
"""

from datetime import timedelta

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone, translation

from bidding.models import OpeningRoom
from bidding.room.access import room_role
from bidding.room.snapshot import room_snapshot
from trading import selectors

# key: (简体中文, English). Placeholders in braces are filled in by room.js.
ROOM_STRINGS: dict[str, tuple[str, str]] = {
    "room": ("开标大厅", "Bid-opening room"),
    "room_sub": ("不见面开标 · 全程在线 · 电子监察", "Remote opening · fully online · electronically supervised"),
    "openings": ("开标大厅", "Bid openings"),
    "openings_lead": ("今日及正在进行的开标。任何人均可进入观看；投标人名称在唱标后公开。",
                      "Today's and live openings. Anyone may watch; bidders' names are published once the "
                      "prices are read."),
    "no_openings": ("今天没有开标。", "No openings today."),
    "enter_room": ("进入开标大厅", "Enter the room"),
    "opening_time": ("开标时间", "Opening time"),
    "project": ("项目", "Project"),
    "section": ("标段", "Section"),
    "status": ("状态", "Status"),
    "tenderer": ("招标人", "Tenderer"),
    # roles
    "role_host": ("主持人（招标代理）", "Host (agency)"),
    "role_supervisor": ("监督人员", "Supervisor"),
    "role_bidder": ("投标人", "Bidder"),
    "role_public": ("公众观察员", "Public observer"),
    "you_are": ("您的身份：", "You are: "),
    # connection
    "conn_connecting": ("正在连接…", "Connecting…"),
    "conn_live": ("实时连接", "Live"),
    "conn_reconnecting": ("连接中断，正在重新连接…", "Connection lost, reconnecting…"),
    "conn_reconnecting_in": ("连接中断，{s} 秒后重试…", "Connection lost, retrying in {s} s…"),
    "conn_refused": ("服务器拒绝了连接，请刷新页面或重新登录。", "The server refused the connection. Reload or log in again."),
    # phases
    "phase_signin": ("签到", "Sign-in"),
    "phase_extraction": ("抽取投标文件", "Extracting bids"),
    "phase_decryption": ("解密", "Decryption"),
    "phase_reading": ("唱标", "Reading prices"),
    "phase_objections": ("异议", "Objections"),
    "phase_record": ("开标记录", "Opening record"),
    "phase_closed": ("开标结束", "Closed"),
    "phase_failed": ("流标", "Failed"),
    "step_signin": ("签到", "Sign-in"),
    "step_decryption": ("解密", "Decryption"),
    "step_reading": ("唱标", "Price reading"),
    "step_objections": ("异议", "Objections"),
    "step_record": ("开标记录", "Record"),
    # clock
    "clock_signin": ("距开标（投标截止）还有", "Opening (bid deadline) in"),
    "clock_decryption": ("解密剩余时间", "Decryption time left"),
    "clock_objections": ("异议剩余时间", "Time left for objections"),
    "clock_extraction": ("正在抽取投标文件…", "Extracting the bids…"),
    "clock_reading": ("正在唱标…", "Reading the prices…"),
    "clock_record": ("正在生成开标记录…", "Making the opening record…"),
    "clock_closed": ("开标已结束", "The opening is over"),
    "clock_failed": ("本标段流标", "This section failed"),
    "clock_due": ("时间已到，等待系统进入下一环节…", "Time is up; the room moves on in a moment…"),
    "clock_wait_answers": ("时间已到，等待主持人答复全部异议", "Time is up; waiting for the host to answer every objection"),
    "clock_paused": ("已暂停，计时停止", "Paused; the clock has stopped"),
    "clock_ends": ("截止于 {t}", "Ends at {t}"),
    "deadline": ("开标时间", "Opening time"),
    "server_clock": ("已按服务器时间校准", "Synchronised with the server clock"),
    # banners
    "paused_title": ("开标已由监督人员暂停", "The supervisor has paused the opening"),
    "paused_reason": ("原因：{reason}", "Reason: {reason}"),
    "paused_by": ("（{by}）", "({by})"),
    "failed_title": ("本标段流标", "This section has failed"),
    "closed_title": ("开标完成，开标记录已签章归档。", "The opening is complete; the record is signed and archived."),
    # sign-in
    "signin": ("签到情况", "Sign-in"),
    "signin_count": ("已签到 {n} 家", "{n} signed in"),
    "signin_secret": ("开标前，签到投标人的名称和数量对所有人保密（R14）。",
                      "Until the opening, who has signed in is kept secret from everyone (R14)."),
    "signin_masked": ("投标人名称在唱标后公开", "Names are published once the prices are read"),
    "signin_none": ("暂无投标人签到。", "Nobody has signed in yet."),
    "signin_masked_item": ("已签到投标人 {n}", "Signed-in bidder {n}"),
    # progress
    "progress": ("解密进度", "Decryption progress"),
    "progress_of": ("{x} / {n} 份已解密", "{x} of {n} decrypted"),
    "progress_waiting": ("开标后显示投标文件数量。", "The number of bids is shown at the opening."),
    # table
    "table": ("开标一览表", "Opening record table"),
    "table_note": ("唱标按随机顺序进行；投标人名称与报价在全部解密后向所有参与者公开（R12）。",
                   "Prices are read in a random order; names and prices are published to everyone once "
                   "decryption is complete (R12)."),
    "col_order": ("唱标顺序", "Order"),
    "col_no": ("序号", "No."),
    "col_bidder": ("投标人", "Bidder"),
    "col_deposit": ("保证金核验", "Deposit check"),
    "col_status": ("状态", "Status"),
    "masked_bidder": ("第 {n} 号投标人", "Bidder No. {n}"),
    "table_empty": ("开标后显示投标文件。", "Bids are listed at the opening."),
    "yuan": ("元", "CNY"),
    "days": ("日历天", "days"),
    "bid_submitted": ("待解密", "Awaiting decryption"),
    "bid_decrypted": ("已解密", "Decrypted"),
    "bid_revoked": ("撤销（投标人原因未解密）", "Revoked (not decrypted: bidder's fault)"),
    "bid_failed_platform": ("撤回（非投标人原因未解密）", "Withdrawn (not decrypted: platform fault)"),
    "bid_disqualified": ("取消资格", "Disqualified"),
    "bid_withdrawn": ("已撤回", "Withdrawn"),
    # objections
    "objections": ("开标异议", "Objections"),
    "objections_note": ("投标人可在异议时段内对开标提出异议，主持人当场答复并记入开标记录（R13）。",
                        "Bidders may object during the objection period; the host answers on the spot and the "
                        "answers go into the record (R13)."),
    "objections_none": ("暂无异议。", "No objections."),
    "objection_pending": ("待答复", "Awaiting an answer"),
    "objection_answered": ("已答复", "Answered"),
    "objection_answer": ("主持人答复：", "Host's answer:"),
    "objection_placeholder": ("请写明异议事项和理由", "State the objection and its grounds"),
    "objection_raise": ("提出异议", "Raise an objection"),
    "objection_closed": ("异议时段内方可提出异议。", "Objections can be raised during the objection period."),
    "answer_placeholder": ("答复内容", "Your answer"),
    "answer_send": ("答复", "Answer"),
    # controls
    "controls_bidder": ("投标人操作", "Your actions"),
    "controls_host": ("主持人操作", "Host controls"),
    "controls_supervisor": ("监督操作", "Supervision"),
    "controls_public": ("观看说明", "Watching"),
    "public_note": ("您以公众身份观看开标。唱标前只显示投标文件序号，不显示投标人名称。",
                    "You are watching as the public. Until the prices are read, only bid numbers are shown, "
                    "not bidders' names."),
    "public_login": ("投标人、招标代理和监督人员请登录后参加开标。", "Bidders, agencies and supervisors: log in to take part."),
    "you_signed_in": ("已签到", "Signed in"),
    "you_not_signed_in": ("尚未签到", "Not signed in"),
    "sign_in": ("签到", "Sign in"),
    "sign_in_opens": ("签到于 {t} 开始", "Sign-in opens at {t}"),
    "your_bid": ("我的投标文件", "My bid"),
    "your_bid_no": ("第 {n} 号", "No. {n}"),
    "your_bid_none": ("本标段没有您的有效投标文件。", "You have no valid bid in this section."),
    "your_bid_wait": ("开标时编号", "Numbered at the opening"),
    "decrypt": ("解密我的投标文件", "Decrypt my bid"),
    "decrypt_note": ("解密在本浏览器中完成：用本机保存的私钥解开 K2 后发送给平台，私钥不会离开本机。",
                     "Decryption happens in this browser: your private key, which never leaves this machine, "
                     "unwraps K2 and only K2 is sent."),
    "decrypt_wait": ("解密时段开始后可以解密。", "You can decrypt once the decryption window opens."),
    "decrypt_done": ("您的投标文件已解密。", "Your bid is decrypted."),
    "keys_found": ("本浏览器已保存与投标文件匹配的密钥。", "This browser holds the key that matches your bid."),
    "keys_missing": ("本浏览器中没有与投标文件匹配的密钥，请导入密钥备份文件。",
                     "This browser does not hold the key for your bid. Import your key backup file."),
    "keys_unknown": ("将在解密时查找本浏览器中保存的密钥。", "Your key is looked up in this browser when you decrypt."),
    "import_title": ("导入密钥备份文件", "Import your key backup file"),
    "import_file": ("密钥备份文件（.json）", "Key backup file (.json)"),
    "import_pass": ("备份口令", "Backup passphrase"),
    "import_go": ("导入", "Import"),
    "import_busy": ("正在校验口令并导入密钥…", "Checking the passphrase and importing…"),
    "import_ok": ("密钥已导入本浏览器。", "The key is now stored in this browser."),
    "import_need": ("请选择备份文件并输入口令。", "Choose the backup file and enter its passphrase."),
    "sbe_title": ("备用方式：从本机投标文件读取信封头", "Alternative: read the header from your sealed file"),
    "sbe_file": ("加密投标文件（.sbe）", "Sealed bid file (.sbe)"),
    "step_header": ("正在获取信封头…", "Fetching the envelope header…"),
    "step_unwrap": ("正在用本机私钥解开 K2…", "Unwrapping K2 with your private key…"),
    "step_sent": ("已发送，等待平台验证…", "Sent; the platform is checking…"),
    "err_header": ("无法获取信封头：{e}", "Cannot fetch the envelope header: {e}"),
    "err_unwrap": ("解开 K2 失败：{e}", "Could not unwrap K2: {e}"),
    "advance": ("结束当前环节", "End this phase"),
    "advance_note": ("全部投标文件解密后可结束解密；全部异议答复后可结束异议。",
                     "Decryption can end once every bid is decrypted; objections once every one is answered."),
    "host_note": ("各环节到时由系统自动推进；主持人负责答复异议。",
                  "Each phase ends on time by itself; the host answers the objections."),
    "pause": ("暂停开标", "Pause the opening"),
    "resume": ("恢复开标", "Resume the opening"),
    "pause_reason": ("暂停或恢复的原因", "Reason for pausing or resuming"),
    "pause_need_reason": ("请填写暂停原因。", "Give the reason for pausing."),
    "supervisor_note": ("暂停期间计时停止，环节结束时间顺延。", "While paused, the clock stops and the phase end moves later."),
    # record
    "record": ("开标记录", "Opening record"),
    "record_wait": ("开标结束后，经电子签章和可信时间戳的开标记录表在此下载。",
                    "Once the opening is over, the signed and timestamped record can be downloaded here."),
    "record_download": ("下载开标记录表（PDF）", "Download the opening record (PDF)"),
    "record_sha": ("SHA-256", "SHA-256"),
    # misc
    "error": ("操作未成功：{message}", "Not done: {message}"),
    "dismiss": ("关闭", "Dismiss"),
    "event_log": ("开标过程", "Opening log"),
    "ev_phase": ("进入环节：{phase}", "Phase: {phase}"),
    "ev_signed_in": ("{bidder} 签到", "{bidder} signed in"),
    "ev_extracted": ("共抽取 {n} 份投标文件", "{n} bids extracted"),
    "ev_decrypted": ("{bidder} 已解密（{x}/{n}）", "{bidder} decrypted ({x}/{n})"),
    "ev_decrypt_failed": ("第 {no} 号解密失败：{message}", "Bid No. {no} failed to decrypt: {message}"),
    "ev_outcome": ("{bidder}：{status}", "{bidder}: {status}"),
    "ev_price": ("唱标：{bidder}", "Read: {bidder}"),
    "ev_objection": ("{bidder} 提出异议", "{bidder} raised an objection"),
    "ev_answered": ("主持人答复了异议", "The host answered an objection"),
    "ev_paused": ("监督人员暂停开标：{reason}", "Paused by the supervisor: {reason}"),
    "ev_resumed": ("开标恢复", "The opening resumed"),
    "ev_failed": ("流标：{reason}", "Failed: {reason}"),
    "ev_record": ("开标记录已生成", "The opening record is ready"),
    "someone": ("一家投标人", "A bidder"),
    "ev_you_signed_in": ("您已签到（开标前仅您本人可见）", "You signed in (only you can see this before the opening)"),
    "mine": ("本单位", "You"),
    "deposit_not_checked": ("未核验", "Not checked"),
    "field_price": ("投标报价", "Bid price"),
    "field_duration_days": ("工期（日历天）", "Duration (days)"),
    "field_currency": ("币种", "Currency"),
}

LIVE_PHASES = [OpeningRoom.Phase.SIGNIN, OpeningRoom.Phase.EXTRACTION, OpeningRoom.Phase.DECRYPTION,
               OpeningRoom.Phase.READING, OpeningRoom.Phase.OBJECTIONS, OpeningRoom.Phase.RECORD]


def room_strings(language: str | None = None) -> dict[str, str]:
    english = (language or translation.get_language() or "zh-hans").startswith("en")
    return {key: pair[1] if english else pair[0] for key, pair in ROOM_STRINGS.items()}


def opening_room(request, section_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=section_id)
    room = OpeningRoom.objects.filter(section=section).first()
    if room is None:
        raise Http404
    role = room_role(request.user, section)
    me = None
    if role == "bidder":
        org = request.user.organization
        me = {"organization": org.name, "credit_code": org.credit_code}
    snapshot = room_snapshot(room, role=role, org_id=getattr(request.user, "organization_id", None))
    strings = room_strings()
    config = {
        "section": section.public_id,
        "ws": f"/ws/sections/{section.public_id}/opening/",
        "snapshot_url": f"/api/v1/sections/{section.public_id}/opening",
        "header_url": "/api/v1/bids/{id}/envelope-header",
        "lang": "en" if translation.get_language().startswith("en") else "zh-hans",
        "me": me,
    }
    return render(request, "room/room.html", {
        "section": section, "project": section.project, "room": room, "role": role, "t": strings,
        "role_label": strings[f"role_{role}"], "snapshot": snapshot, "config": config, "strings": strings,
        "steps": [("signin", strings["step_signin"]), ("decryption", strings["step_decryption"]),
                  ("reading", strings["step_reading"]), ("objections", strings["step_objections"]),
                  ("record", strings["step_record"])],
    })


def openings(request):
    """Today's openings and every opening still under way, soonest first."""
    now = timezone.localtime()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rooms = (OpeningRoom.objects.select_related("section__project")
             .exclude(section__status="draft").exclude(section__status="cancelled")
             .filter(section__bid_deadline__gte=start, section__bid_deadline__lt=start + timedelta(days=1))
             | OpeningRoom.objects.select_related("section__project").filter(
                 phase__in=LIVE_PHASES[1:]))
    strings = room_strings()
    rows = [{"room": room, "phase_label": strings.get(f"phase_{room.phase}", room.phase),
             "live": room.phase in LIVE_PHASES[1:]}
            for room in rooms.distinct().order_by("section__bid_deadline")[:200]]
    return render(request, "room/openings.html", {"rows": rows, "t": strings})


urlpatterns = [
    path("sections/<str:section_id>/opening/", opening_room, name="opening_room"),
    path("openings/", openings, name="openings"),
]
