"""Ledger export (账本导出): a JSON-lines segment of the audit ledger and an anchor, checkable offline.

Format (docs/verification.md): one entry per line with the fields that are hashed (seq, at, actor, ip,
action, object, data) plus prev_hash and hash; anchor.json holds seq, head_hash, token (base64 DER
TimeStampToken over the head hash bytes) and created_at.
"""

import base64
import json
from collections.abc import Iterator

from timestamps.ledger import _body_of
from timestamps.models import LedgerAnchor, LedgerEntry


def ledger_export_lines(*, from_seq: int = 1, to_seq: int | None = None) -> Iterator[str]:
    entries = LedgerEntry.objects.filter(seq__gte=from_seq).order_by("seq")
    if to_seq is not None:
        entries = entries.filter(seq__lte=to_seq)
    for entry in entries.iterator(chunk_size=2000):
        line = {**_body_of(entry), "prev_hash": entry.prev_hash, "hash": entry.hash}
        yield json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"


def anchor_export(anchor: LedgerAnchor) -> str:
    return json.dumps({
        "seq": anchor.seq,
        "head_hash": anchor.head_hash,
        "token": base64.b64encode(bytes(anchor.token)).decode(),
        "created_at": anchor.created_at.isoformat(),
    }, indent=2) + "\n"
