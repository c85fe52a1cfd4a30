"""Projects (项目), sections (标段) and what happens to them before the opening."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id
from trading.models.organizations import Organization, User


def _project_public_id() -> str:
    return public_id("p")


def _section_public_id() -> str:
    return public_id("s")


class Project(models.Model):
    """项目登记: a registered procurement project."""

    class Category(models.TextChoices):
        CONSTRUCTION = "construction", _("Construction works (工程建设)")
        GOVERNMENT = "government", _("Government procurement (政府采购)")
        LAND = "land", _("Land and mining rights (土地矿业权)")
        STATE_ASSETS = "state_assets", _("State-owned property rights (国有产权)")

    class Funding(models.TextChoices):
        STATE = "state", _("State-funded")
        OTHER = "other", _("Not state-funded")

    public_id = models.CharField(max_length=24, unique=True, default=_project_public_id, editable=False)
    code = models.CharField(_("project code"), max_length=64, unique=True)
    name = models.CharField(_("project name"), max_length=200)
    owner_name = models.CharField(_("owner (招标人)"), max_length=200)
    agency = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="projects")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    funding = models.CharField(_("funding"), max_length=10, choices=Funding.choices)
    estimated_price = models.DecimalField(_("estimated price or budget"), max_digits=15, decimal_places=2)
    must_tender = models.BooleanField(_("must be tendered by law"), default=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Section(models.Model):
    """标段: one lot of a project, tendered, opened and awarded on its own."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Open for bids")
        BIDDING_CLOSED = "bidding_closed", _("Bidding closed")
        OPENING = "opening", _("Opening")
        FAILED = "failed", _("Failed (流标)")
        OPENED = "opened", _("Opened")
        EVALUATING = "evaluating", _("Evaluating")
        PUBLICIZING = "publicizing", _("Candidates publicized")
        AWARDED = "awarded", _("Awarded")
        CONTRACTED = "contracted", _("Contract signed")
        ARCHIVED = "archived", _("Archived")
        CANCELLED = "cancelled", _("Cancelled")

    class EvaluationMethod(models.TextChoices):
        COMPREHENSIVE = "comprehensive", _("Comprehensive evaluation (综合评估法)")
        LOWEST_PRICE = "lowest_price", _("Lowest evaluated price (经评审的最低投标价法)")

    public_id = models.CharField(max_length=24, unique=True, default=_section_public_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="sections")
    number = models.PositiveSmallIntegerField(_("section number"), default=1)
    title = models.CharField(_("section title"), max_length=200)
    estimated_price = models.DecimalField(_("estimated price"), max_digits=15, decimal_places=2)
    deposit_amount = models.DecimalField(_("bid deposit"), max_digits=15, decimal_places=2, default=Decimal("0"))
    bid_deadline = models.DateTimeField(_("bid deadline and opening time"))
    bid_validity_days = models.PositiveSmallIntegerField(_("bid validity (days)"), default=90)
    documents_from = models.DateTimeField(_("tender documents available from"), null=True, blank=True)
    documents_until = models.DateTimeField(_("tender documents available until"), null=True, blank=True)
    evaluation_method = models.CharField(
        _("evaluation method"), max_length=20, choices=EvaluationMethod.choices
    )
    criteria = models.JSONField(_("evaluation criteria"), default=list, blank=True)
    opening_form_fields = models.JSONField(_("opening form fields"), default=list, blank=True)
    announcement = models.TextField(_("tender announcement (招标公告)"), blank=True)
    opening_config = models.JSONField(_("opening room timing"), default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["bid_deadline"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="section_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.project.code}-{self.number} {self.title}"

    def accepts_bids(self, now: datetime) -> bool:
        return self.status == self.Status.PUBLISHED and now < self.bid_deadline

    def documents_downloadable(self, now: datetime) -> bool:
        if self.status == self.Status.DRAFT or self.documents_from is None:
            return False
        return self.documents_from <= now and (self.documents_until is None or now <= self.documents_until)

    def deposit_cap(self) -> Decimal:
        percent = Decimal(settings.RULE_DEPOSIT_CAP_PERCENT)
        return (self.estimated_price * percent / Decimal(100)).quantize(Decimal("0.01"))

    OPENING_DEFAULTS = {"signin_minutes": 30, "decrypt_minutes": 30, "objection_minutes": 15,
                        "confirm_minutes": 15}  # confirm: the window to co-sign the opening record

    def opening_minutes(self, name: str) -> float:
        return float((self.opening_config or {}).get(name, self.OPENING_DEFAULTS[name]))

    def time_left(self, now: datetime) -> timedelta:
        return self.bid_deadline - now


def _tender_document_public_id() -> str:
    return public_id("td", 14)


class TenderDocument(models.Model):
    """A tender document (招标文件) or an amendment; stored on disk with its SHA-256."""

    class Kind(models.TextChoices):
        TENDER = "tender", _("Tender documents")
        AMENDMENT = "amendment", _("Amendment")
        ATTACHMENT = "attachment", _("Announcement attachment")

    public_id = models.CharField(max_length=24, unique=True, default=_tender_document_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TENDER)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_path = models.CharField(max_length=300)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return f"TenderDocument {self.name}"


class Registration(models.Model):
    """报名: a bidder organization signed up for a section. Secret until the opening (R14)."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="registrations")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="registrations")
    registered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["section", "organization"], name="registration_unique"),
        ]

    def __str__(self) -> str:
        return f"Registration {self.pk}"


def _question_public_id() -> str:
    return public_id("q", 14)


class Question(models.Model):
    """A bidder's question about the tender documents; the asker stays anonymous to the agency."""

    public_id = models.CharField(max_length=24, unique=True, default=_question_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="questions")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    asked_at = models.DateTimeField(default=timezone.now)
    clarification = models.ForeignKey(
        "Clarification", on_delete=models.PROTECT, null=True, blank=True, related_name="questions"
    )

    class Meta:
        ordering = ["asked_at"]

    def __str__(self) -> str:
        return f"Question {self.pk}"


class Clarification(models.Model):
    """澄清或修改: a clarification or amendment that every registered bidder sees (R03)."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="clarifications")
    number = models.PositiveSmallIntegerField()
    text = models.TextField()
    affects_preparation = models.BooleanField(default=True)
    published_at = models.DateTimeField(default=timezone.now)
    deadline_before = models.DateTimeField()
    deadline_after = models.DateTimeField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["section", "number"], name="clarification_number_unique"),
        ]

    def __str__(self) -> str:
        return f"Clarification {self.pk}"

    @property
    def moved_deadline(self) -> bool:
        return self.deadline_after != self.deadline_before


def _document_objection_public_id() -> str:
    return public_id("ob", 14)


class DocumentObjection(models.Model):
    """异议: an objection to the tender documents (R04); bidding pauses until it is answered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting answer")
        ANSWERED = "answered", _("Answered")

    public_id = models.CharField(max_length=24, unique=True, default=_document_objection_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="document_objections")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    submitted_at = models.DateTimeField(default=timezone.now)
    answer_due = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at"]

    def __str__(self) -> str:
        return f"DocumentObjection {self.pk}"


def _notification_public_id() -> str:
    return public_id("n", 14)


class Notification(models.Model):
    """A message to one organization (a registered bidder, say)."""

    public_id = models.CharField(max_length=24, unique=True, default=_notification_public_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, null=True, related_name="+")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Notification {self.pk}"
