"""投诉处理: filing and handling complaints (R35–R37).

Sources: 《招标投标法实施条例》 art. 60 (R35: within 10 days, objection first for art. 22/44/54 matters, the
answering time not counted), art. 61 (R36: accept within 3 working days, decide within 30 working days,
testing/appraisal/expert review not counted) and art. 62 (R37: read the files, order a suspension).
"""

from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.complaints.models import Complaint, ComplaintEvidence, SectionSuspension
from trading.models import DocumentObjection, Notification, Section, User
from trading.services.errors import DomainError, PermissionDenied, SectionError
from trading.services.projects import _clean_file_name, _store_stream
from trading.services.text import clean_text
from trading.workingdays import end_of_day, local_date, working_days_between, working_deadline

C = Complaint.Status
M = Complaint.Matter


class ComplaintError(DomainError):
    pass


def complaint_window_days() -> int:
    return settings.RULE_COMPLAINT_DAYS


# --- R35: who may complain, and until when -------------------------------------------------------


def _prior_objection(*, matter: str, section: Section, organization, objection_id: str):
    """The complainant's own objection on this matter, as (submitted_at, answered_at or due); ``None`` if none."""
    if matter == M.DOCUMENTS:
        rows = DocumentObjection.objects.filter(section=section, organization=organization,
                                                public_id=objection_id)
        return [(o.submitted_at, o.answered_at or o.answer_due, o.answered_at is not None)
                for o in rows]
    if matter == M.OPENING:
        rows = apps.get_model("bidding", "OpeningObjection").objects.filter(room__section=section, organization=organization,
                                               public_id=objection_id)
        return [(o.raised_at, o.answered_at or o.raised_at, o.answered_at is not None) for o in rows]
    if matter == M.CANDIDATES:
        rows = apps.get_model("experts", "PublicityObjection").objects.filter(publicity__section=section, organization=organization,
                                                 public_id=objection_id)
        return [(o.submitted_at, o.answered_at or o.answer_due, o.answered_at is not None) for o in rows]
    return []


def complaint_window(*, matter: str, section: Section, organization, known_at: datetime, objection_id: str = "",
                     now: datetime) -> datetime:
    """The end of the 10 days (R35, art. 60): from the day the party knew, plus the time the tenderer took to
    answer its objection; refused when the matter needs an objection first and there is none, or it is still
    awaiting its answer within the tenderer's time."""
    # The day of knowing is not counted (期间开始之日不计算在期间内): the window ends with the 10th day after it.
    window = end_of_day(local_date(known_at) + timedelta(days=complaint_window_days()))
    if matter == M.OTHER:
        return window
    found = _prior_objection(matter=matter, section=section, organization=organization,
                             objection_id=(objection_id or "").strip())
    if not found:
        raise ComplaintError(_("R35: on this matter an objection to the tenderer comes first; give the number "
                               "of your objection."), field="objection_id", code="objection_first")
    submitted, answered_or_due, answered = found[0]
    if not answered and now < answered_or_due:
        raise ComplaintError(_("R35: your objection is still awaiting the tenderer's answer."),
                             field="objection_id", code="objection_pending")
    return window + (answered_or_due - submitted)


def _notify(complaint: Complaint, *, subject, body: str, now: datetime) -> None:
    """The parties: the complainant and the agency of the section."""
    for organization in (complaint.complainant, complaint.section.project.agency):
        Notification.objects.create(organization=organization, section=complaint.section, created_at=now,
                                    subject=str(subject)[:200], body=body)


def _evidence_add(complaint: Complaint, *, user: User, files, now: datetime) -> list[dict]:
    if complaint.evidence.count() + len(files) > settings.COMPLAINT_EVIDENCE_MAX_FILES:
        raise ComplaintError(_("At most %(n)d files of evidence can be attached.")
                             % {"n": settings.COMPLAINT_EVIDENCE_MAX_FILES}, field="evidence", code="too_many")
    stored = []
    for name, chunks in files:
        file_name = _clean_file_name(name)
        path, size, sha = _store_stream(chunks, prefix=f"complaints/{complaint.public_id}",
                                        max_bytes=settings.COMPLAINT_EVIDENCE_MAX_BYTES)
        ComplaintEvidence.objects.create(complaint=complaint, name=file_name, path=path, sha256=sha, size=size,
                                         uploaded_at=now, uploaded_by=user)
        stored.append({"name": file_name, "sha256": sha, "size": size})
    return stored


@transaction.atomic
def complaint_file(*, user: User, section_id: int, matter: str, request: str, facts: str, known_at: datetime,
                   evidence, objection_id: str = "", now: datetime | None = None) -> Complaint:
    """投诉: file a complaint with a clear request and evidence (R35); the 3-working-day clock starts (R36)."""
    now = now or timezone.now()
    if user.organization_id is None or not user.has_role(User.Role.BIDDER):
        raise PermissionDenied(_("Only a bidder or another interested party can complain."))
    section = Section.objects.select_related("project__agency").get(pk=section_id)
    if matter not in M.values:
        raise ComplaintError(_("Choose what the complaint is about."), field="matter")
    request = clean_text(request, field="request", label=_("Request"), max_length=5000)
    facts = clean_text(facts, field="facts", label=_("Facts and grounds"), max_length=20000)
    if known_at is None or known_at > now:
        raise ComplaintError(_("The day you knew cannot be in the future."), field="known_at")
    if not evidence:
        raise ComplaintError(_("Attach the evidence that supports the complaint."), field="evidence",
                             code="no_evidence")
    window = complaint_window(matter=matter, section=section, organization=user.organization, known_at=known_at,
                              objection_id=objection_id, now=now)
    if now >= window:
        raise ComplaintError(_("R35: a complaint must be made within %(days)d days of when you knew; the time "
                               "ended %(end)s.") % {"days": complaint_window_days(),
                                                    "end": timezone.localtime(window).strftime("%Y-%m-%d %H:%M")},
                             field="known_at", code="too_late")
    complaint = Complaint.objects.create(
        section=section, complainant=user.organization, filed_by=user, matter=matter,
        objection_id=(objection_id or "").strip()[:24], request=request, facts=facts, known_at=known_at,
        received_at=now, window_ends=window, accept_due=working_deadline(now, settings.RULE_COMPLAINT_ACCEPT_DAYS))
    files = _evidence_add(complaint, user=user, files=evidence, now=now)
    ledger_append(action="complaint.filed", actor=user, obj=complaint, now=now,
                  data={"section": section.public_id, "matter": matter, "evidence": files,
                        "accept_due": complaint.accept_due.isoformat()})
    _notify(complaint, subject=_("Complaint %(id)s received") % {"id": complaint.public_id},
            body=str(_("The supervisory department decides whether to accept it by %(due)s."))
            % {"due": timezone.localtime(complaint.accept_due).strftime("%Y-%m-%d %H:%M")}, now=now)
    return complaint


# --- R36: the supervisor's steps -----------------------------------------------------------------


def _require_supervisor(user: User) -> None:
    if not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only the supervisory department handles complaints."))


def _locked(complaint_id: int) -> Complaint:
    return Complaint.objects.select_for_update().select_related("section__project__agency", "complainant").get(
        pk=complaint_id)


def _step(complaint: Complaint, action: str, *, user, now: datetime, subject, body: str = "", data=None) -> None:
    ledger_append(action=f"complaint.{action}", actor=user, obj=complaint, now=now, data=data or {})
    _notify(complaint, subject=subject, body=body, now=now)


@transaction.atomic
def complaint_accept(*, user: User, complaint_id: int, now: datetime | None = None) -> Complaint:
    """受理: accept; the 30-working-day clock to decide starts (R36)."""
    now = now or timezone.now()
    _require_supervisor(user)
    complaint = _locked(complaint_id)
    if complaint.status == C.ACCEPTED:
        return complaint
    if complaint.status != C.RECEIVED or complaint.pause:
        raise ComplaintError(_("Only a received complaint that is not waiting for material can be accepted."),
                             code="bad_state")
    complaint.status, complaint.accepted_at = C.ACCEPTED, now
    complaint.decision_due = working_deadline(now, settings.RULE_COMPLAINT_DECISION_DAYS)
    complaint.save(update_fields=["status", "accepted_at", "decision_due"])
    _step(complaint, "accepted", user=user, now=now, subject=_("Complaint %(id)s accepted") % {
        "id": complaint.public_id}, data={"decision_due": complaint.decision_due.isoformat()})
    return complaint


@transaction.atomic
def complaint_reject(*, user: User, complaint_id: int, reason: str, now: datetime | None = None) -> Complaint:
    """不予受理: reject with the reason (R36), e.g. invented facts or forged evidence."""
    now = now or timezone.now()
    _require_supervisor(user)
    reason = clean_text(reason, field="reason", label=_("Reason"), max_length=5000)
    complaint = _locked(complaint_id)
    if complaint.status == C.REJECTED:
        return complaint
    if complaint.status != C.RECEIVED:
        raise ComplaintError(_("Only a received complaint can be rejected."), code="bad_state")
    complaint.status, complaint.rejected_at, complaint.reject_reason = C.REJECTED, now, reason
    complaint.pause, complaint.paused_at = Complaint.Pause.NONE, None
    complaint.save(update_fields=["status", "rejected_at", "reject_reason", "pause", "paused_at"])
    _step(complaint, "rejected", user=user, now=now, body=reason, data={"reason": reason},
          subject=_("Complaint %(id)s not accepted") % {"id": complaint.public_id})
    return complaint


def _clock_field(complaint: Complaint) -> str:
    return "accept_due" if complaint.status == C.RECEIVED else "decision_due"


@transaction.atomic
def complaint_clock_stop(*, user: User, complaint_id: int, pause: str, note: str,
                         now: datetime | None = None) -> Complaint:
    """Stop the running clock: waiting for material, or testing/appraisal/expert review (R36, art. 61)."""
    now = now or timezone.now()
    _require_supervisor(user)
    if pause not in (Complaint.Pause.MATERIAL, Complaint.Pause.APPRAISAL):
        raise ComplaintError(_("Choose why the clock stops."), field="pause")
    note = clean_text(note, field="note", label=_("Note"), max_length=5000)
    complaint = _locked(complaint_id)
    if complaint.status not in (C.RECEIVED, C.ACCEPTED):
        raise ComplaintError(_("This complaint has no running clock."), code="bad_state")
    if complaint.pause:
        raise ComplaintError(_("The clock is already stopped."), code="paused")
    if pause == Complaint.Pause.APPRAISAL and complaint.status != C.ACCEPTED:
        raise ComplaintError(_("Testing or appraisal starts after the complaint is accepted."), code="bad_state")
    complaint.pause, complaint.paused_at, complaint.pause_note = pause, now, note
    complaint.save(update_fields=["pause", "paused_at", "pause_note"])
    subject = (_("Complaint %(id)s: material requested") if pause == Complaint.Pause.MATERIAL
               else _("Complaint %(id)s: clock stopped for testing or appraisal")) % {"id": complaint.public_id}
    _step(complaint, "clock_stopped", user=user, now=now, subject=subject, body=note,
          data={"pause": pause, "note": note})
    return complaint


def _resume(complaint: Complaint, *, now: datetime) -> dict:
    """The working days left when the clock stopped run again from the day it resumes."""
    field = _clock_field(complaint)
    due = getattr(complaint, field)
    left = working_days_between(local_date(complaint.paused_at), local_date(due - timedelta(microseconds=1)))
    new_due = working_deadline(now, left)
    setattr(complaint, field, new_due)
    complaint.pause, complaint.paused_at = Complaint.Pause.NONE, None
    complaint.save(update_fields=[field, "pause", "paused_at"])
    return {"clock": field, "due": new_due.isoformat(), "working_days_left": left}


@transaction.atomic
def complaint_clock_resume(*, user: User, complaint_id: int, now: datetime | None = None) -> Complaint:
    """Restart the clock after testing or appraisal."""
    now = now or timezone.now()
    _require_supervisor(user)
    complaint = _locked(complaint_id)
    if not complaint.pause:
        return complaint
    data = _resume(complaint, now=now)
    _step(complaint, "clock_resumed", user=user, now=now, data=data,
          subject=_("Complaint %(id)s: the clock runs again") % {"id": complaint.public_id})
    return complaint


@transaction.atomic
def complaint_material_supply(*, user: User, complaint_id: int, files, now: datetime | None = None) -> Complaint:
    """补正材料: the complainant supplies the material asked for; the clock runs again."""
    now = now or timezone.now()
    complaint = _locked(complaint_id)
    if user.organization_id != complaint.complainant_id or not user.has_role(User.Role.BIDDER):
        raise PermissionDenied(_("Only the complainant can supply material."))
    if complaint.pause != Complaint.Pause.MATERIAL:
        raise ComplaintError(_("No material has been requested."), code="bad_state")
    if not files:
        raise ComplaintError(_("Attach the material."), field="evidence")
    stored = _evidence_add(complaint, user=user, files=files, now=now)
    data = _resume(complaint, now=now)
    _step(complaint, "material_supplied", user=user, now=now, data={**data, "files": stored},
          subject=_("Complaint %(id)s: material supplied") % {"id": complaint.public_id})
    return complaint


@transaction.atomic
def complaint_decide(*, user: User, complaint_id: int, outcome: str, decision: str,
                     now: datetime | None = None) -> Complaint:
    """处理决定: the written decision (R36); it is published in the portal."""
    now = now or timezone.now()
    _require_supervisor(user)
    if outcome not in Complaint.Outcome.values:
        raise ComplaintError(_("Choose the outcome."), field="outcome")
    decision = clean_text(decision, field="decision", label=_("Decision"), max_length=20000)
    complaint = _locked(complaint_id)
    if complaint.status == C.DECIDED:
        return complaint
    if complaint.status != C.ACCEPTED:
        raise ComplaintError(_("Only an accepted complaint can be decided."), code="bad_state")
    complaint.status, complaint.decided_at, complaint.outcome, complaint.decision = C.DECIDED, now, outcome, decision
    complaint.pause, complaint.paused_at = Complaint.Pause.NONE, None
    complaint.save(update_fields=["status", "decided_at", "outcome", "decision", "pause", "paused_at"])
    _step(complaint, "decided", user=user, now=now, body=decision, data={"outcome": outcome, "decision": decision},
          subject=_("Complaint %(id)s decided") % {"id": complaint.public_id})
    return complaint


# --- R37: suspension ------------------------------------------------------------------------------


def suspension_guard(*, section: Section) -> None:
    """Raise when the section is suspended (R37); a ``SectionError``, so the deadline sweep skips the section."""
    if SectionSuspension.objects.filter(section=section, lifted_at__isnull=True).exists():
        raise SectionError(_("R37: the section is suspended by the supervisory department while it handles a "
                               "complaint."), code="suspended")


@transaction.atomic
def section_suspend(*, user: User, complaint_id: int, reason: str, now: datetime | None = None
                    ) -> SectionSuspension:
    """暂停: order the tender suspended while the complaint is handled (R37, art. 62)."""
    now = now or timezone.now()
    _require_supervisor(user)
    reason = clean_text(reason, field="reason", label=_("Reason"), max_length=5000)
    complaint = _locked(complaint_id)
    Section.objects.select_for_update().get(pk=complaint.section_id)
    active = SectionSuspension.objects.filter(section_id=complaint.section_id, lifted_at__isnull=True).first()
    if active is not None:
        return active
    if complaint.status not in (C.RECEIVED, C.ACCEPTED):
        raise ComplaintError(_("Only a complaint being handled can suspend the section."), code="bad_state")
    suspension = SectionSuspension.objects.create(section_id=complaint.section_id, complaint=complaint,
                                                  reason=reason, suspended_at=now, suspended_by=user)
    ledger_append(action="section.suspended", actor=user, obj=complaint.section, now=now,
                  data={"complaint": complaint.public_id, "reason": reason})
    _notify(complaint, subject=_("Section suspended: %(title)s") % {"title": complaint.section.title},
            body=reason, now=now)
    return suspension


@transaction.atomic
def section_suspension_lift(*, user: User, complaint_id: int, now: datetime | None = None) -> Complaint:
    """Lift the suspension; the section's transitions run again."""
    now = now or timezone.now()
    _require_supervisor(user)
    complaint = _locked(complaint_id)
    Section.objects.select_for_update().get(pk=complaint.section_id)
    lifted = SectionSuspension.objects.filter(complaint=complaint, lifted_at__isnull=True).update(
        lifted_at=now, lifted_by=user)
    if lifted:
        ledger_append(action="section.suspension_lifted", actor=user, obj=complaint.section, now=now,
                      data={"complaint": complaint.public_id})
        _notify(complaint, subject=_("Suspension lifted: %(title)s") % {"title": complaint.section.title},
                body="", now=now)
    return complaint
