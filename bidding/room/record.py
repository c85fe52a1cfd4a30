"""开标记录表 (R12): the opening record, a PDF sealed by the platform and timestamped by its TSA."""

from datetime import datetime

from django.utils import timezone

from bidding.models import Bid, OpeningRoom
from bidding.room.events import event_emit
from timestamps.ledger import ledger_append
from trading import signals
from trading.files import write_stored

STATUS_ZH = {
    Bid.Status.DECRYPTED: "有效（已解密）",
    Bid.Status.REVOKED: "撤销（投标人原因未解密）",
    Bid.Status.FAILED_PLATFORM: "撤回（非投标人原因未解密）",
    Bid.Status.SUBMITTED: "未解密",
    Bid.Status.DISQUALIFIED: "取消资格",
}


def _deposit_label(bid: Bid) -> str:
    from django.utils import translation

    from bidding.room.services import _deposit_check

    with translation.override("zh-hans"):  # the official record is in Chinese
        return str(_deposit_check(bid).get("label", "—"))


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _supervision_notes(section) -> list[str]:
    """The lines other apps add to the record (supervision: the break-glass views, R14)."""
    lines: list[str] = []
    for _receiver, answer in signals.opening_record_notes.send(sender=type(section), section=section):
        lines.extend(str(line) for line in answer or [])
    return lines


def record_pdf(room: OpeningRoom, *, now: datetime) -> bytes:
    from timestamps.stamping import seal_pdf
    from trading.pdf import Heading, KeyValues, Para, Table, pdf_document

    section = room.section
    bids = list(Bid.objects.filter(section=section, opening_no__isnull=False).select_related("organization")
                .order_by("read_order", "opening_no"))
    fields = [f for f in section.opening_form_fields if f["key"] != "price"]
    header = ["序号", "投标人", "投标报价（元）", *[f["label"] for f in fields], "保证金", "状态"]
    rows = []
    for bid in bids:
        summary = bid.summary or {}
        rows.append([str(bid.opening_no), bid.organization.name, summary.get("price", "—"),
                     *[str(summary.get(f["key"], "—")) for f in fields], _deposit_label(bid),
                     STATUS_ZH.get(bid.status, bid.status)])
    objections = [(f"{o.organization.name}（{_local(o.raised_at)}）：{o.text}",
                   f"答复（{_local(o.answered_at)}）：{o.answer or '—'}")
                  for o in room.objections.select_related("organization")]
    signed = [s.organization.name for s in room.sign_ins.select_related("organization").order_by("at")]
    blocks = [
        KeyValues([("项目", f"{section.project.code} {section.project.name}"), ("标段", section.title),
                   ("招标人", section.project.owner_name), ("开标时间", _local(section.bid_deadline)),
                   ("签到投标人", "、".join(signed) or "—"),
                   ("结果", room.failure_reason or "开标完成，进入评标")]),
        Heading("开标一览表（唱标顺序）"),
        Table(header, rows) if rows else Para("无投标文件。"),
        Heading("开标异议及答复"),
        *([Para(f"{q}\n{a}") for q, a in objections] or [Para("无。")]),
        Heading("监督破窗查看"),
        *([Para(line) for line in _supervision_notes(section)] or [Para("无。")]),
        Para(f"记录生成时间：{_local(now)}。本记录由平台电子签章并加盖可信时间戳，任何修改均可被发现。"),
    ]
    pdf = pdf_document(title="开标记录表", subtitle="Bid opening record", blocks=blocks,
                       footer=f"{section.public_id}")
    return seal_pdf(pdf, reason=f"开标记录 {section.public_id}")


def record_make(*, room: OpeningRoom, now: datetime) -> None:
    pdf = record_pdf(room, now=now)
    relative = f"records/{room.section.public_id}/opening-record.pdf"
    room.record_path, room.record_sha256 = relative, write_stored(relative, pdf)
    room.save(update_fields=["record_path", "record_sha256"])
    url = f"/api/v1/sections/{room.section.public_id}/opening/record.pdf"
    event_emit(room, "record_ready", {"url": url, "sha256": room.record_sha256}, now=now)
    ledger_append(action="opening.record_signed", actor="system", obj=room.section, now=now,
                  data={"sha256": room.record_sha256})
