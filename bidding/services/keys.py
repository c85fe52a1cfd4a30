"""Bidder keys and opening keys (DESIGN.md §5.1, escrow mode)."""

import base64
import os
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.envelope import kid_of, load_public_key_der, spki_der
from bidding.masterkey import master_key
from bidding.models import BidderKey, OpeningKey
from timestamps.ledger import ledger_append
from trading.models import Section, User
from trading.services.errors import Conflict, DomainError, PermissionDenied
from trading.services.registrations import require_bidder


class OpeningKeyError(DomainError):
    pass


def _parse_public_key(b64: str, field: str):
    try:
        return load_public_key_der(base64.b64decode(b64 or "", validate=True))
    except Exception:
        raise DomainError(_("The public key must be a base64 SPKI DER P-256 key."), field=field,
                          code="bad_key") from None


@transaction.atomic
def bidder_keys_register(*, user: User, enc_public_key: str, sign_public_key: str,
                         now: datetime | None = None) -> tuple[BidderKey, BidderKey]:
    """Register (or rotate to) a new pair of bidder public keys."""
    require_bidder(user)
    now = now or timezone.now()
    enc, sign = _parse_public_key(enc_public_key, "enc_public_key"), _parse_public_key(sign_public_key,
                                                                                       "sign_public_key")
    if kid_of(enc) == kid_of(sign):
        raise DomainError(_("Use two different keys for encryption and signing."), field="sign_public_key")
    if BidderKey.objects.filter(kid__in=[kid_of(enc), kid_of(sign)]).exists():
        raise Conflict(_("This key is already registered."), code="key_exists")
    org = user.organization
    BidderKey.objects.filter(organization=org, retired_at=None).update(retired_at=now)
    keys = tuple(
        BidderKey.objects.create(organization=org, use=use, kid=kid_of(key), public_key=spki_der(key),
                                 registered_by=user, created_at=now)
        for use, key in ((BidderKey.Use.ENCRYPTION, enc), (BidderKey.Use.SIGNING, sign))
    )
    ledger_append(action="bidder_keys.registered", actor=user, obj=org, now=now,
                  data={"enc_kid": keys[0].kid, "sign_kid": keys[1].kid})
    return keys


def bidder_key(*, organization, use: str, kid: str | None = None) -> BidderKey | None:
    """The active key for ``use``, or (for verifying old bids) the key with ``kid``."""
    qs = BidderKey.objects.filter(organization=organization, use=use)
    return qs.filter(kid=kid).first() if kid else qs.filter(retired_at=None).first()


def _aad(section: Section, kid: str, not_before: datetime) -> bytes:
    return f"SBE1 opening key|{section.public_id}|{kid}|{not_before.isoformat()}".encode()


def _wrap(section: Section, kid: str, not_before: datetime, private_key) -> tuple[bytes, bytes]:
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    iv = os.urandom(12)
    return AESGCM(master_key()).encrypt(iv, der, _aad(section, kid, not_before)), iv


def _unwrap(key: OpeningKey):
    try:
        der = AESGCM(master_key()).decrypt(bytes(key.wrap_iv), bytes(key.wrapped_private_key),
                                           _aad(key.section, key.kid, key.not_before))
    except InvalidTag:
        raise OpeningKeyError(_("The opening key does not unwrap: its record was altered."),
                              code="opening_key_tampered") from None
    return serialization.load_der_private_key(der, password=None)


def opening_key_create(*, section: Section, now: datetime | None = None) -> OpeningKey:
    """Called when a section is published: one ECDH P-256 key pair, the private half wrapped."""
    existing = OpeningKey.objects.filter(section=section).first()
    if existing is not None:
        return existing
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = kid_of(private_key.public_key())
    wrapped, iv = _wrap(section, kid, section.bid_deadline, private_key)
    key = OpeningKey.objects.create(section=section, kid=kid, public_key=spki_der(private_key.public_key()),
                                    wrapped_private_key=wrapped, wrap_iv=iv, not_before=section.bid_deadline)
    ledger_append(action="opening_key.created", actor="system", obj=section, now=now,
                  data={"kid": kid, "not_before": section.bid_deadline.isoformat()})
    return key


def opening_key_rebind(*, section: Section, now: datetime | None = None) -> None:
    """The deadline moved out (R03/R04): re-wrap so the key opens no earlier than the new deadline."""
    key = OpeningKey.objects.select_for_update().filter(section=section).first()
    if key is None or key.not_before == section.bid_deadline:
        return
    if section.bid_deadline < key.not_before:
        raise OpeningKeyError(_("The opening time of a published section can only move later."),
                              code="deadline_earlier")
    private_key = _unwrap(key)
    old = key.not_before
    key.wrapped_private_key, key.wrap_iv = _wrap(section, key.kid, section.bid_deadline, private_key)
    key.not_before = section.bid_deadline
    key.save(update_fields=["wrapped_private_key", "wrap_iv", "not_before"])
    ledger_append(action="opening_key.rebound", actor="system", obj=section, now=now,
                  data={"kid": key.kid, "not_before_old": old.isoformat(), "not_before": key.not_before.isoformat()})


def opening_key_unwrap(*, section: Section, actor=None, now: datetime | None = None):
    """R10: the private opening key, only at or after the deadline bound into its wrapping."""
    now = now or timezone.now()
    key = OpeningKey.objects.select_related("section").filter(section=section).first()
    if key is None:
        raise OpeningKeyError(_("This section has no opening key."), code="no_opening_key")
    if now < key.not_before or now < section.bid_deadline:
        ledger_append(action="opening_key.unwrap_refused", actor=actor, obj=section, now=now,
                      data={"kid": key.kid, "not_before": key.not_before.isoformat()})
        raise PermissionDenied(_("R10: nobody can open the bids before the bid deadline."),
                               code="before_deadline")
    private_key = _unwrap(key)
    ledger_append(action="opening_key.unwrapped", actor=actor, obj=section, now=now, data={"kid": key.kid})
    return private_key
