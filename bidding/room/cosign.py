"""开标记录确认: the host, the supervisor and the bidders sign the draft record in the room (ADR 0032).

A bidder signs with the SBE1 signing key its organization registered (BidderKey, use=sign); staff sign with
a P-256 key made in their browser and registered to their account at first use (StaffSigningKey). Whoever has
not signed or refused when the confirmation window ends is recorded as absent.
"""

import base64
import binascii
import hashlib
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.envelope import load_public_key_der, spki_der
from bidding.models import Bid, BidderKey, OpeningRoom, RecordConfirmation, StaffSigningKey
from bidding.room.access import room_role
from bidding.room.events import BIDDER, HOST, SUPERVISOR, event_emit
from bidding.room.record import cosign_message
from timestamps.ledger import ledger_append
from trading.models import Section, User
from trading.services.errors import PermissionDenied
from trading.services.text import clean_text

R = RecordConfirmation.Status


def signature_der(raw: bytes) -> bytes:
    """WebCrypto gives ECDSA signatures as r‖s (64 bytes); X.509 tools and our verifier use DER."""
    if len(raw) == 64:
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return raw


def _b64(value: str, *, field: str) -> bytes:
    from bidding.room.services import RoomError

    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RoomError(_("%(field)s must be base64.") % {"field": field}, code="bad_request") from None


def _verifies(public_key, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _bidder_key(user: User, signature: bytes, message: bytes) -> tuple[str, bytes] | None:
    """The organization's registered signing key that made this signature, if any."""
    for key in BidderKey.objects.filter(organization=user.organization_id, use=BidderKey.Use.SIGNING,
                                        retired_at__isnull=True):
        if _verifies(load_public_key_der(bytes(key.public_key)), signature, message):
            return key.kid, bytes(key.public_key)
    return None


def _staff_key(user: User, public_key_b64: str | None, signature: bytes, message: bytes, *, section: Section,
               now: datetime) -> tuple[str, bytes] | None:
    """The staff member's key; a key sent with the first confirmation from a browser is registered to them."""
    for key in StaffSigningKey.objects.filter(user=user, retired_at__isnull=True):
        if _verifies(load_public_key_der(bytes(key.public_key)), signature, message):
            return key.kid, bytes(key.public_key)
    if not public_key_b64:
        return None
    try:
        public_key = load_public_key_der(_b64(public_key_b64, field="public_key"))
    except ValueError:
        return None
    if not _verifies(public_key, signature, message):
        return None
    der = spki_der(public_key)
    kid = hashlib.sha256(der).hexdigest()
    if StaffSigningKey.objects.filter(kid=kid).exclude(user=user).exists():
        return None  # one key, one person
    StaffSigningKey.objects.get_or_create(kid=kid, defaults={"user": user, "public_key": der, "created_at": now})
    ledger_append(action="signing_key.registered", actor=user, obj=section, now=now, data={"kid": kid})
    return kid, der


def _signer(user: User, role: str) -> str:
    if role == BIDDER:
        return user.organization.name
    name = user.get_full_name() or user.username
    return f"{user.organization.name} {name}" if role == HOST and user.organization_id else name


def _existing(room: OpeningRoom, user: User, role: str) -> RecordConfirmation | None:
    if role == BIDDER:
        return room.confirmations.filter(role=BIDDER, organization=user.organization_id).first()
    return room.confirmations.filter(role=role).first()  # one host and one supervisor sign for their side


def _open_for_confirmation(section: Section, user: User, now: datetime) -> tuple[OpeningRoom, str]:
    from bidding.room.services import P, _locked, _running

    room = _locked(section.pk)
    role = room_role(user, section)
    if role == BIDDER and not Bid.objects.filter(section=section, organization=user.organization_id,
                                                 opening_no__isnull=False).exists():
        role = None
    if role not in (HOST, SUPERVISOR, BIDDER):
        raise PermissionDenied(_("Only the host, the supervisor and the bidders in this opening confirm the record."))
    _running(room, P.RECORD, now)
    return room, role


@transaction.atomic
def record_confirm(*, user: User, section: Section, signature: str, public_key: str | None = None,
                   now: datetime | None = None) -> RecordConfirmation:
    """Sign the draft record: the signature is checked against the signer's registered key before it counts."""
    from bidding.room.services import RoomError

    now = now or timezone.now()
    room, role = _open_for_confirmation(section, user, now)
    existing = _existing(room, user, role)
    if existing:
        return existing
    message = cosign_message(section.public_id, room.draft_sha256)
    raw = signature_der(_b64(signature, field="signature"))
    key = (_bidder_key(user, raw, message) if role == BIDDER
           else _staff_key(user, public_key, raw, message, section=section, now=now))
    if key is None:
        raise RoomError(_("The signature does not match your registered signing key."), code="bad_signature")
    kid, der = key
    confirmation = RecordConfirmation.objects.create(
        room=room, role=role, status=R.SIGNED, user=user, organization=user.organization if role == BIDDER else None,
        signer=_signer(user, role), kid=kid, public_key=der, signature=raw, at=now)
    _announce(room, confirmation, now=now)
    return confirmation


@transaction.atomic
def record_refuse(*, user: User, section: Section, reason: str, now: datetime | None = None) -> RecordConfirmation:
    """A bidder declines to sign; its reason goes into the record."""
    now = now or timezone.now()
    room, role = _open_for_confirmation(section, user, now)
    if role != BIDDER:
        raise PermissionDenied(_("Only a bidder in this opening can refuse to sign the record."))
    existing = _existing(room, user, role)
    if existing:
        return existing
    confirmation = RecordConfirmation.objects.create(
        room=room, role=role, status=R.REFUSED, user=user, organization=user.organization,
        signer=_signer(user, role), at=now,
        reason=clean_text(reason, field="reason", label=_("Reason"), max_length=500))
    _announce(room, confirmation, now=now)
    return confirmation


def _announce(room: OpeningRoom, confirmation: RecordConfirmation, *, now: datetime) -> None:
    from bidding.room.services import record_finish

    event_emit(room, "record_confirmed", {"signer": confirmation.signer, "role": confirmation.role,
                                          "status": confirmation.status, "kid": confirmation.kid or None},
               now=now)
    ledger_append(action=f"opening.record_{confirmation.status}", actor=confirmation.user, obj=room.section,
                  now=now, data={"role": confirmation.role, "kid": confirmation.kid, "reason": confirmation.reason})
    if not expected_missing(room):
        record_finish(room, now=now)  # everyone has answered: no need to wait for the window


def expected_missing(room: OpeningRoom) -> list[tuple[str, object]]:
    """The parties that have neither signed nor refused: (role, organization or None)."""
    done = list(room.confirmations.values_list("role", "organization"))
    missing: list[tuple[str, object]] = [(role, None) for role in (HOST, SUPERVISOR)
                                         if role not in {r for r, _o in done}]
    bidders = (Bid.objects.filter(section=room.section, opening_no__isnull=False).select_related("organization")
               .order_by("opening_no"))
    signed_orgs = {o for r, o in done if r == BIDDER}
    for bid in bidders:
        if bid.organization_id not in signed_orgs:
            missing.append((BIDDER, bid.organization))
            signed_orgs.add(bid.organization_id)
    return missing


def record_absent(room: OpeningRoom, *, now: datetime) -> None:
    """When the window ends: every party that did not answer is recorded as absent."""
    names = {HOST: f"{room.section.project.agency.name}（主持人）", SUPERVISOR: "监督人"}
    for role, organization in expected_missing(room):
        RecordConfirmation.objects.create(room=room, role=role, status=R.ABSENT, organization=organization,
                                          signer=organization.name if organization else names[role], at=now)


def record_status(room: OpeningRoom, *, user: User, role: str) -> dict:
    """The draft to confirm and who has answered so far: what a client reloading in the ``record`` phase needs."""
    from bidding.room.record import record_draft_data

    answered = [{"signer": c.signer, "role": c.role, "status": c.status, "kid": c.kid or None}
                for c in room.confirmations.exclude(status=R.ABSENT)]
    mine = None
    if role in (HOST, SUPERVISOR, BIDDER) and getattr(user, "is_authenticated", False):
        mine = _existing(room, user, role)
    return {"draft": record_draft_data(room) if room.draft_sha256 else None, "confirmations": answered,
            "you": mine.status if mine else None}
