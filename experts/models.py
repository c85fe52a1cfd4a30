"""评标专家: the expert pool, verifiable draws (抽取), remote evaluation (远程评标), publicity, award, contract."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.models import Bid
from trading.ids import public_id
from trading.models import Organization, Section, User

# Specialty codes (专业) and whether an expert of that specialty counts as a technical or economic
# expert for R22. Legal experts sit on committees too but do not count toward the 2/3.
SPECIALTIES: dict[str, tuple[str, str]] = {
    "土建": ("Civil works", "technical"),
    "电气": ("Electrical", "technical"),
    "给排水": ("Water supply and drainage", "technical"),
    "暖通": ("HVAC", "technical"),
    "市政": ("Municipal works", "technical"),
    "园林": ("Landscaping", "technical"),
    "水利": ("Water resources", "technical"),
    "公路": ("Highways", "technical"),
    "信息化": ("Information systems", "technical"),
    "医疗设备": ("Medical equipment", "technical"),
    "土地评估": ("Land valuation", "technical"),
    "造价": ("Cost engineering (造价)", "economic"),
    "财务": ("Finance", "economic"),
    "法律": ("Law", "legal"),
}


def specialty_counts_for_r22(code: str) -> bool:
    return SPECIALTIES.get(code, ("", "technical"))[1] in ("technical", "economic")


class Expert(models.Model):
    """An expert of the pool (专家库). Names stay sealed from agencies until the result (R25)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        REMOVED = "removed", _("Removed from the pool")

    code = models.CharField(_("expert code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    user = models.OneToOneField(User, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="expert_profile")
    specialties = models.JSONField(_("specialties"), default=list)
    region = models.CharField(_("region"), max_length=100, blank=True)
    employer_name = models.CharField(_("employer"), max_length=200)
    employer_credit_code = models.CharField(_("employer's credit code"), max_length=18, db_index=True)
    title = models.CharField(_("professional title"), max_length=100, blank=True)
    years_experience = models.PositiveSmallIntegerField(_("years of experience"), default=0)
    relationships = models.JSONField(_("declared relationships (credit codes)"), default=list, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    # When the last account invitation was sent; an activation link names it, so a newer one voids the older.
    account_invited_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Unavailability(models.Model):
    """An expert's declared unavailable period (the availability calendar)."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="unavailable")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"Unavailability {self.pk}"


def _draw_public_id() -> str:
    return public_id("d", 14)


def _pick_public_id() -> str:
    return public_id("m", 14)


class Draw(models.Model):
    """专家抽取: one commit-reveal draw (DESIGN.md §10) for a section, or a supplementary one."""

    class Status(models.TextChoices):
        COMMITTED = "committed", _("Committed, awaiting the supervisor's entropy")
        COMPLETE = "complete", _("Drawn")

    public_id = models.CharField(max_length=24, unique=True, default=_draw_public_id, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="draws")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="supplements")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    requested_at = models.DateTimeField()
    groups = models.JSONField()  # [{"specialty", "count", "backups"}] in request order
    owner_representatives = models.PositiveSmallIntegerField(default=0)
    evaluation_starts_at = models.DateTimeField()
    evaluation_ends_at = models.DateTimeField()
    place = models.CharField(max_length=200, blank=True)
    remote = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMMITTED, db_index=True)
    # The secret s, wrapped under the master key; it is shown to nobody before the draw.
    s_wrapped = models.BinaryField()
    commitment = models.CharField(max_length=64)
    commitment_token = models.BinaryField()
    pools = models.JSONField()  # frozen at commit time: [[codes], ...], one per group
    pool_hashes = models.JSONField()
    entropy = models.BinaryField(null=True, blank=True)
    entropy_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    entropy_at = models.DateTimeField(null=True, blank=True)
    picks_published = models.JSONField(null=True, blank=True)  # [[codes], ...] as drawn
    drawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Draw {self.public_id}"

    @property
    def is_complete(self) -> bool:
        return self.status == self.Status.COMPLETE


class Pick(models.Model):
    """One drawn expert: a seat on the committee (primary) or a backup, and its evaluation state."""

    class Status(models.TextChoices):
        STANDBY = "standby", _("Backup, not called")
        INVITED = "invited", _("Invited, awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        UNANSWERED = "unanswered", _("No answer in time")
        WITHDRAWN = "withdrawn", _("Withdrew: conflict of interest (conclusions void)")

    SEATED = (Status.INVITED, Status.CONFIRMED)
    VACATED = (Status.DECLINED, Status.UNANSWERED, Status.WITHDRAWN)

    public_id = models.CharField(max_length=24, unique=True, default=_pick_public_id, editable=False)
    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="picks")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="picks")
    group = models.PositiveSmallIntegerField()
    specialty = models.CharField(max_length=32)
    position = models.PositiveSmallIntegerField()  # order within the group as drawn
    primary = models.BooleanField()
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    seat = models.PositiveSmallIntegerField(null=True, blank=True)  # 评委 N on the committee
    invited_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=300, blank=True)
    # How the answer came: "account" (the expert's own), "phone" (recorded by platform staff), "timeout" (the sweep).
    answer_channel = models.CharField(max_length=8, blank=True)
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Evaluation: the avoidance declaration (回避声明), the leader vote, scores submitted, report signature.
    declared_at = models.DateTimeField(null=True, blank=True)
    conflict = models.TextField(blank=True)
    leader_vote = models.PositiveSmallIntegerField(null=True, blank=True)
    scores_submitted_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    dissent = models.TextField(blank=True)
    signature_kind = models.CharField(max_length=12, blank=True)  # agree | dissent | deemed

    class Meta:
        ordering = ["draw__requested_at", "group", "position"]
        constraints = [models.UniqueConstraint(fields=["draw", "expert"], name="pick_unique")]

    def __str__(self) -> str:
        return f"Pick {self.public_id}"


class Evaluation(models.Model):
    """评标: the committee's remote evaluation of one section, and its report."""

    class Status(models.TextChoices):
        SCORING = "scoring", _("Scoring")
        SIGNING = "signing", _("Signing the report")
        REPORTED = "reported", _("Report final")
        FAILED = "failed", _("Every bid rejected (R07)")

    section = models.OneToOneField(Section, on_delete=models.PROTECT, related_name="evaluation")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCORING)
    started_at = models.DateTimeField()
    leader = models.ForeignKey(Pick, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    price_settings = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)  # ranking, candidates, price benchmark
    report_at = models.DateTimeField(null=True, blank=True)
    report_path = models.CharField(max_length=300, blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Evaluation {self.pk}"


class EvaluationDocument(models.Model):
    """A bid's documents, decrypted into the file store when evaluation starts, for the committee only."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="documents")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="evaluation_document")
    storage_path = models.CharField(max_length=300, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"EvaluationDocument {self.pk}"


class Score(models.Model):
    """One member's score for one criterion of one bid."""

    member = models.ForeignKey(Pick, on_delete=models.CASCADE, related_name="scores")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")
    criterion = models.PositiveSmallIntegerField()  # index into section.criteria
    value = models.DecimalField(max_digits=7, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "bid", "criterion"], name="score_unique")]

    def __str__(self) -> str:
        return f"Score {self.pk}"


class Verdict(models.Model):
    """A member's pass/fail finding on a bid (初步评审); a majority of fails rejects the bid."""

    member = models.ForeignKey(Pick, on_delete=models.CASCADE, related_name="verdicts")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")
    passes = models.BooleanField(default=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "bid"], name="verdict_unique")]

    def __str__(self) -> str:
        return f"Verdict {self.pk}"


class Publicity(models.Model):
    """中标候选人公示: the candidates made public (R27)."""

    section = models.OneToOneField(Section, on_delete=models.PROTECT, related_name="publicity")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    published_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    candidates = models.JSONField()

    def __str__(self) -> str:
        return f"Publicity {self.pk}"


def _publicity_objection_public_id() -> str:
    return public_id("po", 14)


class PublicityObjection(models.Model):
    """An objection to the candidates during publicity; answered within 3 days (R27)."""

    public_id = models.CharField(max_length=24, unique=True, default=_publicity_objection_public_id, editable=False)
    publicity = models.ForeignKey(Publicity, on_delete=models.PROTECT, related_name="objections")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    submitted_at = models.DateTimeField()
    answer_due = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at"]

    def __str__(self) -> str:
        return f"PublicityObjection {self.pk}"


class Award(models.Model):
    """定标: the winner, its award notice (中标通知书), the losers' result notices, and the contract."""

    section = models.OneToOneField(Section, on_delete=models.PROTECT, related_name="award")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()
    awarded_at = models.DateTimeField()
    awarded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    notice_path = models.CharField(max_length=300)
    notice_sha256 = models.CharField(max_length=64)
    contract_signed_at = models.DateTimeField(null=True, blank=True)
    contract_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    contract_recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True,
                                             related_name="+")

    def __str__(self) -> str:
        return f"Award {self.pk}"


class ResultNotice(models.Model):
    """中标结果通知书: sent to every bidder that did not win, at the same moment as the award (R29)."""

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="result_notices")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()
    path = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"ResultNotice {self.pk}"
