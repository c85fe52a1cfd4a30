"""The room as one role may see it: sent on connect and when a client has missed too much."""

from django.utils import timezone

from bidding.models import Bid, OpeningRoom, RoomEvent
from bidding.room.events import BIDDER, STAFF, event_for, event_payload
from bidding.room.services import P, _deposit_check, _form, _masked, signin_opens_at

READ_PHASES = (P.OBJECTIONS, P.RECORD, P.CLOSED)


def _iso(moment):
    return moment.isoformat() if moment else None


def room_snapshot(room: OpeningRoom, *, role: str, org_id: int | None) -> dict:
    section = room.section
    now = timezone.now()
    opened = room.phase != P.SIGNIN  # R14: nothing about bidders before the opening starts
    names_visible = role in STAFF or room.phase in READ_PHASES or room.phase == P.FAILED
    bids = []
    if opened:
        for bid in Bid.objects.filter(section=section, opening_no__isnull=False).select_related("organization") \
                .order_by("opening_no"):
            item = {"no": bid.opening_no, "status": bid.status,
                    "bidder": bid.organization.name if names_visible else _masked(bid.opening_no)}
            if bid.read_order and room.phase in READ_PHASES:
                item.update(order=bid.read_order, form=_form(section, bid), deposit=_deposit_check(bid))
            bids.append(item)
    signed_in = []
    if opened:
        signed_in = [s.organization.name if names_visible else None
                     for s in room.sign_ins.select_related("organization").order_by("at")]
    data = {
        "section": section.public_id, "title": f"{section.project.name} {section.title}", "role": role,
        "phase": room.phase, "phase_ends_at": _iso(room.phase_ends_at), "paused": room.paused,
        "pause_reason": room.pause_reason, "deadline": section.bid_deadline.isoformat(),
        "signin_opens_at": signin_opens_at(section).isoformat(), "server_time": now.isoformat(),
        "signed_in": signed_in, "bids": bids,
        "decrypted": sum(b["status"] == Bid.Status.DECRYPTED for b in bids), "total": len(bids),
        "objections": [{"id": o.public_id, "bidder": o.organization.name, "text": o.text, "answer": o.answer,
                        "answered": o.answered_at is not None} for o in room.objections.select_related("organization")],
        "record": {"url": f"/api/v1/sections/{section.public_id}/opening/record.pdf", "sha256": room.record_sha256}
        if room.record_sha256 else None,
        "failure_reason": room.failure_reason,
        "form_fields": section.opening_form_fields,
    }
    if role == BIDDER:
        mine = Bid.objects.filter(section=section, organization=org_id).exclude(
            status__in=[Bid.Status.REPLACED, Bid.Status.WITHDRAWN]).first()
        data["you"] = {"signed_in": room.sign_ins.filter(organization=org_id).exists(),
                       "bid_id": mine.public_id if mine else None, "bid_no": mine.opening_no if mine else None,
                       "bid_status": mine.status if mine else None}
    return {"seq": room.last_seq, "type": "snapshot", "at": now.isoformat(), "data": data}


RESUME_LIMIT = 500


def room_missed(room: OpeningRoom, *, after_seq: int, role: str, org_id: int | None) -> list[dict] | None:
    """The events after ``after_seq`` this role may see, or None when a snapshot is the better answer."""
    if after_seq < 0 or room.last_seq - after_seq > RESUME_LIMIT:
        return None
    events = RoomEvent.objects.filter(room=room, seq__gt=after_seq).order_by("seq")
    visible = (event_for(event_payload(e), role=role, org_id=org_id) for e in events)
    return [e for e in visible if e is not None]
