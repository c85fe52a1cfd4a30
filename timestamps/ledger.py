"""Append to and verify the hash-chained audit ledger (DESIGN.md §7).

hash = SHA-256(prev_hash as 64 ASCII hex characters ‖ canonical JSON of the entry), where the
canonical JSON holds seq, at, actor, ip, action, object and data with sorted keys, no spaces and
UTF-8 characters unescaped.
"""

import contextvars
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from timestamps.chain import GENESIS, canonical_json, entry_body, entry_hash
from timestamps.models import LedgerAnchor, LedgerEntry, LedgerHead

current_ip: contextvars.ContextVar[str] = contextvars.ContextVar("current_ip", default="")


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "username", "") or "anonymous"


def _object_ref(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, models.Model):
        return obj._meta.label_lower, str(getattr(obj, "public_id", None) or obj.pk)
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1])
    return type(obj).__name__, str(obj)


def ledger_append(*, action: str, actor: Any = None, obj: Any = None, data: dict | None = None,
                  ip: str | None = None, now: datetime | None = None) -> LedgerEntry:
    """Append one entry; call it inside the transaction that makes the change it records."""
    with transaction.atomic():
        head, _ = LedgerHead.objects.select_for_update().get_or_create(pk=1)
        object_type, object_id = _object_ref(obj)
        at = now or timezone.now()
        body = entry_body(
            seq=head.seq + 1, at=at, actor=_actor_name(actor), ip=ip if ip is not None else current_ip.get(),
            action=action, object_type=object_type, object_id=object_id,
            data=json.loads(canonical_json(data or {})),
        )
        digest = entry_hash(head.hash, body)
        entry = LedgerEntry.objects.create(
            seq=body["seq"], at=at, actor=body["actor"], ip=body["ip"], action=action,
            object_type=object_type, object_id=object_id, data=body["data"],
            prev_hash=head.hash, hash=digest,
        )
        head.seq, head.hash = entry.seq, digest
        head.save(update_fields=["seq", "hash"])
    return entry


@dataclass
class LedgerReport:
    ok: bool
    entries: int
    anchors: int
    first_bad_seq: int | None = None
    problem: str = ""


def _body_of(entry: LedgerEntry) -> dict:
    return entry_body(
        seq=entry.seq, at=entry.at, actor=entry.actor, ip=entry.ip, action=entry.action,
        object_type=entry.object_type, object_id=entry.object_id, data=entry.data,
    )


def ledger_verify(*, anchor_check=None) -> LedgerReport:
    """Recompute the whole chain and its anchors; name the first entry that was tampered with."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    for entry in LedgerEntry.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq:
            return LedgerReport(False, count, 0, expected_seq,
                                f"entry {expected_seq} is missing (next stored entry is {entry.seq})")
        if entry.prev_hash != prev_hash:
            return LedgerReport(False, count, 0, entry.seq,
                                f"entry {entry.seq} does not follow entry {entry.seq - 1} (moved or replaced)")
        if entry_hash(prev_hash, _body_of(entry)) != entry.hash:
            return LedgerReport(False, count, 0, entry.seq, f"entry {entry.seq} was changed")
        hashes[entry.seq] = entry.hash
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    head = LedgerHead.objects.filter(pk=1).first()
    if head is not None and head.seq != expected_seq - 1:
        return LedgerReport(False, count, 0, expected_seq,
                            f"entries after {expected_seq - 1} are missing (the head is at {head.seq})")
    anchors = 0
    for anchor in LedgerAnchor.objects.order_by("seq"):
        anchors += 1
        if hashes.get(anchor.seq) != anchor.head_hash:
            return LedgerReport(False, count, anchors, anchor.seq,
                                f"entry {anchor.seq} does not match its timestamped anchor")
        if anchor_check is not None and not anchor_check(anchor):
            return LedgerReport(False, count, anchors, anchor.seq,
                                f"the timestamp token of the anchor at entry {anchor.seq} does not verify")
    return LedgerReport(True, count, anchors)
