"""投诉: complaints to the supervisory department (R35–R37: 《招标投标法实施条例》 art. 60–62, cited as [R] in
RULES.md; the ministries' 《工程建设项目招标投标活动投诉处理办法》 details the same procedure but is not our source)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id
from trading.models import Organization, Section, User


def _complaint_public_id() -> str:
    return public_id("cp", 14)


def _evidence_public_id() -> str:
    return public_id("ce", 14)


class Complaint(models.Model):
    """投诉: one complaint by a bidder or another interested party about one section."""

    class Matter(models.TextChoices):
        DOCUMENTS = "documents", _("The tender documents (R04)")
        OPENING = "opening", _("The bid opening (R13)")
        CANDIDATES = "candidates", _("The winning candidates (R27)")
        OTHER = "other", _("Another matter")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, acceptance pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Not accepted")
        DECIDED = "decided", _("Decided")

    class Pause(models.TextChoices):
        NONE = "", _("Running")
        MATERIAL = "material", _("Waiting for material")
        APPRAISAL = "appraisal", _("Testing, appraisal or expert review")

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("Upheld")
        DISMISSED = "dismissed", _("Dismissed")

    public_id = models.CharField(max_length=24, unique=True, default=_complaint_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="complaints")
    complainant = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    matter = models.CharField(max_length=12, choices=Matter.choices)
    objection_id = models.CharField(max_length=24, blank=True)  # the prior 异议's public_id (R35)
    request = models.TextField()
    facts = models.TextField()
    known_at = models.DateTimeField()
    received_at = models.DateTimeField()
    window_ends = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    accept_due = models.DateTimeField()
    decision_due = models.DateTimeField(null=True, blank=True)
    pause = models.CharField(max_length=10, choices=Pause.choices, blank=True, default=Pause.NONE)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_note = models.TextField(blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    decision = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"Complaint {self.public_id}"

    def clock_due(self):
        """The running statutory clock's due time, or ``None`` when it is stopped or finished."""
        if self.pause:
            return None
        if self.status == self.Status.RECEIVED:
            return self.accept_due
        if self.status == self.Status.ACCEPTED:
            return self.decision_due
        return None


class ComplaintEvidence(models.Model):
    """A file of evidence, or material supplied later, in the file store."""

    public_id = models.CharField(max_length=24, unique=True, default=_evidence_public_id, editable=False)
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="evidence")
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.name


class SectionSuspension(models.Model):
    """暂停招标投标活动: a section suspended by the supervisory department while it handles a complaint (R37)."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="suspensions")
    reason = models.TextField()
    suspended_at = models.DateTimeField()
    suspended_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-suspended_at"]
        constraints = [models.UniqueConstraint(fields=["section"], condition=models.Q(lifted_at__isnull=True),
                                               name="one_active_suspension_per_section")]

    def __str__(self) -> str:
        return f"Suspension of section {self.section_id}"
