"""Reads for the supervision console (电子监察), with the supervisor check inside."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.models import LedgerEntry
from trading import selectors, signals
from trading.models import DocumentObjection, Organization, Section, User
from trading.supervision.models import BreakGlass, DeadlineAlert, SupervisionAlert
from trading.supervision.services.alerts import SEVERITY, alerts_open, require_supervisor

L = DeadlineAlert.Level


@dataclass(frozen=True)
class AlertRow:
    """One line of the console's alert list, read from either alert table."""

    level: str
    level_label: str
    kind_label: str
    message: str
    section: Section | None
    organization: Organization | None
    due_at: datetime | None
    raised_at: datetime
    acknowledged_at: datetime | None = None
    deadline_alert_id: str | None = None  # only deadline alerts have a page and can be acknowledged


def _deadline_row(alert: DeadlineAlert) -> AlertRow:
    return AlertRow(level=alert.level, level_label=alert.get_level_display(), kind_label=alert.get_kind_display(),
                    message=alert.message, section=alert.section, organization=alert.organization,
                    due_at=alert.due_at, raised_at=alert.raised_at, acknowledged_at=alert.acknowledged_at,
                    deadline_alert_id=alert.public_id)


def _refund_row(alert: SupervisionAlert) -> AlertRow:
    # The bank refusing a refund needs action before it is late: a warning; a late refund is an overdue report.
    level = L.OVERDUE if alert.kind == SupervisionAlert.Kind.REFUND_OVERDUE else L.WARNING
    return AlertRow(level=level, level_label=L(level).label, kind_label=alert.get_kind_display(),
                    message=alert.message, section=alert.section, organization=None,
                    due_at=None, raised_at=alert.raised_at)


def alerts_for_console(*, user) -> list[AlertRow]:
    """Every open alert, deadline escalations and the bank's refund alerts alike, the most severe first; a refund
    alert of a section before its opening waits for the opening or this supervisor's break-glass (R14).

    A late refund is listed once: its deadline alert (deposit_refund) already reports it.
    """
    require_supervisor(user)
    granted = break_glass_sections(user=user, now=timezone.now())

    def sealed(section: Section | None) -> bool:  # a refund before the opening tells of a registrant (R14)
        return section is not None and section.status in BEFORE_OPENING and section.pk not in granted

    deadline = [a for a in alerts_open()
                if not (a.kind == DeadlineAlert.Kind.DEPOSIT_REFUND and sealed(a.section))]
    refunds_reported = {a.subject_id for a in deadline if a.kind == DeadlineAlert.Kind.DEPOSIT_REFUND
                        and a.level == L.OVERDUE}
    rows = [_deadline_row(a) for a in deadline]
    for alert in SupervisionAlert.objects.filter(resolved_at__isnull=True).select_related("section"):
        if alert.kind == SupervisionAlert.Kind.REFUND_OVERDUE and str(alert.instruction_id) in refunds_reported:
            continue
        if sealed(alert.section):
            continue
        rows.append(_refund_row(alert))
    return sorted(rows, key=lambda r: (SEVERITY[r.level], r.due_at or r.raised_at))


def sections_for_console(*, user, status: str = "", now: datetime | None = None) -> list[Section]:
    """Every section, or those in one status, with the number of sign-ups; before the opening the number is
    ``None`` (R14 holds for supervisors too) unless this supervisor's break-glass is active."""
    require_supervisor(user)
    now = now or timezone.now()
    granted = break_glass_sections(user=user, now=now)
    sections = list(selectors.sections_for_supervisor(status=status).select_related("project__agency", "archive").annotate(
        registration_count=Count("registrations", distinct=True)))
    for section in sections:
        if section.status in BEFORE_OPENING and section.pk not in granted:
            section.registration_count = None
    return sections


def section_status_tabs(*, user) -> list[tuple[str, str, int]]:
    require_supervisor(user)
    counts = dict(selectors.sections_for_supervisor().order_by().values_list("status").annotate(n=Count("id")))
    return [(value, label, counts.get(value, 0)) for value, label in Section.Status.choices]


def objections_pending(*, user) -> QuerySet:
    """Objections to the tender documents still unanswered, the one due first at the top."""
    require_supervisor(user)
    return (DocumentObjection.objects.filter(status=DocumentObjection.Status.PENDING)
            .select_related("section__project__agency").order_by("answer_due"))


# --- R14 / R25 and the break-glass (破窗查看) ------------------------------------------------------------

BEFORE_OPENING = (Section.Status.DRAFT, Section.Status.PUBLISHED, Section.Status.BIDDING_CLOSED)
# Ledger actions that name (or count) a registered bidder of the section they are about.
REGISTRANT_ACTIONS = ("registration.", "bid.", "deposit.", "collusion.", "question.asked", "objection.submitted",
                      "rating.submitted")
MASK = "＊＊＊"


def break_glass_active(*, user, section: Section, now: datetime) -> bool:
    """Whether this user holds a break-glass for this section that has not expired."""
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.SUPERVISOR):
        return False
    return BreakGlass.objects.filter(user=user, section=section, opened_at__lte=now, expires_at__gt=now).exists()


def break_glass_sections(*, user, now: datetime) -> set[int]:
    """The ids of the sections this user holds an active break-glass for."""
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.SUPERVISOR):
        return set()
    return set(BreakGlass.objects.filter(user=user, opened_at__lte=now, expires_at__gt=now)
               .values_list("section_id", flat=True))


def registrants_sealed(*, user, section: Section, now: datetime | None = None) -> bool:
    """R14: until the opening nobody, supervisors and admins included, learns who signed up or how many, except a
    supervisor through an active break-glass for this section."""
    if section.status not in BEFORE_OPENING:
        return False
    return not break_glass_active(user=user, section=section, now=now or timezone.now())


def break_glasses_of(*, user, section: Section) -> QuerySet:
    """Every break-glass on a section, for the supervisors."""
    require_supervisor(user)
    return BreakGlass.objects.filter(section=section).select_related("user").order_by("-opened_at")


def break_glass_record_lines(*, section: Section) -> list[str]:
    """The opening record's lines (in Chinese, as the record) about the break-glass views of a section."""
    local = timezone.localtime
    return [f"{g.user.username} 于 {local(g.opened_at):%Y-%m-%d %H:%M:%S} 破窗查看，有效至 "
            f"{local(g.expires_at):%Y-%m-%d %H:%M:%S}；理由：{g.reason}"
            for g in BreakGlass.objects.filter(section=section).select_related("user").order_by("opened_at")]


@dataclass(frozen=True)
class LedgerRow:
    """One ledger entry as the console shows it; the stored entry and its hash are never changed."""

    seq: int
    at: datetime
    actor: str
    ip: str
    action: str
    object_type: str
    object_id: str
    hash: str
    masked: bool = False


def ledger_for_console(*, user, now: datetime | None = None, limit: int = 50) -> list[LedgerRow]:
    """The latest ledger entries. An entry that would name or count a registrant of a section before its opening
    shows a masked actor, source IP and object (R14), unless this supervisor's break-glass for it is active."""
    require_supervisor(user)
    now = now or timezone.now()
    entries = list(LedgerEntry.objects.order_by("-seq")[:limit])
    section_ids = {e.object_id for e in entries if e.object_type == "trading.section"}
    granted = break_glass_sections(user=user, now=now)
    sealed = set(Section.objects.filter(public_id__in=section_ids, status__in=BEFORE_OPENING)
                 .exclude(pk__in=granted).values_list("public_id", flat=True))
    bidders = set(User.objects.filter(username__in={e.actor for e in entries}, role=User.Role.BIDDER)
                  .values_list("username", flat=True))
    sealed_actors = set().union(*(answer or set() for _receiver, answer in
                                  signals.ledger_sealed_actors.send(sender=None, user=user, now=now)))
    rows = []
    for e in entries:
        identifying = e.actor in bidders or e.action.startswith(REGISTRANT_ACTIONS)
        if e.object_type == "trading.section" and e.object_id in sealed and identifying:
            rows.append(LedgerRow(seq=e.seq, at=e.at, actor=str(_("hidden until the opening (R14)")), ip="",
                                  action=e.action, object_type="", object_id=MASK, hash=e.hash, masked=True))
        elif e.actor in sealed_actors:
            rows.append(LedgerRow(seq=e.seq, at=e.at, actor=str(_("hidden until the result (R25)")), ip="",
                                  action=e.action, object_type=e.object_type, object_id=e.object_id, hash=e.hash,
                                  masked=True))
        else:
            rows.append(LedgerRow(seq=e.seq, at=e.at, actor=e.actor, ip=e.ip, action=e.action,
                                  object_type=e.object_type, object_id=e.object_id, hash=e.hash))
    return rows
