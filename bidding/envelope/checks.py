"""The checks on an SBE1 header and summary: strict JSON, known keys, well-formed values (DESIGN.md §5.2)."""


from __future__ import annotations

import json
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from bidding.envelope.format import (
    _CURRENCY,
    _KID,
    _PRICE,
    EPK_SIZE,
    HEADER_KEYS,
    MAX_CHUNK_SIZE,
    MAX_SUMMARY_SIZE,
    MIN_CHUNK_SIZE,
    RECIPIENT_KEYS,
    SUITE,
    TAG_SIZE,
    EnvelopeError,
)
from bidding.envelope.keys import b64url_decode, load_public_key_der

# --- header and summary validation ----------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(name)


def _unique_object(pairs: list) -> dict:
    keys = [k for k, _v in pairs]
    if len(set(keys)) != len(keys):  # duplicate keys read differently across parsers
        raise ValueError("duplicate key")
    return dict(pairs)


def _parse_json_object(data: bytes) -> dict:
    """Strict JSON object: UTF-8, no duplicate keys, no NaN/Infinity; ValueError otherwise."""
    value = json.loads(
        data.decode("utf-8"), object_pairs_hook=_unique_object, parse_constant=_reject_constant
    )
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _dump_json(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_b64url(value, size: int) -> bool:
    try:
        return len(b64url_decode(value)) == size
    except ValueError:
        return False


def _check_recipient(recipient, kid: str, index: int) -> None:
    field = f"recipients[{index}]"
    if not isinstance(recipient, dict) or set(recipient) != set(RECIPIENT_KEYS):
        raise EnvelopeError("bad_header", field=field)
    if recipient["kid"] != kid:
        raise EnvelopeError("bad_header", field=f"{field}.kid")
    if not _check_b64url(recipient["epk"], EPK_SIZE):
        raise EnvelopeError("bad_header", field=f"{field}.epk")
    try:
        load_public_key_der(b64url_decode(recipient["epk"]))
    except EnvelopeError as exc:
        raise EnvelopeError("bad_header", field=f"{field}.epk") from exc
    if not _check_b64url(recipient["iv"], 12):
        raise EnvelopeError("bad_header", field=f"{field}.iv")
    if not _check_b64url(recipient["wrapped"], 32 + TAG_SIZE):
        raise EnvelopeError("bad_header", field=f"{field}.wrapped")


def check_header(header: dict) -> None:
    """Check the header's schema (DESIGN §5.2); raises EnvelopeError("bad_header")."""
    for key in HEADER_KEYS:
        if key not in header:
            raise EnvelopeError("bad_header", field=key)
    for key in header:
        if key not in HEADER_KEYS:
            raise EnvelopeError("bad_header", field=key)
    if not _is_int(header["v"]) or header["v"] != 1:
        raise EnvelopeError("bad_header", field="v")
    if header["suite"] != SUITE:
        raise EnvelopeError("bad_header", field="suite")
    for key in ("section", "bidder"):
        if not isinstance(header[key], str) or not 0 < len(header[key]) <= 200:
            raise EnvelopeError("bad_header", field=key)
    for key in ("opening_kid", "bidder_kid"):
        if not isinstance(header[key], str) or not _KID.fullmatch(header[key]):
            raise EnvelopeError("bad_header", field=key)
    size = header["chunk_size"]
    if not _is_int(size) or not MIN_CHUNK_SIZE <= size <= MAX_CHUNK_SIZE:
        raise EnvelopeError(
            "bad_header", _("The chunk size must be between 65536 and 4194304 bytes.")
        )
    recipients = header["recipients"]
    if not isinstance(recipients, list) or len(recipients) != 2:
        raise EnvelopeError("bad_header", field="recipients")
    _check_recipient(recipients[0], header["opening_kid"], 0)
    _check_recipient(recipients[1], header["bidder_kid"], 1)


def check_summary(summary: dict) -> None:
    """Check the opening form (开标一览表): price, currency and documents."""
    if not isinstance(summary, dict):
        raise EnvelopeError("bad_summary", field="summary")
    if len(_dump_json(summary)) > MAX_SUMMARY_SIZE:
        raise EnvelopeError("summary_too_large")
    price = summary.get("price")
    if not isinstance(price, str) or not _PRICE.fullmatch(price):
        raise EnvelopeError("bad_price")
    currency = summary.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise EnvelopeError("bad_summary", field="currency")
    documents = summary.get("documents")
    if not isinstance(documents, dict):
        raise EnvelopeError("bad_summary", field="documents")
    if not isinstance(documents.get("name"), str) or not documents["name"]:
        raise EnvelopeError("bad_summary", field="documents.name")
    if not _is_int(documents.get("size")) or documents["size"] < 0:
        raise EnvelopeError("bad_summary", field="documents.size")
    if not isinstance(documents.get("sha256"), str) or not _KID.fullmatch(documents["sha256"]):
        raise EnvelopeError("bad_summary", field="documents.sha256")


def summary_price(summary: dict) -> Decimal:
    """The bid price (投标报价) of a checked summary."""
    return Decimal(summary["price"])


