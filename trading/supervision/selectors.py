"""Reads for the supervision console (电子监察), with the supervisor check inside."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

from trading import selectors
from trading.models import DocumentObjection, Organization, Section
from trading.supervision.models import DeadlineAlert, SupervisionAlert
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
    """Every open alert, deadline escalations and the bank's refund alerts alike, the most severe first.

    A late refund is listed once: its deadline alert (deposit_refund) already reports it.
    """
    require_supervisor(user)
    deadline = alerts_open()
    refunds_reported = {a.subject_id for a in deadline if a.kind == DeadlineAlert.Kind.DEPOSIT_REFUND
                        and a.level == L.OVERDUE}
    rows = [_deadline_row(a) for a in deadline]
    for alert in SupervisionAlert.objects.filter(resolved_at__isnull=True).select_related("section"):
        if alert.kind == SupervisionAlert.Kind.REFUND_OVERDUE and str(alert.instruction_id) in refunds_reported:
            continue
        rows.append(_refund_row(alert))
    return sorted(rows, key=lambda r: (SEVERITY[r.level], r.due_at or r.raised_at))


def sections_for_console(*, user, status: str = "") -> QuerySet:
    """Every section, or those in one status, with the number of sign-ups (R14 hides it from the agency only)."""
    require_supervisor(user)
    return selectors.sections_for_supervisor(status=status).select_related("project__agency").annotate(
        registration_count=Count("registrations", distinct=True))


def section_status_tabs(*, user) -> list[tuple[str, str, int]]:
    require_supervisor(user)
    counts = dict(selectors.sections_for_supervisor().order_by().values_list("status").annotate(n=Count("id")))
    return [(value, label, counts.get(value, 0)) for value, label in Section.Status.choices]


def objections_pending(*, user) -> QuerySet:
    """Objections to the tender documents still unanswered, the one due first at the top."""
    require_supervisor(user)
    return (DocumentObjection.objects.filter(status=DocumentObjection.Status.PENDING)
            .select_related("section__project__agency").order_by("answer_due"))
