"""Anchor the ledger's head with an RFC 3161 token, every ANCHOR_EVERY entries or every minute."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from timestamps.models import LedgerAnchor, LedgerHead
from timestamps.stamping import stamp, stamp_valid

ANCHOR_EVERY = 100
ANCHOR_INTERVAL = timedelta(minutes=1)


@transaction.atomic
def ledger_anchor(*, now: datetime | None = None, force: bool = False) -> LedgerAnchor | None:
    """Timestamp the current head when enough entries or time have passed; idempotent per head."""
    now = now or timezone.now()
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is None or head.seq == 0:
        return None
    last = LedgerAnchor.objects.order_by("-seq").first()
    if last is not None and last.seq == head.seq:
        return None
    due = force or last is None or head.seq - last.seq >= ANCHOR_EVERY or now - last.created_at >= ANCHOR_INTERVAL
    if not due:
        return None
    return LedgerAnchor.objects.create(seq=head.seq, head_hash=head.hash, token=stamp(bytes.fromhex(head.hash)),
                                       created_at=now)


def anchor_token_valid(anchor: LedgerAnchor) -> bool:
    return stamp_valid(bytes(anchor.token), bytes.fromhex(anchor.head_hash))


def sweep_anchor(*, now: datetime | None = None) -> int:
    return 1 if ledger_anchor(now=now) else 0
