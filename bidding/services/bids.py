"""Submitting, replacing and withdrawing sealed bids (R06, R08, R09, R10)."""

import base64
import binascii
import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.envelope import EnvelopeError, inspect, verify_signature
from bidding.models import Bid, BidderKey, BidUpload, OpeningKey
from bidding.services.keys import bidder_key
from bidding.services.uploads import ChunkStream, UploadError, upload_discard, upload_received
from timestamps.ledger import current_ip, ledger_append
from timestamps.stamping import stamp
from trading import signals
from trading.files import delete_stored, stored_under, stored_writer
from trading.models import Section, User
from trading.services.errors import Conflict, DomainError, NotFound, SectionError
from trading.services.registrations import require_registered


class BidError(DomainError):
    pass


class _Tee:
    """Pass reads through while writing them to the store: one pass assembles and inspects."""

    def __init__(self, source, sink):
        self.source, self.sink = source, sink

    def readinto(self, view) -> int:
        n = self.source.readinto(view)
        if n:
            self.sink.write(view[:n])
        return n

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        self.sink.write(data)
        return data


def bid_name(section: Section, bid_public_id: str) -> str:
    """Where a sealed envelope is kept in the file store."""
    return f"bids/{section.public_id}/{bid_public_id}.sbe"


def _decode_submission(digest_hex: str, signature_b64: str) -> tuple[bytes, bytes]:
    try:
        digest = bytes.fromhex(digest_hex or "")
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise BidError(_("The digest must be the envelope's SHA-256 in hex."), field="digest", code="bad_digest")
    try:
        signature = base64.b64decode(signature_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not signature:
        raise BidError(_("The signature must be base64 DER."), field="signature", code="bad_signature")
    return digest, signature


def _envelope_error(exc: EnvelopeError) -> BidError:
    return BidError(exc.message, code=exc.code, field="envelope")


def bid_submit(*, user: User, upload: BidUpload, digest_hex: str, signature_b64: str,
               user_agent: str = "", now: datetime | None = None) -> Bid:
    """Assemble, check and accept a sealed bid; the deadline is judged under the section's lock (R06)."""
    section = upload.section
    require_registered(user=user, section=section)
    if upload.status != BidUpload.Status.OPEN:
        raise Conflict(_("This upload has already been submitted."), code="upload_closed")
    digest, signature = _decode_submission(digest_hex, signature_b64)
    missing = sorted(set(range(upload.chunk_count)) - set(upload_received(upload)))
    if missing:
        raise UploadError(_("Chunks still missing: %(list)s.") % {"list": ", ".join(map(str, missing[:20]))},
                          code="chunks_missing")
    opening = OpeningKey.objects.filter(section=section).first()
    if opening is None:
        raise SectionError(_("This section does not accept bids."), code="no_opening_key")
    enc_key = bidder_key(organization=user.organization, use=BidderKey.Use.ENCRYPTION)
    sign_key = bidder_key(organization=user.organization, use=BidderKey.Use.SIGNING)
    if enc_key is None or sign_key is None:
        raise BidError(_("Register your bidder keys before bidding."), code="no_bidder_keys")

    bid = Bid(section=section, organization=user.organization, submitted_by=user)
    name = bid_name(section, bid.public_id)
    try:
        stream = ChunkStream(upload)
        try:
            with stored_writer(name) as sink:
                result = inspect(_Tee(stream, sink), section=section.public_id,
                                 bidder=user.organization.credit_code, opening_kid=opening.kid,
                                 bidder_kid=enc_key.kid, max_size=settings.BID_MAX_BYTES)
        finally:
            stream.close()
        if result.size != upload.size:
            raise BidError(_("The envelope is not the size announced for the upload."), code="size_mismatch")
        if not hmac.compare_digest(result.digest, digest):
            raise BidError(_("The digest does not match the uploaded envelope."), field="digest",
                           code="digest_mismatch")
        verify_signature(digest=digest, signature_der=signature,
                         sign_public_key=_public(sign_key))
        token = stamp(digest)
        bid = _accept(bid=bid, user=user, upload=upload, result=result, signature=signature, token=token,
                      sign_kid=sign_key.kid, name=name, user_agent=user_agent, now=now)
    except EnvelopeError as exc:
        delete_stored(name)
        raise _envelope_error(exc) from None
    except BaseException:
        _discard_unless_stored(bid.public_id, name)
        raise
    upload_discard(upload)
    return bid


def _discard_unless_stored(bid_public_id: str, name: str) -> None:
    """Delete the assembled file only when no bid row refers to it: a lost commit acknowledgement may hide
    a bid that did commit, and its file must survive. When the database cannot answer, keep the file."""
    try:
        stored = Bid.objects.filter(public_id=bid_public_id).exists()
    except Exception:
        return
    if not stored:
        delete_stored(name)


def _public(key: BidderKey):
    from bidding.envelope import load_public_key_der

    return load_public_key_der(bytes(key.public_key))


@transaction.atomic
def _accept(*, bid: Bid, user: User, upload: BidUpload, result, signature: bytes, token: bytes, sign_kid: str,
            name: str, user_agent: str, now: datetime | None) -> Bid:
    section = Section.objects.select_for_update().get(pk=upload.section_id)
    # Read the clock after the lock: the transaction that closes bidding holds the same lock (R06).
    now = now or timezone.now()
    if not section.accepts_bids(now):
        raise SectionError(_("R06: the bid deadline has passed; the bid was not accepted."),
                           code="deadline_passed")
    upload = BidUpload.objects.select_for_update().get(pk=upload.pk)
    if upload.status != BidUpload.Status.OPEN:
        raise Conflict(_("This upload has already been submitted."), code="upload_closed")
    previous = list(Bid.objects.select_for_update().filter(section=section, organization=user.organization,
                                                           status=Bid.Status.SUBMITTED))
    bid.status = Bid.Status.SUBMITTED
    bid.size, bid.digest, bid.signature = result.size, result.digest.hex(), signature
    bid.sign_kid, bid.bidder_kid = sign_kid, result.header["bidder_kid"]
    bid.opening_kid, bid.header = result.header["opening_kid"], result.header
    bid.storage_path = name
    bid.received_at, bid.timestamp_token = now, token
    bid.source_ip, bid.user_agent = current_ip.get(), user_agent[:300]
    bid.save()
    for old in previous:  # R08: a new bid replaces the earlier one
        old.status = Bid.Status.REPLACED
        old.save(update_fields=["status"])
    upload.status = BidUpload.Status.SUBMITTED
    upload.save(update_fields=["status"])
    ledger_append(action="bid.received", actor=user, obj=section, now=now,
                  data={"bid": bid.public_id, "digest": bid.digest, "size": bid.size,
                        "replaces": [b.public_id for b in previous]})
    return bid


def bid_for(*, user: User, bid_id: str) -> Bid:
    bid = Bid.objects.select_related("section").filter(public_id=bid_id).first()
    if bid is None or not user.is_authenticated or bid.organization_id != user.organization_id:
        raise NotFound(_("No such bid."))
    return bid


@transaction.atomic
def bid_withdraw(*, user: User, bid_id: str, now: datetime | None = None) -> Bid:
    """R08: withdraw (撤回) before the deadline; after it, only a revocation is possible."""
    bid = bid_for(user=user, bid_id=bid_id)
    section = Section.objects.select_for_update().get(pk=bid.section_id)
    now = now or timezone.now()
    bid = Bid.objects.select_for_update().get(pk=bid.pk)
    if bid.status == Bid.Status.WITHDRAWN:
        return bid
    if bid.status != Bid.Status.SUBMITTED:
        raise Conflict(_("Only a submitted bid can be withdrawn."), code="not_submitted")
    if not section.accepts_bids(now):
        raise SectionError(_("R08: after the bid deadline a bid can no longer be withdrawn."),
                           code="deadline_passed")
    bid.status, bid.withdrawn_at = Bid.Status.WITHDRAWN, now
    bid.save(update_fields=["status", "withdrawn_at"])
    ledger_append(action="bid.withdrawn", actor=user, obj=section, now=now, data={"bid": bid.public_id})
    signals.bid_withdrawn.send(sender=Section, bid=bid, now=now)
    return bid


def receipt(bid: Bid) -> dict:
    """R09: the receipt (回执) as JSON, in the fixed shape of DESIGN.md §11."""
    return {
        "bid_id": bid.public_id,
        "section": bid.section.public_id,
        "received_at": bid.received_at.isoformat(),
        "digest": bid.digest,
        "timestamp_token": base64.b64encode(bytes(bid.timestamp_token)).decode(),
    }


def bid_files_orphaned_remove(*, older_than: timedelta = timedelta(minutes=10), now: datetime | None = None) -> int:
    """Remove assembled envelopes that no bid row refers to: left when a submission failed while the
    database could not say whether it had committed. Young files are left alone: they may be in flight."""
    now = now or timezone.now()
    known = set(Bid.objects.values_list("storage_path", flat=True))
    orphaned = [name for name, modified in stored_under("bids")
                if name.endswith(".sbe") and name not in known and now - modified >= older_than]
    if orphaned:
        delete_stored(*orphaned)
    return len(orphaned)


def sweep_orphaned_bid_files(*, now: datetime | None = None) -> int:
    return bid_files_orphaned_remove(now=now)
