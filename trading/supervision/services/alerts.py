"""电子监察: alerts for overdue steps, with the escalation 收件提醒 → 提前预警 → 超时通报.

Each step that someone must finish by a due time is a *subject*. The sweep raises, at most once each, a
reminder when the step starts, an early warning ``SUPERVISION_WARNING_HOURS`` (24) before it is due, and an
overdue report when it is due; it is idempotent (one row per subject and level) and driven by state only.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import DocumentObjection, Notification, Organization, Section, User
from trading.services.errors import NotFound, PermissionDenied
from trading.supervision.models import DeadlineAlert, RatingFollowUp, ServiceRating

L, KIND = DeadlineAlert.Level, DeadlineAlert.Kind
LIVE_STATUSES = [Section.Status.PUBLISHED, Section.Status.BIDDING_CLOSED, Section.Status.OPENING,
                 Section.Status.OPENED, Section.Status.EVALUATING, Section.Status.PUBLICIZING,
                 Section.Status.AWARDED]


def warning_before() -> timedelta:
    return timedelta(hours=settings.SUPERVISION_WARNING_HOURS)


def publicity_start_days() -> int:
    return settings.RULE_PUBLICITY_START_DAYS  # R27


def contract_days() -> int:
    return settings.RULE_CONTRACT_DAYS  # R29


@dataclass
class Subject:
    kind: str
    subject_type: str
    subject_id: str
    starts_at: datetime
    due_at: datetime
    message: str
    section: Section | None = None
    organization: Organization | None = None

    @property
    def ref(self) -> tuple[str, str, str]:
        return self.kind, self.subject_type, self.subject_id


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# --- the subjects: every step that is open and has a due time ------------------------------------


def _objections() -> list[Subject]:
    found = []
    for o in DocumentObjection.objects.filter(status=DocumentObjection.Status.PENDING).select_related(
            "section__project__agency"):
        found.append(Subject(KIND.OBJECTION_ANSWER, "trading.documentobjection", str(o.pk), o.submitted_at,
                             o.answer_due, str(_("R04: the objection to the tender documents of %(section)s must "
                                                 "be answered by %(due)s.")
                                               % {"section": o.section.title, "due": _local(o.answer_due)}),
                             o.section, o.section.project.agency))
    model = apps.get_model("experts.PublicityObjection")
    for o in model.objects.filter(answered_at__isnull=True).select_related("publicity__section__project__agency"):
        section = o.publicity.section
        found.append(Subject(KIND.OBJECTION_ANSWER, "experts.publicityobjection", str(o.pk), o.submitted_at,
                             o.answer_due, str(_("R27: the objection to the candidates of %(section)s must be "
                                                 "answered by %(due)s.")
                                               % {"section": section.title, "due": _local(o.answer_due)}),
                             section, section.project.agency))
    return found


def _publicity() -> list[Subject]:
    evaluation = apps.get_model("experts.Evaluation")
    found = []
    for e in evaluation.objects.filter(report_at__isnull=False, section__publicity__isnull=True,
                                       section__status=Section.Status.EVALUATING).select_related(
            "section__project__agency"):
        due = e.report_at + timedelta(days=publicity_start_days())
        found.append(Subject(KIND.PUBLICITY_START, "experts.evaluation", str(e.pk), e.report_at, due,
                             str(_("R27: the candidates of %(section)s must be publicized by %(due)s.")
                                 % {"section": e.section.title, "due": _local(due)}),
                             e.section, e.section.project.agency))
    return found


def _contracts() -> list[Subject]:
    award = apps.get_model("experts.Award")
    found = []
    for a in award.objects.filter(contract_signed_at__isnull=True).select_related("section__project__agency"):
        due = a.awarded_at + timedelta(days=contract_days())
        found.append(Subject(KIND.CONTRACT_SIGNING, "experts.award", str(a.pk), a.awarded_at, due,
                             str(_("R29: the contract of %(section)s must be signed by %(due)s.")
                                 % {"section": a.section.title, "due": _local(due)}),
                             a.section, a.section.project.agency))
    return found


def _refunds(now: datetime) -> list[Subject]:
    instruction = apps.get_model("deposits.RefundInstruction")
    from trading.deposits.services.refunds import refunds_overdue

    overdue = set(refunds_overdue(now=now).values_list("pk", flat=True))
    found = []
    for r in instruction.objects.exclude(status="done").select_related("section"):
        message = str(_("Refund %(id)s of %(amount)s must be paid by %(due)s.")
                      % {"id": r.instruction_id, "amount": f"{r.total:,.2f}", "due": _local(r.due_by)})
        subject = Subject(KIND.DEPOSIT_REFUND, "trading.refundinstruction", str(r.pk), r.created_at, r.due_by,
                          message, r.section)
        subject.overdue = r.pk in overdue  # the deposits selector decides what is overdue
        found.append(subject)
    return found


def _follow_ups() -> list[Subject]:
    found = []
    for f in RatingFollowUp.objects.filter(status=RatingFollowUp.Status.OPEN).select_related("rating__section"):
        found.append(Subject(KIND.RATING_FOLLOWUP, "trading.ratingfollowup", str(f.pk), f.rating.created_at,
                             f.due_at, str(_("A poor rating (%(score)d/5) on %(section)s must be followed up by "
                                             "%(due)s.") % {"score": f.rating.score,
                                                            "section": f.rating.section.title,
                                                            "due": _local(f.due_at)}),
                             f.rating.section))
    return found


def _complaints() -> list[Subject]:
    """投诉 clocks (R36) that are running; a clock stopped for material or appraisal is no subject."""
    complaint = apps.get_model("complaints.Complaint")
    found = []
    for c in complaint.objects.filter(status__in=["received", "accepted"], pause="").select_related("section"):
        if c.status == "received":
            found.append(Subject(KIND.COMPLAINT_ACCEPT, "complaints.complaint", str(c.pk), c.received_at,
                                 c.accept_due, str(_("R36: complaint %(id)s on %(section)s must be accepted or "
                                                     "rejected by %(due)s.") % {"id": c.public_id,
                                                                               "section": c.section.title,
                                                                               "due": _local(c.accept_due)}),
                                 c.section))
        else:
            found.append(Subject(KIND.COMPLAINT_DECISION, "complaints.complaint", str(c.pk), c.accepted_at,
                                 c.decision_due, str(_("R36: complaint %(id)s on %(section)s must be decided by "
                                                       "%(due)s.") % {"id": c.public_id,
                                                                     "section": c.section.title,
                                                                     "due": _local(c.decision_due)}),
                                 c.section))
    return found


def open_subjects(*, now: datetime) -> list[Subject]:
    return _objections() + _publicity() + _contracts() + _refunds(now) + _follow_ups() + _complaints()


def levels_due(subject: Subject, now: datetime) -> list[str]:
    overdue = getattr(subject, "overdue", None)
    is_overdue = overdue if overdue is not None else now >= subject.due_at
    levels = []
    if now >= subject.starts_at:
        levels.append(L.REMINDER)
    if is_overdue or now >= subject.due_at - warning_before():
        levels.append(L.WARNING)
    if is_overdue:
        levels.append(L.OVERDUE)
    return levels


def _raise(subject: Subject, level: str, now: datetime) -> DeadlineAlert | None:
    try:
        with transaction.atomic():
            alert = DeadlineAlert.objects.create(
                kind=subject.kind, level=level, subject_type=subject.subject_type, subject_id=subject.subject_id,
                section=subject.section, organization=subject.organization, message=subject.message[:500],
                due_at=subject.due_at, raised_at=now)
    except IntegrityError:
        return None  # raised already (by another worker): one row per subject and level
    ledger_append(action=f"supervision.{level}", actor="system", obj=subject.section or (subject.subject_type,
                                                                                         subject.subject_id),
                  now=now, data={"alert": alert.public_id, "kind": subject.kind, "subject": subject.subject_id,
                                 "due_at": subject.due_at.isoformat()})
    if subject.organization is not None:
        Notification.objects.create(organization=subject.organization, section=subject.section, created_at=now,
                                    subject=f"{DeadlineAlert.Level(level).label}: {DeadlineAlert.Kind(subject.kind).label}",
                                    body=subject.message)
    return alert


def sweep_alerts(*, now: datetime | None = None) -> int:
    """Raise the levels that are due and resolve the alerts of finished steps. Idempotent."""
    now = now or timezone.now()
    subjects = open_subjects(now=now)
    raised = 0
    for subject in subjects:
        for level in levels_due(subject, now):
            raised += _raise(subject, level, now) is not None
    still_open = {s.ref for s in subjects}
    for alert in DeadlineAlert.objects.filter(resolved_at__isnull=True):
        if (alert.kind, alert.subject_type, alert.subject_id) not in still_open:
            DeadlineAlert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now)
    return raised


def sweep_disqualify_barred(*, now: datetime | None = None) -> int:
    """R31: a bar found after the opening but before evaluation still disqualifies the bid."""
    from trading.credit.services.blacklist import bids_disqualify_barred

    now = now or timezone.now()
    done = 0
    for section in Section.objects.filter(status__in=[Section.Status.OPENING, Section.Status.OPENED]):
        done += len(bids_disqualify_barred(section=section, now=now))
    return done


# --- the dashboard -------------------------------------------------------------------------------


def require_supervisor(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only a supervisor can do this."))


SEVERITY = {L.OVERDUE: 0, L.WARNING: 1, L.REMINDER: 2}


def alerts_open() -> list[DeadlineAlert]:
    """The highest level per open subject, the most severe first."""
    best: dict[tuple, DeadlineAlert] = {}
    for alert in DeadlineAlert.objects.filter(resolved_at__isnull=True).select_related("section", "organization"):
        ref = (alert.kind, alert.subject_type, alert.subject_id)
        if ref not in best or SEVERITY[alert.level] < SEVERITY[best[ref].level]:
            best[ref] = alert
    return sorted(best.values(), key=lambda a: (SEVERITY[a.level], a.due_at))


def alert_for(*, user, alert_id: str) -> DeadlineAlert:
    require_supervisor(user)
    alert = DeadlineAlert.objects.select_related("section__project", "organization").filter(public_id=alert_id).first()
    if alert is None:
        raise NotFound(_("No such alert."))
    return alert


@transaction.atomic
def alert_acknowledge(*, user, alert_id: str, now: datetime | None = None) -> DeadlineAlert:
    now = now or timezone.now()
    alert = alert_for(user=user, alert_id=alert_id)
    alert = DeadlineAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user, now
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        ledger_append(action="supervision.acknowledged", actor=user, obj=(alert.subject_type, alert.subject_id),
                      now=now, data={"alert": alert.public_id, "level": alert.level})
    return alert


def section_phases(sections: list[Section]) -> dict[int, str]:
    """The step within its status that each section is at: the opening room's phase, or the evaluation's."""
    from bidding.models import OpeningRoom

    rooms = dict(OpeningRoom.objects.filter(section__in=sections).values_list("section_id", "phase"))
    labels = dict(OpeningRoom.Phase.choices)
    evaluation = apps.get_model("experts.Evaluation")
    evaluations = {e.section_id: e.get_status_display() for e in evaluation.objects.filter(section__in=sections)}
    phases = {}
    for section in sections:
        if section.status == Section.Status.OPENING and section.pk in rooms:
            phases[section.pk] = labels.get(rooms[section.pk], "")
        elif section.status == Section.Status.EVALUATING:
            phases[section.pk] = evaluations.get(section.pk, "")
    return phases


def rating_summary() -> dict:
    by_stage = {row["stage"]: row for row in ServiceRating.objects.values("stage").annotate(
        average=Avg("score"), n=Count("id"))}
    stages = [{"stage": label, "average": by_stage.get(value, {}).get("average"),
               "n": by_stage.get(value, {}).get("n", 0)} for value, label in ServiceRating.Stage.choices]
    return {"stages": stages,
            "follow_ups": RatingFollowUp.objects.filter(status=RatingFollowUp.Status.OPEN)
            .select_related("rating__section", "rating__organization"),
            "recent": ServiceRating.objects.select_related("section", "organization")[:10]}
