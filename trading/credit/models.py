"""信用: blacklist records (黑名单), their appeals (申诉) and collusion signals (串标信号)."""

from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id
from trading.models import Organization, Section, User


def _signal_id() -> str:
    return public_id("cs", 12)


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
        db_table = "trading_creditrecord"
        ordering = ["-starts_on", "-created_at"]
        indexes = [models.Index(fields=["organization", "status", "starts_on"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.party_name}"

    def in_force(self, today: date) -> bool:
        """Inclusive of both dates: the day after ``ends_on`` the party may act again."""
        if self.status != self.Status.ACTIVE or today < self.starts_on:
            return False
        return self.ends_on is None or today <= self.ends_on


def _credit_appeal_public_id() -> str:
    return public_id("ap", 14)


class CreditAppeal(models.Model):
    """申诉: the party contests a record; a supervisor decides and the decision is recorded."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting decision")
        UPHELD = "upheld", _("Upheld: record revoked")
        REJECTED = "rejected", _("Rejected")

    public_id = models.CharField(max_length=24, unique=True, default=_credit_appeal_public_id, editable=False)
    record = models.ForeignKey(CreditRecord, on_delete=models.PROTECT, related_name="appeals")
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    submitted_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.TextField(blank=True)

    class Meta:
        db_table = "trading_creditappeal"
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"appeal {self.pk} on {self.record_id}"


class CollusionSignal(models.Model):
    """串标信号 (R17, R32): evidence for the blacklist and the supervisors, never a verdict."""

    class Kind(models.TextChoices):
        SAME_PAYER_ACCOUNT = "same_payer_account", _("Deposits paid from the same account (R17)")

    public_id = models.CharField(max_length=24, unique=True, default=_signal_id, editable=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="collusion_signals")
    key = models.CharField(max_length=64)
    organizations = models.ManyToManyField(Organization, related_name="collusion_signals")
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trading_collusionsignal"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "section", "key"], name="collusion_signal_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"
