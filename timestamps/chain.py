"""The ledger's hash chain as pure functions (no Django), shared by the ledger and the offline verifier.

hash = SHA-256(prev_hash as 64 ASCII hex characters ‖ canonical JSON of the entry), where the
canonical JSON holds seq, at, actor, ip, action, object and data with sorted keys, no spaces and
UTF-8 characters unescaped.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_body(*, seq: int, at: datetime, actor: str, ip: str, action: str,
               object_type: str, object_id: str, data: dict) -> dict:
    return {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "ip": ip,
        "action": action,
        "object": {"type": object_type, "id": object_id},
        "data": data,
    }


def entry_hash(prev_hash: str, body: dict) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()
