"""Signed bank messages: ``X-Bank-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``.

The same scheme signs the platform's refund instructions to the bank, so one secret and one checker
serve both directions.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from trading.services.errors import DomainError

MAX_BODY_BYTES = 16 * 1024
MAX_SKEW_SECONDS = 300
MAX_AMOUNT = Decimal("9999999999999.99")
FIELDS = ("txn_id", "virtual_account", "amount", "currency", "payer_account", "payer_name", "paid_at")
_TXN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_ACCOUNT = re.compile(r"^[0-9A-Za-z -]{1,40}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class WebhookError(DomainError):
    """A notification that is not accepted; nothing is stored for it."""


class Unauthenticated(WebhookError):
    status_code = 401


class TooLarge(WebhookError):
    status_code = 413


def bank_secret() -> bytes:
    return settings.BANK_WEBHOOK_SECRET.encode()


def sign(body: bytes, timestamp: int | str, secret: bytes | None = None) -> str:
    mac = hmac.new(secret if secret is not None else bank_secret(), str(timestamp).encode() + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(body: bytes, timestamp: int, secret: bytes | None = None) -> dict:
    return {"X-Bank-Timestamp": str(timestamp), "X-Bank-Signature": sign(body, timestamp, secret)}


def verify(*, body: bytes, timestamp: str | None, signature: str | None, now: datetime) -> None:
    """Refuse an oversized, unsigned, forged or stale message; compare the MAC in constant time."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(_("The notification is larger than 16 KiB."), code="too_large")
    if not timestamp or not signature:
        raise Unauthenticated(_("The X-Bank-Timestamp and X-Bank-Signature headers are required."),
                              code="unsigned")
    if not re.fullmatch(r"[0-9]{1,12}", timestamp.strip()):
        raise Unauthenticated(_("X-Bank-Timestamp must be Unix seconds."), code="bad_timestamp")
    expected = sign(body, timestamp.strip())
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise Unauthenticated(_("The bank signature does not verify."), code="bad_signature")
    # Checked after the MAC so that nobody learns our clock from unsigned probes.
    if abs(int(now.timestamp()) - int(timestamp)) > MAX_SKEW_SECONDS:
        raise Unauthenticated(_("The notification's timestamp is more than 300 seconds off."),
                              code="stale_timestamp")


@dataclass(frozen=True)
class Payment:
    txn_id: str
    virtual_account: str
    amount: Decimal
    currency: str
    payer_account: str
    payer_name: str
    paid_at: datetime


def _bad(message, field: str | None = None) -> WebhookError:
    return WebhookError(message, code="malformed", field=field)


def parse_payment(body: bytes) -> Payment:
    """Parse the fixed JSON shape strictly: every field present, amounts as decimals, never floats."""
    try:
        data = json.loads(body.decode("utf-8"), parse_float=_exact_number, parse_int=Decimal,
                          parse_constant=lambda _c: None)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _bad(_("The notification is not valid UTF-8 JSON.")) from None
    if not isinstance(data, dict):
        raise _bad(_("The notification must be a JSON object."))
    for name in FIELDS:
        if name not in data:
            raise _bad(_("The field %(name)s is missing.") % {"name": name}, name)
        if name != "amount" and not isinstance(data[name], str):
            raise _bad(_("The field %(name)s must be a string.") % {"name": name}, name)
    if not _TXN_ID.match(data["txn_id"]):
        raise _bad(_("txn_id must be 1 to 64 letters, digits or ._:-"), "txn_id")
    if not _ACCOUNT.match(data["virtual_account"]) or len(data["virtual_account"]) > 32:
        raise _bad(_("virtual_account is not an account number."), "virtual_account")
    if not _ACCOUNT.match(data["payer_account"]):
        raise _bad(_("payer_account is not an account number."), "payer_account")
    if not _CURRENCY.match(data["currency"]):
        raise _bad(_("currency must be a 3-letter ISO 4217 code."), "currency")
    payer_name = data["payer_name"].strip()
    if not payer_name or len(payer_name) > 200:
        raise _bad(_("payer_name must be 1 to 200 characters."), "payer_name")
    return Payment(txn_id=data["txn_id"], virtual_account=data["virtual_account"].strip(),
                   amount=_amount(data["amount"]), currency=data["currency"],
                   payer_account=normalize_account(data["payer_account"]), payer_name=payer_name,
                   paid_at=_paid_at(data["paid_at"]))


def _exact_number(literal: str):
    """A JSON number is kept exactly as written; exponent notation is refused, not guessed at."""
    return None if "e" in literal.lower() else Decimal(literal)


def _amount(raw) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, Decimal)):
        raise _bad(_("amount must be a decimal string such as \"200000.00\"."), "amount")
    try:
        amount = Decimal(raw) if isinstance(raw, str) else raw
    except InvalidOperation:
        raise _bad(_("amount must be a decimal string such as \"200000.00\"."), "amount") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount.as_tuple().exponent < -2:
        raise _bad(_("amount must be positive with at most 2 decimals."), "amount")
    return amount.quantize(Decimal("0.01"))


def _paid_at(raw: str) -> datetime:
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _bad(_("paid_at must be an ISO 8601 time with its UTC offset."), "paid_at")
    return moment


def normalize_account(number: str) -> str:
    """Account numbers compare without spaces or dashes."""
    return re.sub(r"[\s-]", "", number or "")
