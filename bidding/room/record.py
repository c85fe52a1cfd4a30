"""开标记录表 (R12): the opening record, co-signed by the parties, sealed by the platform and timestamped.

The record is made twice. The draft (草稿) is what the host, the supervisor and the bidders sign in the room;
the final record repeats it, lists the signatures, embeds the draft and the signatures as attachments, and
carries the platform seal over all of it (ADR 0032).
"""

import base64
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bidding.models import Bid, OpeningRoom, RecordConfirmation
from bidding.room.events import event_emit
from bidding.room.timeline import ROLE_ZH, STATUS_ZH, beijing, field_header, timeline_rows, unit_of
from timestamps.ledger import ledger_append
from timestamps.verification import COSIGN_FILE, COSIGN_FORMAT, cosign_message
from trading import signals
from trading.files import write_stored
from trading.money import money_format, money_in_words

CONFIRMATION_ZH = {"signed": "已签名确认", "refused": "拒绝签名", "absent": "缺席（确认时间内未签名）"}


def _deposit_label(bid: Bid) -> str:
    from django.utils import translation

    from bidding.room.services import _deposit_check

    with translation.override("zh-hans"):  # the official record is in Chinese
        return str(_deposit_check(bid).get("label", "—"))


def _supervision_notes(section) -> list[str]:
    """The lines other apps add to the record (supervision: the break-glass views, R14)."""
    lines: list[str] = []
    for _receiver, answer in signals.opening_record_notes.send(sender=type(section), section=section):
        lines.extend(str(line) for line in answer or [])
    return lines


def _amount(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _cell(field: dict, value) -> str:
    if value in (None, ""):
        return "—"
    amount = _amount(value) if field.get("type") == "money" else None
    if amount is not None:
        return money_format(amount)
    unit = unit_of(field)
    return f"{value} {unit}" if unit and field.get("type") in ("integer", "number") else str(value)


def _blocks(room: OpeningRoom, *, now: datetime) -> list:
    from trading.pdf import Heading, KeyValues, Para, Table

    section = room.section
    bids = list(Bid.objects.filter(section=section, opening_no__isnull=False).select_related("organization")
                .order_by("read_order", "opening_no"))
    fields = [f for f in section.opening_form_fields if f["key"] != "price"]
    header = ["序号", "投标人", "投标报价（元）", *[field_header(f) for f in fields],
              "保证金核查（金额单位：元）", "状态"]
    price_field = {"type": "money"}
    rows, words = [], []
    for bid in bids:
        summary = bid.summary or {}
        rows.append([str(bid.opening_no), bid.organization.name, _cell(price_field, summary.get("price")),
                     *[_cell(f, summary.get(f["key"])) for f in fields], _deposit_label(bid),
                     STATUS_ZH.get(bid.status, bid.status)])
        price = _amount(summary.get("price"))
        if price is not None:
            words.append([str(bid.opening_no), bid.organization.name, f"{money_format(price)} 元",
                          f"人民币{money_in_words(price)}"])
    objections = [(f"{o.organization.name}（{beijing(o.raised_at)}）：{o.text}",
                   f"答复（{beijing(o.answered_at)}）：{o.answer or '—'}")
                  for o in room.objections.select_related("organization")]
    signed = [s.organization.name for s in room.sign_ins.select_related("organization").order_by("at")]
    deposit = section.deposit_amount or Decimal(0)
    return [
        KeyValues([("项目", f"{section.project.code} {section.project.name}"), ("标段", section.title),
                   ("招标人", section.project.owner_name),
                   ("开标时间（北京时间）", beijing(section.bid_deadline)),
                   ("投标保证金（元）", f"{money_format(deposit)} 元（人民币{money_in_words(deposit)}）"
                    if deposit else "不要求"),
                   ("签到投标人", f"{'、'.join(signed) or '—'}（共 {len(signed)} 家）"),
                   ("结果", room.failure_reason or "开标完成，进入评标")]),
        Heading("开标一览表（唱标顺序）"),
        Table(header, rows) if rows else Para("无投标文件。"),
        Heading("投标报价大写"),
        Table(["序号", "投标人", "投标报价（元）", "大写金额"], words, col_widths=[1, 4, 3, 6])
        if words else Para("无已解密的报价。"),
        Heading("开标过程（北京时间）"),
        Table(["时间", "事项", "详情"], timeline_rows(room, now=now), col_widths=[3, 2, 7]),
        Heading("开标异议及答复"),
        *([Para(f"{q}\n{a}") for q, a in objections] or [Para("无。")]),
        Heading("监督破窗查看"),
        *([Para(line) for line in _supervision_notes(section)] or [Para("无。")]),
    ]


def _document(room: OpeningRoom, blocks: list, *, now: datetime) -> bytes:
    from trading.pdf import pdf_document

    return pdf_document(title="开标记录表", subtitle="Bid opening record", blocks=blocks,
                        footer=f"{room.section.public_id}", generated_at=now)


def record_draft_pdf(room: OpeningRoom, *, now: datetime) -> bytes:
    """The record the parties confirm; not sealed, its SHA-256 is what they sign."""
    from trading.pdf import Para

    blocks = [*_blocks(room, now=now),
              Para(f"记录生成时间（北京时间）：{beijing(now)}。本记录经主持人、监督人和投标人在开标室签名确认后，"
                   "由平台电子签章并加盖可信时间戳。")]
    return _document(room, blocks, now=now)


def _signature_rows(confirmations: list[RecordConfirmation]) -> list[list[str]]:
    return [[ROLE_ZH.get(c.role, c.role), c.signer, CONFIRMATION_ZH.get(c.status, c.status),
             (c.kid[:16] + "…") if c.kid else "—", beijing(c.at) if c.status != "absent" else "—",
             c.reason or "—"] for c in confirmations]


def cosign_document(room: OpeningRoom, confirmations: list[RecordConfirmation]) -> bytes:
    """附件 cosignatures.json: every confirmation, with the public key and signature to check it offline."""
    entries = [{"signer": c.signer, "role": c.role, "status": c.status, "kid": c.kid or None,
                "public_key": base64.b64encode(bytes(c.public_key)).decode() if c.public_key else None,
                "signature": base64.b64encode(bytes(c.signature)).decode() if c.signature else None,
                "reason": c.reason or None, "at": c.at.isoformat()} for c in confirmations]
    document = {"format": COSIGN_FORMAT, "section": room.section.public_id, "record_sha256": room.draft_sha256,
                "draft": "opening-record-draft.pdf", "algorithm": "ECDSA-P256-SHA256",
                "message": cosign_message(room.section.public_id, room.draft_sha256).decode(),
                "signatures": entries}
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def record_final_pdf(room: OpeningRoom, *, draft: bytes, now: datetime) -> bytes:
    from timestamps.stamping import seal_pdf
    from trading.pdf import Heading, Para, Table
    from trading.pdf.attach import pdf_attach

    confirmations = list(room.confirmations.order_by("at", "pk"))
    blocks = [*_blocks(room, now=now), Heading("开标记录确认签名"),
              Table(["角色", "签署人", "状态", "密钥指纹（SHA-256）", "时间（北京时间）", "说明"],
                    _signature_rows(confirmations), col_widths=[2, 4, 3, 3, 3, 3])
              if confirmations else Para("无。"),
              Para(f"各方签名的对象：附件 opening-record-draft.pdf（SHA-256 {room.draft_sha256}）。"
                   "签名及公钥见附件 cosignatures.json，可用 python -m timestamps.verify pdf 离线核验。"),
              Para(f"记录生成时间（北京时间）：{beijing(now)}。本记录由平台电子签章并加盖可信时间戳，任何修改均可被发现。")]
    pdf = _document(room, blocks, now=now)
    pdf = pdf_attach(pdf, [
        ("opening-record-draft.pdf", draft, "application/pdf", "开标记录表（确认稿）"),
        (COSIGN_FILE, cosign_document(room, confirmations), "application/json", "开标记录确认签名"),
    ])
    return seal_pdf(pdf, reason=f"开标记录 {room.section.public_id}")


def record_draft_make(*, room: OpeningRoom, now: datetime) -> None:
    """Write the draft and tell the room what to sign (``record_draft``)."""
    draft = record_draft_pdf(room, now=now)
    relative = f"records/{room.section.public_id}/opening-record-draft.pdf"
    room.draft_path, room.draft_sha256 = relative, write_stored(relative, draft)
    room.save(update_fields=["draft_path", "draft_sha256"])
    event_emit(room, "record_draft", record_draft_data(room), now=now)


def record_draft_data(room: OpeningRoom) -> dict:
    """``record_draft``: where the draft is, its SHA-256, the bytes to sign and when confirmation ends."""
    return {"url": f"/api/v1/sections/{room.section.public_id}/opening/record-draft.pdf",
            "sha256": room.draft_sha256,
            "message": cosign_message(room.section.public_id, room.draft_sha256).decode(),
            "confirm_ends_at": room.phase_ends_at.isoformat() if room.phase_ends_at else None}


def record_make(*, room: OpeningRoom, now: datetime) -> None:
    """The final record: sealed, with the co-signatures when the draft was confirmed, else as before."""
    from trading.files import read_stored

    if room.draft_path:
        pdf = record_final_pdf(room, draft=read_stored(room.draft_path), now=now)
    else:  # a failed opening (流标) is recorded at once, without a confirmation round
        from timestamps.stamping import seal_pdf
        from trading.pdf import Para

        blocks = [*_blocks(room, now=now), Para(
            f"记录生成时间（北京时间）：{beijing(now)}。本记录由平台电子签章并加盖可信时间戳，任何修改均可被发现。")]
        pdf = seal_pdf(_document(room, blocks, now=now), reason=f"开标记录 {room.section.public_id}")
    relative = f"records/{room.section.public_id}/opening-record.pdf"
    room.record_path, room.record_sha256 = relative, write_stored(relative, pdf)
    room.save(update_fields=["record_path", "record_sha256"])
    url = f"/api/v1/sections/{room.section.public_id}/opening/record.pdf"
    event_emit(room, "record_ready", {"url": url, "sha256": room.record_sha256}, now=now)
    ledger_append(action="opening.record_signed", actor="system", obj=room.section, now=now,
                  data={"sha256": room.record_sha256})
