"""电子监察: alerts for the supervisors, and service ratings (好差评) with their follow-ups."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.deposits.models import RefundInstruction
from trading.ids import public_id
from trading.models import Organization, Section, User


def _deadline_alert_public_id() -> str:
    return public_id("al", 14)


class DeadlineAlert(models.Model):
    """电子监察 alert about a step that is due. Escalation: 收件提醒 (reminder), 提前预警 (early warning), 超时通报 (overdue report)."""

    class Kind(models.TextChoices):
        OBJECTION_ANSWER = "objection_answer", _("Objection to be answered (R04)")
        PUBLICITY_START = "publicity_start", _("Candidates to be publicized (R27)")
        CONTRACT_SIGNING = "contract_signing", _("Contract to be signed (R29)")
        DEPOSIT_REFUND = "deposit_refund", _("Deposit to be refunded (R18–R20)")
        RATING_FOLLOWUP = "rating_followup", _("Poor rating to be followed up")
        COMPLAINT_ACCEPT = "complaint_accept", _("Complaint to be accepted or rejected (R36)")
        COMPLAINT_DECISION = "complaint_decision", _("Complaint to be decided (R36)")

    class Level(models.TextChoices):
        REMINDER = "reminder", _("Reminder (收件提醒)")
        WARNING = "warning", _("Early warning (提前预警)")
        OVERDUE = "overdue", _("Overdue report (超时通报)")

    public_id = models.CharField(max_length=24, unique=True, default=_deadline_alert_public_id, editable=False)
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
        db_table = "trading_deadlinealert"
        ordering = ["-raised_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "subject_type", "subject_id", "level"],
                                               name="deadline_alert_unique")]

    def __str__(self) -> str:
        return f"{self.level} {self.kind} {self.subject_type}:{self.subject_id}"


def _supervision_alert_public_id() -> str:
    return public_id("sa", 14)


class SupervisionAlert(models.Model):
    """An alert for the supervisors (电子监察), e.g. a refund that is overdue."""

    class Kind(models.TextChoices):
        REFUND_OVERDUE = "refund_overdue", _("Refund overdue")
        REFUND_REJECTED = "refund_rejected", _("Refund rejected by the bank")

    public_id = models.CharField(max_length=24, unique=True, default=_supervision_alert_public_id, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    instruction = models.ForeignKey(RefundInstruction, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="alerts")
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict)
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "trading_supervisionalert"
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "instruction"], name="supervision_alert_unique"),
        ]

    def __str__(self) -> str:
        return self.message


def _service_rating_public_id() -> str:
    return public_id("sr", 14)


class ServiceRating(models.Model):
    """好差评: a participant rates the platform's service after a stage, 1 (poor) to 5 (excellent)."""

    class Stage(models.TextChoices):
        REGISTRATION = "registration", _("Sign-up and documents")
        BIDDING = "bidding", _("Bid submission")
        OPENING = "opening", _("Bid opening")
        EVALUATION = "evaluation", _("Evaluation")
        AWARD = "award", _("Award and results")
        DEPOSIT = "deposit", _("Deposit refund")

    public_id = models.CharField(max_length=24, unique=True, default=_service_rating_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="service_ratings")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trading_servicerating"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["section", "stage", "user"], name="service_rating_once"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="service_rating_score"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.score}/5"


def _rating_follow_up_public_id() -> str:
    return public_id("fu", 14)


class RatingFollowUp(models.Model):
    """差评整改: a poor rating opens a follow-up that a supervisor must close within the set days."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    public_id = models.CharField(max_length=24, unique=True, default=_rating_follow_up_public_id, editable=False)
    rating = models.OneToOneField(ServiceRating, on_delete=models.CASCADE, related_name="follow_up")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        db_table = "trading_ratingfollowup"
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"follow-up of rating {self.rating_id}"


class BreakGlass(models.Model):
    """破窗查看 (break-glass): a supervisor's written reason to see a sealed section early (R14, R25).

    It grants that supervisor alone, for that section alone, a view that ends at ``expires_at``.
    """

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    opened_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["section", "user", "expires_at"], name="break_glass_active")]

    def __str__(self) -> str:
        return f"break-glass {self.section_id} by {self.user_id}"

    def active(self, now) -> bool:
        return self.opened_at <= now < self.expires_at
