"""信用 and 监察: blacklist records (黑名单) and appeals (申诉), deadline alerts (电子监察) and service
ratings (好差评) with their follow-ups. Collusion signals live in deposits.py (``CollusionSignal``)."""

from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id
from trading.models.organizations import Organization, User
from trading.models.projects import Section


def _record_public_id() -> str:
    return public_id("cr", 10)


class CreditRecord(models.Model):
    """信用档案 / 黑名单: a published penalty decision against a bidder, an expert or an agency (R30)."""

    class PartyKind(models.TextChoices):
        BIDDER = "bidder", _("Bidder")
        EXPERT = "expert", _("Expert")
        AGENCY = "agency", _("Agency")

    class Basis(models.TextChoices):
        COLLUSION = "collusion", _("Collusive bidding (串通投标)")
        BRIBERY = "bribery", _("Bribery (行贿谋取中标)")
        FRAUD = "fraud", _("Fraud (弄虚作假骗取中标)")
        EXPERT_MISCONDUCT = "expert_misconduct", _("Expert misconduct (评标专家违法)")
        AGENCY_MISCONDUCT = "agency_misconduct", _("Agency misconduct (招标代理违法)")

    class Measure(models.TextChoices):
        BAR = "bar", _("Barred from tendering (取消投标资格)")
        SUSPENSION = "suspension", _("Suspended from evaluation (暂停评标资格)")
        REMOVAL = "removal", _("Removed from the expert pool (取消评标专家资格)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("In force")
        REVOKED = "revoked", _("Revoked on appeal")

    public_id = models.CharField(max_length=24, unique=True, default=_record_public_id, editable=False)
    party_kind = models.CharField(_("party kind"), max_length=10, choices=PartyKind.choices)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="credit_records")
    expert_code = models.CharField(_("expert code"), max_length=64, blank=True, db_index=True)
    expert_user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    party_name = models.CharField(_("party"), max_length=200)
    party_identifier = models.CharField(_("credit code or expert code"), max_length=64)
    conduct = models.TextField(_("conduct"))
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    measure = models.CharField(_("measure"), max_length=12, choices=Measure.choices, default=Measure.BAR)
    authority = models.CharField(_("deciding authority"), max_length=200)
    decision_number = models.CharField(_("decision number"), max_length=100)
    decision_date = models.DateField(_("decision date"))
    document_name = models.CharField(max_length=200)
    document_path = models.CharField(max_length=300)
    document_sha256 = models.CharField(max_length=64)
    document_size = models.PositiveBigIntegerField()
    starts_on = models.DateField(_("in force from"))
    ends_on = models.DateField(_("in force until"), null=True, blank=True)  # None: removal without end
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "-created_at"]
        indexes = [models.Index(fields=["organization", "status", "starts_on"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.party_name}"

    def in_force(self, today: date) -> bool:
        """Inclusive of both dates: the day after ``ends_on`` the party may act again."""
        if self.status != self.Status.ACTIVE or today < self.starts_on:
            return False
        return self.ends_on is None or today <= self.ends_on


class CreditAppeal(models.Model):
    """申诉: the party contests a record; a supervisor decides and the decision is recorded."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting decision")
        UPHELD = "upheld", _("Upheld: record revoked")
        REJECTED = "rejected", _("Rejected")

    record = models.ForeignKey(CreditRecord, on_delete=models.PROTECT, related_name="appeals")
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    submitted_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.TextField(blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"appeal {self.pk} on {self.record_id}"


class DeadlineAlert(models.Model):
    """电子监察 alert about a step that is due. Escalation: 收件提醒 (reminder), 提前预警 (early warning), 超时通报 (overdue report)."""

    class Kind(models.TextChoices):
        OBJECTION_ANSWER = "objection_answer", _("Objection to be answered (R04)")
        PUBLICITY_START = "publicity_start", _("Candidates to be publicized (R27)")
        CONTRACT_SIGNING = "contract_signing", _("Contract to be signed (R29)")
        DEPOSIT_REFUND = "deposit_refund", _("Deposit to be refunded (R18–R20)")
        RATING_FOLLOWUP = "rating_followup", _("Poor rating to be followed up")

    class Level(models.TextChoices):
        REMINDER = "reminder", _("Reminder (收件提醒)")
        WARNING = "warning", _("Early warning (提前预警)")
        OVERDUE = "overdue", _("Overdue report (超时通报)")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.CharField(max_length=10, choices=Level.choices)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=64)
    section = models.ForeignKey(Section, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")  # who must act
    message = models.CharField(max_length=500)
    due_at = models.DateTimeField()
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "subject_type", "subject_id", "level"],
                                               name="deadline_alert_unique")]

    def __str__(self) -> str:
        return f"{self.level} {self.kind} {self.subject_type}:{self.subject_id}"


class ServiceRating(models.Model):
    """好差评: a participant rates the platform's service after a stage, 1 (poor) to 5 (excellent)."""

    class Stage(models.TextChoices):
        REGISTRATION = "registration", _("Sign-up and documents")
        BIDDING = "bidding", _("Bid submission")
        OPENING = "opening", _("Bid opening")
        EVALUATION = "evaluation", _("Evaluation")
        AWARD = "award", _("Award and results")
        DEPOSIT = "deposit", _("Deposit refund")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="service_ratings")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["section", "stage", "user"], name="service_rating_once"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="service_rating_score"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.score}/5"


class RatingFollowUp(models.Model):
    """差评整改: a poor rating opens a follow-up that a supervisor must close within the set days."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    rating = models.OneToOneField(ServiceRating, on_delete=models.CASCADE, related_name="follow_up")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"follow-up of rating {self.rating_id}"
