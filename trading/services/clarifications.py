"""Questions, clarifications (澄清) and objections to the tender documents (异议): R03 and R04."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import (
    Clarification,
    DocumentObjection,
    Notification,
    Question,
    Registration,
    Section,
    User,
)
from trading.services import lifecycle
from trading.services.errors import DomainError, PermissionDenied, SectionError
from trading.services.projects import _require_agency
from trading.services.registrations import require_registered
from trading.services.text import clean_text


def _notify_registered(section: Section, *, subject: str, body: str, now: datetime) -> int:
    """Every registered bidder gets the same words and the same time, so nothing in it counts the others (R14)."""
    org_ids = list(Registration.objects.filter(section=section).values_list("organization_id", flat=True))
    Notification.objects.bulk_create(
        [Notification(organization_id=org_id, section=section, subject=subject, body=body, created_at=now)
         for org_id in org_ids]
    )
    return len(org_ids)


@transaction.atomic
def question_ask(*, user: User, section_id: int, text: str, now: datetime | None = None) -> Question:
    now = now or timezone.now()
    section = Section.objects.select_for_update().get(pk=section_id)
    require_registered(user=user, section=section)
    if not section.accepts_bids(now):
        raise SectionError(_("Questions are closed for this section."), code="closed")
    question = Question.objects.create(
        section=section, organization=user.organization, asked_at=now,
        text=clean_text(text, field="text", label=_("Question"), max_length=5000),
    )
    ledger_append(action="question.asked", actor=user, obj=section, now=now, data={"question": question.public_id})
    return question


@transaction.atomic
def clarification_publish(*, user: User, section_id: int, text: str, affects_preparation: bool = True,
                          answers: list[str] | None = None, now: datetime | None = None) -> Clarification:
    """Publish a clarification; R03 moves the deadline out so that 15 days remain when it matters."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().select_related("project").get(pk=section_id)
    _require_agency(user, section.project.agency)
    if not section.accepts_bids(now):
        raise SectionError(_("Clarifications are possible only while the section is open for bids."),
                           code="closed")
    text = clean_text(text, field="text", label=_("Clarification"), max_length=50000)
    before = section.bid_deadline
    minimum = timedelta(days=settings.RULE_CLARIFICATION_DAYS)
    if affects_preparation and before - now < minimum:
        section.bid_deadline = now + minimum
        if section.documents_until and section.documents_until < section.bid_deadline:
            section.documents_until = section.bid_deadline
        section.save(update_fields=["bid_deadline", "documents_until"])
        lifecycle.deadline_moved(section, now=now)
    number = (section.clarifications.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    clarification = Clarification.objects.create(
        section=section, number=number, text=text, affects_preparation=affects_preparation,
        published_at=now, deadline_before=before, deadline_after=section.bid_deadline,
    )
    if answers:
        Question.objects.filter(section=section, public_id__in=answers, clarification=None).update(
            clarification=clarification)
    subject = str(_("Clarification No. %(n)d for %(title)s") % {"n": number, "title": section.title})
    if clarification.moved_deadline:
        subject += str(_(" — the bid deadline moved to %(deadline)s")
                       % {"deadline": timezone.localtime(section.bid_deadline).strftime("%Y-%m-%d %H:%M")})
    notified = _notify_registered(section, subject=subject, body=text, now=now)
    ledger_append(action="clarification.published", actor=user, obj=section, now=now,
                  data={"number": number, "affects_preparation": affects_preparation,
                        "deadline_before": before.isoformat(),
                        "deadline_after": section.bid_deadline.isoformat(), "notified": notified})
    return clarification


def objection_cutoff(section: Section) -> datetime:
    return section.bid_deadline - timedelta(days=settings.RULE_OBJECTION_CUTOFF_DAYS)


@transaction.atomic
def objection_submit(*, user: User, section_id: int, text: str, now: datetime | None = None
                     ) -> DocumentObjection:
    """R04: objections to the documents are accepted until 10 days before the deadline."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().get(pk=section_id)
    require_registered(user=user, section=section)
    if section.status != Section.Status.PUBLISHED:
        raise SectionError(_("Objections to the documents are closed for this section."), code="closed")
    if now > objection_cutoff(section):
        raise SectionError(
            _("R04: objections to the tender documents close %(days)d days before the bid deadline.")
            % {"days": settings.RULE_OBJECTION_CUTOFF_DAYS}, code="objection_late")
    objection = DocumentObjection.objects.create(
        section=section, organization=user.organization, submitted_at=now,
        answer_due=now + timedelta(days=settings.RULE_OBJECTION_ANSWER_DAYS),
        text=clean_text(text, field="text", label=_("Objection"), max_length=20000),
    )
    ledger_append(action="objection.submitted", actor=user, obj=section, now=now,
                  data={"objection": objection.public_id, "answer_due": objection.answer_due.isoformat()})
    return objection


@transaction.atomic
def objection_answer(*, user: User, objection_id: int, answer: str, now: datetime | None = None
                     ) -> DocumentObjection:
    """Answer an objection. Bidding was paused while it waited, so the deadline moves by the pause."""
    now = now or timezone.now()
    objection = DocumentObjection.objects.select_for_update().select_related("section__project").get(
        pk=objection_id)
    section = Section.objects.select_for_update().get(pk=objection.section_id)
    _require_agency(user, objection.section.project.agency)
    if objection.status == DocumentObjection.Status.ANSWERED:
        raise SectionError(_("This objection has already been answered."), code="answered")
    objection.answer = clean_text(answer, field="answer", label=_("Answer"), max_length=20000)
    objection.answered_at, objection.status = now, DocumentObjection.Status.ANSWERED
    objection.save(update_fields=["answer", "answered_at", "status"])
    pause = now - objection.submitted_at
    before = section.bid_deadline
    if section.status == Section.Status.PUBLISHED and pause > timedelta(0):
        section.bid_deadline = before + pause
        if section.documents_until and section.documents_until < section.bid_deadline:
            section.documents_until = section.bid_deadline
        section.save(update_fields=["bid_deadline", "documents_until"])
        lifecycle.deadline_moved(section, now=now)
        _notify_registered(section, subject=str(_("An objection was answered; the bid deadline moved.")),
                           body=objection.answer, now=now)
    ledger_append(action="objection.answered", actor=user, obj=section, now=now,
                  data={"objection": objection.public_id, "late": now > objection.answer_due,
                        "deadline_before": before.isoformat(), "deadline_after": section.bid_deadline.isoformat()})
    return objection


def objection_visible_to(user: User, objection: DocumentObjection) -> bool:
    if user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return True
    if user.has_role(User.Role.AGENCY):
        return objection.section.project.agency_id == user.organization_id
    return user.has_role(User.Role.BIDDER) and objection.organization_id == user.organization_id


def require_answerable(user: User, objection: DocumentObjection) -> None:
    if not user.has_role(User.Role.AGENCY) or objection.section.project.agency_id != user.organization_id:
        raise PermissionDenied(_("Only the section's agency can answer this objection."))
    if objection.status != DocumentObjection.Status.PENDING:
        raise DomainError(_("This objection has already been answered."))
