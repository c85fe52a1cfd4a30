"""Online decryption (R11): the bidder sends K2, the platform unwraps K1 and authenticates the summary."""

import base64
import binascii
import os
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.envelope import EnvelopeError, open_summary, read_header, unwrap_key
from bidding.masterkey import master_key
from bidding.models import Bid
from bidding.room.events import event_emit
from bidding.room.services import P, RoomError, _locked, _masked, _running, room_close_decryption
from bidding.services.keys import opening_key_unwrap
from timestamps.ledger import ledger_append
from trading.files import open_stored, stored_sha256
from trading.models import User
from trading.services.errors import NotFound


def opening_key_usable(section) -> bool:
    try:
        opening_key_unwrap(section=section, actor="system")
    except Exception:
        return False
    return True


def platform_fault(bid: Bid, *, key_usable: bool) -> str:
    """Why a bid could not be decrypted through the platform's fault, or "" when the fault is the bidder's."""
    if stored_sha256(bid.storage_path) != bid.digest:
        return str(_("The stored envelope no longer matches its receipt: the platform's fault (R11: withdrawn)."))
    if not key_usable:
        return str(_("The platform could not use its opening key (R11: withdrawn)."))
    return ""


def _k2(raw: str) -> bytes:
    try:
        k2 = base64.b64decode(raw or "", validate=True)
    except (binascii.Error, ValueError):
        k2 = b""
    if len(k2) != 32:
        raise RoomError(_("K2 must be 32 bytes, base64-encoded."), code="bad_k2", field="k2")
    return k2


def _wrap_k2(bid: Bid, k2: bytes) -> bytes:
    iv = os.urandom(12)
    return iv + AESGCM(master_key()).encrypt(iv, k2, f"SBE1 K2|{bid.public_id}".encode())


def bid_k2(bid: Bid) -> bytes:
    """The K2 a bidder sent at the opening, for decrypting its documents for evaluation."""
    blob = bytes(bid.k2_wrapped)
    return AESGCM(master_key()).decrypt(blob[:12], blob[12:], f"SBE1 K2|{bid.public_id}".encode())


def bid_keys(bid: Bid) -> tuple[bytes, bytes]:
    with open_stored(bid.storage_path) as handle:
        header = read_header(handle)
    k1 = unwrap_key(header, 0, opening_key_unwrap(section=bid.section, actor="system"))
    return k1, bid_k2(bid)


def room_decrypt(*, user: User, bid_id: str, k2: str, now: datetime | None = None) -> Bid:
    """Check K2 by authenticating the summary frame; a wrong K2 may be retried until the window closes."""
    key = _k2(k2)
    bid = Bid.objects.select_related("section__project", "organization").filter(public_id=bid_id).first()
    if bid is None or not user.is_authenticated or bid.organization_id != user.organization_id:
        raise NotFound(_("No such bid."))
    section = bid.section
    if bid.status == Bid.Status.SUBMITTED and stored_sha256(bid.storage_path) != bid.digest:  # hashed outside the lock
        raise RoomError(_("The stored envelope no longer matches its receipt: the platform's fault."),
                        code="platform_fault")
    with transaction.atomic():
        now = now or timezone.now()
        room = _locked(section.pk)
        _running(room, P.DECRYPTION, now)
        bid = Bid.objects.select_for_update().get(pk=bid.pk)
        if bid.status == Bid.Status.DECRYPTED:
            return bid
        if bid.status != Bid.Status.SUBMITTED or bid.opening_no is None:
            raise RoomError(_("This bid is not part of the opening."), code="not_in_opening")
        try:
            with open_stored(bid.storage_path) as handle:
                header = read_header(handle)
            k1 = unwrap_key(header, 0, opening_key_unwrap(section=section, actor=user, now=now))
            with open_stored(bid.storage_path) as handle:
                summary = open_summary(handle, k1=k1, k2=key)
        except EnvelopeError as exc:
            event_emit(room, "decrypt_failed", {"no": bid.opening_no, "code": exc.code, "message": str(exc.message)},
                       audience=f"org:{bid.organization_id}", now=now)
            ledger_append(action="bid.decrypt_failed", actor=user, obj=section, now=now,
                          data={"bid": bid.public_id, "code": exc.code})
            failure = RoomError(exc.message, code=exc.code)
        else:
            failure = None
            bid.status, bid.summary, bid.decrypted_at = Bid.Status.DECRYPTED, summary, now
            bid.k2_wrapped = _wrap_k2(bid, key)
            bid.save(update_fields=["status", "summary", "decrypted_at", "k2_wrapped"])
            decrypted = Bid.objects.filter(section=section, status=Bid.Status.DECRYPTED).count()
            total = Bid.objects.filter(section=section, opening_no__isnull=False).count()
            event_emit(room, "decrypted", {"no": bid.opening_no, "bidder": bid.organization.name,
                                           "decrypted": decrypted, "total": total},
                       public={"no": bid.opening_no, "bidder": _masked(bid.opening_no), "decrypted": decrypted,
                               "total": total}, now=now)
            ledger_append(action="bid.decrypted", actor=user, obj=section, now=now, data={"bid": bid.public_id})
    if failure is not None:
        raise failure
    if not Bid.objects.filter(section=section, status=Bid.Status.SUBMITTED, opening_no__isnull=False).exists():
        room_close_decryption(section=section, now=now, early=True)  # everyone is done
    return bid
