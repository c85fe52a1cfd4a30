"""Sealed bids: bidder keys, opening keys, resumable uploads and the bids themselves."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id
from trading.models import Organization, Section, User


class BidderKey(models.Model):
    """A bidder organization's public key. The private half never reaches the server."""

    class Use(models.TextChoices):
        ENCRYPTION = "enc", _("Encryption (ECDH P-256)")
        SIGNING = "sign", _("Signing (ECDSA P-256)")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="bidder_keys")
    use = models.CharField(max_length=4, choices=Use.choices)
    kid = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField()
    registered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"BidderKey {self.kid}"


class OpeningKey(models.Model):
    """A section's ECDH opening key; the private key is stored wrapped under the master key."""

    section = models.OneToOneField(Section, on_delete=models.PROTECT, related_name="opening_key")
    kid = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField()
    wrapped_private_key = models.BinaryField()
    wrap_iv = models.BinaryField()
    not_before = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"OpeningKey {self.kid}"


def _upload_public_id() -> str:
    return public_id("u", 16)


def _bid_public_id() -> str:
    return public_id("b", 16)


class BidUpload(models.Model):
    """断点续传: a chunked, resumable upload of one sealed envelope."""

    class Status(models.TextChoices):
        OPEN = "open", _("Uploading")
        SUBMITTED = "submitted", _("Submitted")
        ABANDONED = "abandoned", _("Abandoned")

    public_id = models.CharField(max_length=24, unique=True, default=_upload_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    size = models.PositiveBigIntegerField()
    chunk_size = models.PositiveIntegerField()
    chunk_count = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"BidUpload {self.public_id}"


class UploadChunk(models.Model):
    upload = models.ForeignKey(BidUpload, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "index"], name="chunk_unique")]

    def __str__(self) -> str:
        return f"UploadChunk {self.pk}"


class Bid(models.Model):
    """A sealed bid as received: ciphertext, digest, the bidder's signature and the receipt's token."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        REPLACED = "replaced", _("Replaced by a later bid")
        WITHDRAWN = "withdrawn", _("Withdrawn before the deadline (撤回)")
        DECRYPTED = "decrypted", _("Decrypted")
        REVOKED = "revoked", _("Revoked: not decrypted through the bidder's fault (撤销)")
        FAILED_PLATFORM = "failed_platform", _("Withdrawn: not decrypted through a platform fault")
        DISQUALIFIED = "disqualified", _("Disqualified")

    public_id = models.CharField(max_length=24, unique=True, default=_bid_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="bids")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="bids")
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    size = models.PositiveBigIntegerField()
    digest = models.CharField(max_length=64)
    signature = models.BinaryField()
    sign_kid = models.CharField(max_length=64)
    bidder_kid = models.CharField(max_length=64)
    opening_kid = models.CharField(max_length=64)
    header = models.JSONField()
    storage_path = models.CharField(max_length=300)
    received_at = models.DateTimeField()
    timestamp_token = models.BinaryField()
    source_ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True)
    decrypted_at = models.DateTimeField(null=True, blank=True)
    opening_no = models.PositiveSmallIntegerField(null=True, blank=True)
    k2_wrapped = models.BinaryField(null=True, blank=True)
    outcome_reason = models.CharField(max_length=300, blank=True)
    read_order = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["section", "organization", "status"])]

    def __str__(self) -> str:
        return f"Bid {self.public_id}"


class OpeningRoom(models.Model):
    """开标室: the live state of one section's opening. State lives here, never in a consumer."""

    class Phase(models.TextChoices):
        SIGNIN = "signin", _("Sign-in")
        EXTRACTION = "extraction", _("Extracting bids")
        DECRYPTION = "decryption", _("Decryption")
        READING = "reading", _("Reading prices (唱标)")
        OBJECTIONS = "objections", _("Objections")
        RECORD = "record", _("Opening record")
        CLOSED = "closed", _("Closed")
        FAILED = "failed", _("Failed (流标)")

    section = models.OneToOneField(Section, on_delete=models.PROTECT, related_name="opening_room")
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.SIGNIN)
    phase_ends_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    failure_reason = models.CharField(max_length=300, blank=True)
    record_path = models.CharField(max_length=300, blank=True)
    record_sha256 = models.CharField(max_length=64, blank=True)
    draft_path = models.CharField(max_length=300, blank=True)  # the record the parties co-sign
    draft_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"OpeningRoom {self.pk}"


class RoomEvent(models.Model):
    """One message of the room's history: replayed to clients that resume."""

    room = models.ForeignKey(OpeningRoom, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=32)
    at = models.DateTimeField()
    data = models.JSONField(default=dict)
    public = models.JSONField(null=True, blank=True)  # the masked view, where it differs
    audience = models.CharField(max_length=40, default="all")  # all | staff | org:<pk>

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="room_event_seq_unique")]

    def __str__(self) -> str:
        return f"RoomEvent {self.seq}"


class RoomSignIn(models.Model):
    room = models.ForeignKey(OpeningRoom, on_delete=models.CASCADE, related_name="sign_ins")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "organization"], name="room_signin_unique")]

    def __str__(self) -> str:
        return f"RoomSignIn {self.pk}"


def _opening_objection_public_id() -> str:
    return public_id("oo", 14)


class OpeningObjection(models.Model):
    """开标异议 (R13): raised in the room, answered on the spot, recorded."""

    public_id = models.CharField(max_length=24, unique=True, default=_opening_objection_public_id, editable=False)
    room = models.ForeignKey(OpeningRoom, on_delete=models.CASCADE, related_name="objections")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    raised_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at"]

    def __str__(self) -> str:
        return f"OpeningObjection {self.pk}"


class StaffSigningKey(models.Model):
    """A host's or supervisor's ECDSA P-256 key, made in their browser and registered at first use (ADR 0032)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="signing_keys")
    kid = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"StaffSigningKey {self.kid}"


class RecordConfirmation(models.Model):
    """开标记录确认: one party's signature over the draft record, or its refusal or absence."""

    class Status(models.TextChoices):
        SIGNED = "signed", _("Confirmed and signed")
        REFUSED = "refused", _("Refused to sign")
        ABSENT = "absent", _("Absent")

    room = models.ForeignKey(OpeningRoom, on_delete=models.CASCADE, related_name="confirmations")
    role = models.CharField(max_length=12)  # host | supervisor | bidder
    status = models.CharField(max_length=8, choices=Status.choices)
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    signer = models.CharField(max_length=200)
    kid = models.CharField(max_length=64, blank=True)
    public_key = models.BinaryField(null=True, blank=True)
    signature = models.BinaryField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"RecordConfirmation {self.pk}"
