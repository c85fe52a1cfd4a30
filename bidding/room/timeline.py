"""The opening's timeline for the record (开标过程记录), read back from the room's stored events."""

import re
from datetime import datetime, timedelta

from django.utils import timezone

from bidding.models import OpeningRoom, RoomEvent

PHASE_ZH = {"signin": "签到", "extraction": "投标文件提取", "decryption": "解密", "reading": "唱标",
            "objections": "异议", "record": "开标记录确认", "closed": "开标结束", "failed": "流标"}
STATUS_ZH = {"decrypted": "有效（已解密）", "revoked": "撤销（投标人原因未解密）",
             "failed_platform": "撤回（非投标人原因未解密）", "submitted": "未解密", "disqualified": "取消资格"}
ROLE_ZH = {"host": "主持人", "supervisor": "监督人", "bidder": "投标人"}


def beijing(moment: datetime | None) -> str:
    """A moment in Beijing time, as every official document prints it."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def duration_zh(length: timedelta) -> str:
    """``3 分 20 秒``: a length with its units."""
    seconds = max(int(length.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{hours} 小时 " if hours else "") + f"{minutes} 分钟 {seconds} 秒"


UNITS_BY_KEY = {"price": "元", "duration_days": "日历天", "warranty_months": "月"}


def unit_of(field: dict) -> str:
    """A form field's unit: written in its label (``工期（日历天）/ Duration (days)``), else known by its key."""
    found = re.search(r"（([^）]+)）", field.get("label", ""))
    if found:
        return found.group(1)
    return UNITS_BY_KEY.get(field.get("key", ""), "元" if field.get("type") == "money" else "")


def field_header(field: dict) -> str:
    """The column header in Chinese, with its unit: ``工期（日历天）``."""
    label = str(field.get("label") or field.get("key")).split("/")[0].strip()
    unit = unit_of(field)
    return label if not unit or unit in label else f"{label}（{unit}）"


def timeline_rows(room: OpeningRoom, *, now: datetime) -> list[list[str]]:
    """Rows of (time, event, detail), in the order the room recorded them."""
    from bidding.room.services import signin_opens_at

    events = list(RoomEvent.objects.filter(room=room).order_by("seq"))
    resumes = [e for e in events if e.type == "resumed"]
    rows: list[list[str]] = [[beijing(signin_opens_at(room.section)), "开标室开放", "签到开始"]]
    advanced_by = ""
    for event in events:
        data, when = event.data or {}, beijing(event.at)
        row = _row(event, data, resumes, advanced_by, now=now)
        advanced_by = data.get("by", "") if event.type == "advanced" else ""
        if row:
            rows.append([when, *row])
    return rows


def _row(event: RoomEvent, data: dict, resumes: list[RoomEvent], advanced_by: str, *, now: datetime):
    kind = event.type
    if kind == "phase":
        name = PHASE_ZH.get(data.get("phase"), data.get("phase"))
        by = f"主持人 {advanced_by} 提前结束上一阶段" if advanced_by else "系统"
        ends = f"；截止 {beijing(datetime.fromisoformat(data['phase_ends_at']))}" if data.get("phase_ends_at") else ""
        return [f"进入「{name}」阶段", f"{by}{ends}"]
    if kind == "signed_in":
        return ["投标人签到", data.get("bidder") or "—"]
    if kind == "bids_extracted":
        return ["提取投标文件", f"共 {data.get('count', 0)} 份"]
    if kind == "decrypted":
        return ["解密成功", f"第 {data.get('no')} 号 {data.get('bidder') or ''}（已解密 {data.get('decrypted')} / "
                           f"{data.get('total')} 份）"]
    if kind == "decrypt_failed":
        return ["解密失败", f"第 {data.get('no')} 号：{data.get('message') or data.get('code')}（可在解密时间内重试）"]
    if kind == "bid_outcome":
        return ["投标结果", f"第 {data.get('no')} 号 {data.get('bidder') or ''}："
                           f"{STATUS_ZH.get(data.get('status'), data.get('status'))}，{data.get('reason', '')}"]
    if kind == "price_read":
        return ["唱标", f"第 {data.get('order')} 位唱标：第 {data.get('no')} 号 {data.get('bidder')}"]
    if kind == "objection_raised":
        return ["提出异议", f"{data.get('bidder')}：{data.get('text')}"]
    if kind == "objection_answered":
        return ["答复异议", data.get("answer") or "—"]
    if kind == "paused":
        resumed = next((r for r in resumes if r.seq > event.seq), None)
        length = (f"暂停时长 {duration_zh(resumed.at - event.at)}" if resumed
                  else f"至记录生成时未恢复（已 {duration_zh(now - event.at)}）")
        return ["监督人暂停", f"{data.get('by')}；原因：{data.get('reason') or '—'}；{length}"]
    if kind == "resumed":
        return ["监督人恢复", f"{data.get('by')}" + (f"；说明：{data['reason']}" if data.get("reason") else "")]
    if kind == "failed":
        return ["流标", data.get("reason") or "—"]
    if kind == "record_confirmed":
        return ["确认开标记录", f"{ROLE_ZH.get(data.get('role'), '')} {data.get('signer')}："
                              f"{'签名确认' if data.get('status') == 'signed' else '拒绝签名'}"]
    return None
