"""标段状态: the section state machine (DESIGN.md §4). Every transition is locked, checked and logged."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading import signals
from trading.models import Project, Section, User
from trading.services.errors import PermissionDenied, SectionError
from trading.services.projects import _check_deposit_cap, _require_agency

S = Section.Status
ALLOWED = {
    S.DRAFT: {S.PUBLISHED, S.CANCELLED},
    S.PUBLISHED: {S.BIDDING_CLOSED, S.CANCELLED},
    S.BIDDING_CLOSED: {S.OPENING, S.CANCELLED},
    S.OPENING: {S.FAILED, S.OPENED, S.CANCELLED},
    S.OPENED: {S.EVALUATING, S.FAILED, S.CANCELLED},
    S.EVALUATING: {S.PUBLICIZING, S.FAILED, S.CANCELLED},
    S.PUBLICIZING: {S.AWARDED, S.EVALUATING, S.CANCELLED},
    S.AWARDED: {S.CONTRACTED},
    S.CONTRACTED: {S.ARCHIVED},
    S.FAILED: {S.ARCHIVED},
    S.CANCELLED: {S.ARCHIVED},
    S.ARCHIVED: set(),
}


def deadline_moved(section: Section, *, now: datetime) -> None:
    """Tell other apps (opening keys) that a published section's deadline moved out."""
    signals.section_deadline_moved.send(sender=Section, section=section, now=now)


def _move(section: Section, to: str, *, actor, now: datetime, data: dict | None = None) -> None:
    if to not in ALLOWED[section.status]:
        raise SectionError(
            _("A section cannot go from %(from)s to %(to)s.")
            % {"from": section.get_status_display(), "to": S(to).label},
            code="bad_transition",
        )
    signals.section_transition_guard.send(sender=Section, section=section, to=to, now=now)
    previous = section.status
    section.status, section.status_changed_at = to, now
    section.save(update_fields=["status", "status_changed_at"])
    ledger_append(action=f"section.{to}", actor=actor, obj=section, now=now,
                  data={"from": previous, "to": to, **(data or {})})


@transaction.atomic
def section_transition(*, section_id: int, to: str, actor=None, now: datetime | None = None,
                       data: dict | None = None) -> Section:
    """Move a section to ``to``; a transition that has already happened is a no-op."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().get(pk=section_id)
    if section.status == to:
        return section
    _move(section, to, actor=actor, now=now, data=data)
    return section


def publication_problems(section: Section, *, now: datetime) -> list:
    """Everything that stops a section from being published, as messages for the agency."""
    problems = []
    documents_from = section.documents_from or now
    if section.bid_deadline <= now:
        problems.append(_("The bid deadline is in the past."))
    if documents_from < now - timedelta(minutes=5):
        problems.append(_("The tender documents cannot become available in the past."))
    project = section.project
    if project.must_tender or project.category == Project.Category.GOVERNMENT:
        minimum = timedelta(days=settings.RULE_MIN_BIDDING_DAYS)
        if section.bid_deadline - documents_from < minimum:
            problems.append(
                _("R01: at least %(days)d days must run from the first issue of the tender documents "
                  "to the bid deadline.") % {"days": settings.RULE_MIN_BIDDING_DAYS})
    minimum_docs = timedelta(days=settings.RULE_MIN_DOCUMENT_DAYS)
    if section.documents_until is None or section.documents_until - documents_from < minimum_docs:
        problems.append(_("R02: the tender documents must be available for at least %(days)d days.")
                        % {"days": settings.RULE_MIN_DOCUMENT_DAYS})
    try:
        _check_deposit_cap(section)
    except SectionError as exc:
        problems.append(exc.message)
    if not section.documents.exists():
        problems.append(_("Upload the tender documents before publishing."))
    if not section.announcement.strip():
        problems.append(_("Write the tender announcement before publishing."))
    return problems


@transaction.atomic
def section_publish(*, user: User, section_id: int, now: datetime | None = None) -> Section:
    """招标公告: publish the announcement and documents; refused with every reason when a rule fails."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().select_related("project").get(pk=section_id)
    _require_agency(user, section.project.agency)
    if section.status == S.PUBLISHED:
        return section
    if section.status != S.DRAFT:
        raise SectionError(_("Only a draft section can be published."), code="bad_transition")
    problems = publication_problems(section, now=now)
    if problems:
        raise SectionError(" ".join(str(p) for p in problems), code="publication_refused")
    section.documents_from = section.documents_from or now
    section.published_at = now
    section.save(update_fields=["documents_from", "published_at"])
    _move(section, S.PUBLISHED, actor=user, now=now,
          data={"deadline": section.bid_deadline.isoformat(),
                "documents": list(section.documents.values_list("sha256", flat=True))})
    signals.section_published.send(sender=Section, section=section, now=now)
    return section


@transaction.atomic
def section_close_bidding(*, section_id: int, now: datetime | None = None) -> Section:
    """At the deadline: published → bidding_closed → opening in one transaction (R05, R06)."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().get(pk=section_id)
    if section.status != S.PUBLISHED:
        return section  # already done by another worker
    if now < section.bid_deadline:
        raise SectionError(_("The bid deadline has not been reached."), code="deadline_not_reached")
    if section.document_objections.filter(status="pending").exists():
        raise SectionError(_("R04: bidding is paused until the pending objection is answered."),
                           code="objection_pending")
    _move(section, S.BIDDING_CLOSED, actor="system", now=now)
    _move(section, S.OPENING, actor="system", now=now)
    signals.section_opening.send(sender=Section, section=section, now=now)
    section.refresh_from_db()
    return section


def sections_due_for_closing(*, now: datetime):
    return Section.objects.filter(status=S.PUBLISHED, bid_deadline__lte=now).values_list("pk", flat=True)


def sweep_close_bidding(*, now: datetime | None = None) -> int:
    """The periodic sweep: close every section whose deadline has passed. Safe to run anywhere, any time."""
    now = now or timezone.now()
    closed = 0
    for section_id in list(sections_due_for_closing(now=now)):
        try:
            section = section_close_bidding(section_id=section_id, now=now)
        except SectionError:
            continue
        closed += section.status != S.PUBLISHED
    return closed


def require_canceller(user: User, section: Section) -> None:
    """The section's agency, a supervisor or an administrator may cancel it; the check runs before the body is read."""
    if not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        _require_agency(user, section.project.agency)


@transaction.atomic
def section_cancel(*, user: User, section_id: int, reason: str, now: datetime | None = None) -> Section:
    now = now or timezone.now()
    section = Section.objects.select_for_update().select_related("project").get(pk=section_id)
    require_canceller(user, section)
    if section.status == S.CANCELLED:
        return section
    if S.CANCELLED not in ALLOWED[section.status]:
        raise PermissionDenied(_("An awarded section can no longer be cancelled."), code="bad_transition")
    reason = (reason or "").strip()
    if not reason:
        raise SectionError(_("Give the reason for the cancellation."), field="reason")
    section.cancel_reason = reason[:2000]
    section.save(update_fields=["cancel_reason"])
    _move(section, S.CANCELLED, actor=user, now=now, data={"reason": section.cancel_reason})
    return section
