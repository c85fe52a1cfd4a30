"""断点续传: chunked, resumable uploads of sealed envelopes (DESIGN.md §5.3)."""

import hashlib
import hmac
import math
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.models import BidUpload, UploadChunk
from trading import signals
from trading.files import delete_stored, open_stored, stored_writer
from trading.models import Section, User
from trading.services.errors import Conflict, DomainError, NotFound, SectionError
from trading.services.registrations import require_registered

MAX_CHUNK = 8 * 1024 * 1024
MIN_CHUNK = 64 * 1024


class UploadError(DomainError):
    pass


def chunk_name(upload: BidUpload, index: int) -> str:
    """Where a chunk is kept in the file store until the bid is assembled."""
    return f"uploads/{upload.public_id}/{index:06d}.part"


def expected_chunk_size(upload: BidUpload, index: int) -> int:
    if index < upload.chunk_count - 1:
        return upload.chunk_size
    return upload.size - upload.chunk_size * (upload.chunk_count - 1)


def upload_for(*, user: User, upload_id: str) -> BidUpload:
    """Only the organization that created an upload may see or touch it."""
    upload = BidUpload.objects.select_related("section").filter(public_id=upload_id).first()
    if upload is None or not user.is_authenticated or upload.organization_id != user.organization_id:
        raise NotFound(_("No such upload."))
    return upload


@transaction.atomic
def upload_create(*, user: User, section: Section, size: int, chunk_size: int,
                  now: datetime | None = None) -> BidUpload:
    now = now or timezone.now()
    require_registered(user=user, section=section)
    if not section.accepts_bids(now):
        raise SectionError(_("R06: this section no longer accepts bids."), code="closed")
    if not isinstance(size, int) or size <= 0 or size > settings.BID_MAX_BYTES:
        raise UploadError(_("The bid file must be between 1 byte and %(mb)d MB.")
                          % {"mb": settings.BID_MAX_BYTES // 2**20}, field="size", code="bad_size")
    if not isinstance(chunk_size, int) or not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise UploadError(_("Chunks must be between 64 KiB and 8 MiB."), field="chunk_size", code="bad_chunk_size")
    signals.bid_guard.send(sender=Section, organization=user.organization, section=section, now=now)
    return BidUpload.objects.create(section=section, organization=user.organization, created_by=user, size=size,
                                    chunk_size=chunk_size, chunk_count=math.ceil(size / chunk_size),
                                    created_at=now)


def upload_put_chunk(*, upload: BidUpload, index: int, body, declared_sha256: str) -> UploadChunk:
    """Store one chunk after checking its size and SHA-256; a chunk already held is not replaced."""
    if upload.status != BidUpload.Status.OPEN:
        raise Conflict(_("This upload has been submitted or abandoned."), code="upload_closed")
    if not 0 <= index < upload.chunk_count:
        raise UploadError(_("Chunk %(index)d does not exist: this upload has chunks 0 to %(last)d.")
                          % {"index": index, "last": upload.chunk_count - 1}, code="bad_index")
    declared = (declared_sha256 or "").strip().lower()
    if len(declared) != 64 or any(c not in "0123456789abcdef" for c in declared):
        raise UploadError(_("Send the chunk's SHA-256 in hex in the X-Chunk-SHA256 header."), code="bad_hash")
    expected = expected_chunk_size(upload, index)
    held = UploadChunk.objects.filter(upload=upload, index=index).first()
    if held is not None:
        if held.sha256 == declared:
            return held  # a retried PUT of the same bytes
        raise Conflict(_("Chunk %(index)d was already received with other content.") % {"index": index},
                       code="duplicate_chunk")
    digest, size = hashlib.sha256(), 0
    # Written whole or not at all: a failed check leaves nothing under the chunk's name.
    with stored_writer(chunk_name(upload, index)) as out:
        while True:
            block = body.read(1024 * 1024)
            if not block:
                break
            size += len(block)
            if size > expected:
                raise UploadError(_("Chunk %(index)d must be exactly %(size)d bytes.")
                                  % {"index": index, "size": expected}, code="bad_chunk_length")
            digest.update(block)
            out.write(block)
        if size != expected:
            raise UploadError(_("Chunk %(index)d must be exactly %(size)d bytes.")
                              % {"index": index, "size": expected}, code="bad_chunk_length")
        if not hmac.compare_digest(digest.hexdigest(), declared):
            raise UploadError(_("Chunk %(index)d does not match its SHA-256: send it again.") % {"index": index},
                              code="chunk_hash_mismatch")
    try:
        with transaction.atomic():
            return UploadChunk.objects.create(upload=upload, index=index, size=size, sha256=declared)
    except IntegrityError:
        # The same chunk arrived twice at once; keep the first record.
        held = UploadChunk.objects.get(upload=upload, index=index)
        if held.sha256 != declared:
            raise Conflict(_("Chunk %(index)d was already received with other content.") % {"index": index},
                           code="duplicate_chunk") from None
        return held


def upload_received(upload: BidUpload) -> list[int]:
    return list(upload.chunks.order_by("index").values_list("index", flat=True))


class ChunkStream:
    """Read the stored chunks in order as one stream, without holding more than one block."""

    def __init__(self, upload: BidUpload):
        self.names = [chunk_name(upload, i) for i in range(upload.chunk_count)]
        self.handle = None

    def read(self, n: int = -1) -> bytes:
        while self.names or self.handle:
            if self.handle is None:
                self.handle = open_stored(self.names.pop(0))
            data = self.handle.read(n if n >= 0 else -1)
            if data:
                return data
            self.handle.close()
            self.handle = None
        return b""

    def readinto(self, view) -> int:
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def upload_discard(upload: BidUpload) -> None:
    delete_stored(*(chunk_name(upload, i) for i in range(upload.chunk_count)))


# Once bidding has closed for good, an open upload can never be submitted (R06).
_BIDDING_OVER = [s for s in Section.Status.values if s not in (Section.Status.DRAFT, Section.Status.PUBLISHED)]


def uploads_abandon(*, now: datetime | None = None, batch: int = 200) -> int:
    """Mark unfinished uploads of closed sections abandoned and free their chunks (idempotent)."""
    count = 0
    candidates = BidUpload.objects.filter(status=BidUpload.Status.OPEN, section__status__in=_BIDDING_OVER)
    for upload_id in list(candidates.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            upload = BidUpload.objects.select_for_update().filter(pk=upload_id,
                                                                  status=BidUpload.Status.OPEN).first()
            if upload is None:
                continue
            upload_discard(upload)  # first: if the commit is lost, the next sweep deletes nothing and marks it
            upload.status = BidUpload.Status.ABANDONED
            upload.save(update_fields=["status"])
        count += 1
    return count


def sweep_abandoned_uploads(*, now: datetime | None = None) -> int:
    return uploads_abandon(now=now)
