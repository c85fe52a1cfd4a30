"""Room events: numbered under the room's row lock, stored, then broadcast after commit."""

from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from bidding.models import OpeningRoom, RoomEvent

HOST, SUPERVISOR, BIDDER, PUBLIC = "host", "supervisor", "bidder", "public"
STAFF = (HOST, SUPERVISOR)


def group_name(section_public_id: str) -> str:
    return f"room.{section_public_id}"


def event_payload(event: RoomEvent) -> dict:
    return {"seq": event.seq, "type": event.type, "at": event.at.isoformat(), "data": event.data,
            "public": event.public, "audience": event.audience}


def event_emit(room: OpeningRoom, kind: str, data: dict, *, now: datetime, public: dict | None = None,
               audience: str = "all") -> RoomEvent:
    """Append an event; the caller holds the room's row lock inside a transaction."""
    room.last_seq += 1
    OpeningRoom.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
    event = RoomEvent.objects.create(room=room, seq=room.last_seq, type=kind, at=now, data=data, public=public,
                                     audience=audience)
    payload = event_payload(event)
    group = group_name(room.section.public_id)
    # robust: the event is stored; if Redis is down, clients recover it from the database by seq.
    transaction.on_commit(lambda: broadcast(group, payload), robust=True)
    return event


def broadcast(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "room.event", "event": payload})


def event_for(payload: dict, *, role: str, org_id: int | None) -> dict | None:
    """The message a client with ``role`` may see, or None."""
    audience = payload["audience"]
    if audience == "staff" and role not in STAFF:
        return None
    if audience.startswith("org:") and role not in STAFF and f"org:{org_id}" != audience:
        return None
    if audience.startswith("private:") and f"private:{org_id}" != audience:
        return None
    data = payload["data"]
    if role not in STAFF and payload.get("public") is not None:
        data = payload["public"]
    return {"seq": payload["seq"], "type": payload["type"], "at": payload["at"], "data": data}
