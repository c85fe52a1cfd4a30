"""Candidates' publicity (中标候选人公示, R27), the award (定标, R28, R29) and the contract (合同, R29)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bidding.models import Bid
from experts.models import Award, Evaluation, Publicity, PublicityObjection, ResultNotice
from experts.services.access import require_section_agency
from experts.services.errors import ExpertError
from timestamps.ledger import ledger_append
from timestamps.stamping import seal_pdf
from trading import signals
from trading.files import write_stored
from trading.models import Notification, Project, Section, User
from trading.services.errors import NotFound, PermissionDenied
from trading.services.lifecycle import section_transition

PUBLISH_WITHIN = timedelta(days=3)  # R27: published within 3 days of the report
MIN_PUBLICITY = timedelta(days=3)  # R27: public for at least 3 days
ANSWER_WITHIN = timedelta(days=3)  # R27: objections answered within 3 days
CONTRACT_WITHIN = timedelta(days=30)  # R29
LOSING_STATUSES = [Bid.Status.DECRYPTED, Bid.Status.DISQUALIFIED, Bid.Status.REVOKED, Bid.Status.FAILED_PLATFORM]


def _locked_section(section_id: int) -> Section:
    return Section.objects.select_for_update().select_related("project__agency").get(pk=section_id)


@transaction.atomic
def publicity_publish(*, user: User, section_id: int, ends_at: datetime, now: datetime | None = None) -> Publicity:
    """Publish the report's candidates now, until ends_at: evaluating → publicizing (R27)."""
    now = now or timezone.now()
    section = _locked_section(section_id)
    require_section_agency(user, section)
    existing = Publicity.objects.filter(section=section).first()
    if existing is not None:
        return existing
    evaluation = Evaluation.objects.filter(section=section, status=Evaluation.Status.REPORTED).first()
    if section.status != Section.Status.EVALUATING or evaluation is None:
        raise ExpertError(_("The candidates are published once the evaluation report is final."), code="wrong_state")
    if now > evaluation.report_at + PUBLISH_WITHIN:
        raise ExpertError(_("R27: the candidates had to be published within 3 days of the report (by %(d)s).")
                          % {"d": timezone.localtime(evaluation.report_at + PUBLISH_WITHIN).strftime("%Y-%m-%d %H:%M")},
                          code="r27_late")
    if ends_at is None or ends_at - now < MIN_PUBLICITY:
        raise ExpertError(_("R27: the publicity lasts at least 3 days."), code="r27_short", field="ends_at")
    publicity = Publicity.objects.create(section=section, starts_at=now, ends_at=ends_at, published_by=user,
                                         candidates=evaluation.result["candidates"])
    section_transition(section_id=section.pk, to=Section.Status.PUBLICIZING, actor=user, now=now,
                       data={"until": ends_at.isoformat(), "candidates": [c["bid"] for c in publicity.candidates]})
    return publicity


@transaction.atomic
def publicity_objection_raise(*, user: User, section_id: int, text: str,
                              now: datetime | None = None) -> PublicityObjection:
    """A bidder of the section objects to the candidates while they are public."""
    now = now or timezone.now()
    publicity = Publicity.objects.select_related("section").filter(section_id=section_id).first()
    if publicity is None:
        raise NotFound(_("The candidates are not public."))
    if not user.has_role(User.Role.BIDDER) or not Bid.objects.filter(
            section=publicity.section, organization=user.organization_id).exists():
        raise PermissionDenied(_("Only a bidder of this section may object to the candidates."))
    if not publicity.starts_at <= now <= publicity.ends_at:
        raise ExpertError(_("Objections are possible only while the candidates are public."), code="closed")
    text = (text or "").strip()[:5000]
    if not text:
        raise ExpertError(_("Write the objection."), field="text")
    objection = PublicityObjection.objects.create(publicity=publicity, organization=user.organization, text=text,
                                                  submitted_at=now, answer_due=now + ANSWER_WITHIN)
    ledger_append(action="publicity.objection", actor=user, obj=publicity.section, now=now,
                  data={"objection": objection.public_id, "due": objection.answer_due.isoformat()})
    return objection


@transaction.atomic
def publicity_objection_answer(*, user: User, objection_id: str, answer: str,
                               now: datetime | None = None) -> PublicityObjection:
    now = now or timezone.now()
    objection = (PublicityObjection.objects.select_for_update().select_related("publicity__section__project")
                 .filter(public_id=objection_id).first())
    if objection is None:
        raise NotFound(_("No such objection."))
    require_section_agency(user, objection.publicity.section)
    if objection.answered_at:
        return objection
    answer = (answer or "").strip()[:5000]
    if not answer:
        raise ExpertError(_("Write the answer."), field="answer")
    objection.answer, objection.answered_at = answer, now
    objection.save(update_fields=["answer", "answered_at"])
    ledger_append(action="publicity.answered", actor=user, obj=objection.publicity.section, now=now,
                  data={"objection": objection.public_id, "late": now > objection.answer_due})
    return objection


def _store(relative: str, pdf: bytes) -> str:
    return write_stored(relative, pdf)


@transaction.atomic
def award_make(*, user: User, section_id: int, bid_id: str | None = None, now: datetime | None = None) -> Award:
    """定标: after the publicity, the winner gets its notice and every loser its result, at the same moment."""
    from experts.pdf import award_notice_pdf, result_notice_pdf

    now = now or timezone.now()
    section = _locked_section(section_id)
    require_section_agency(user, section)
    existing = Award.objects.filter(section=section).first()
    if existing is not None:
        return existing
    publicity = Publicity.objects.filter(section=section).first()
    if section.status != Section.Status.PUBLICIZING or publicity is None:
        raise ExpertError(_("The award follows the candidates' publicity."), code="wrong_state")
    if now < publicity.ends_at:
        raise ExpertError(_("R27: the publicity runs until %(d)s.")
                          % {"d": timezone.localtime(publicity.ends_at).strftime("%Y-%m-%d %H:%M")}, code="r27_running")
    if publicity.objections.filter(answered_at__isnull=True).exists():
        raise ExpertError(_("R27: answer every objection to the candidates first."), code="objection_pending")
    candidates = publicity.candidates
    chosen = next((c for c in candidates if c["bid"] == (bid_id or candidates[0]["bid"])), None)
    if chosen is None:
        raise ExpertError(_("The winner must be one of the publicized candidates."), field="bid")
    if section.project.funding == Project.Funding.STATE and chosen["rank"] != 1:
        raise ExpertError(_("R28: on a state-funded project the first-ranked candidate wins."), code="r28",
                          field="bid")
    bid = Bid.objects.select_related("organization").get(public_id=chosen["bid"], section=section)
    award = Award(section=section, bid=bid, rank=chosen["rank"], awarded_at=now, awarded_by=user)
    relative = f"award/{section.public_id}/award-notice.pdf"
    award.notice_sha256 = _store(relative, seal_pdf(award_notice_pdf(award, now=now), reason="中标通知书"))
    award.notice_path = relative
    award.save()
    Notification.objects.create(organization=bid.organization, section=section, created_at=now,
                                subject=f"中标通知书：{section}", body=_("You won this section; sign the contract "
                                                                        "within 30 days (R29)."))
    losers = Bid.objects.filter(section=section, status__in=LOSING_STATUSES).exclude(pk=bid.pk) \
        .select_related("organization")
    for loser in losers:
        path = f"award/{section.public_id}/result-{loser.public_id}.pdf"
        digest = _store(path, seal_pdf(result_notice_pdf(award, loser, now=now), reason="中标结果通知书"))
        ResultNotice.objects.create(award=award, bid=loser, sent_at=now, path=path, sha256=digest)
        Notification.objects.create(organization=loser.organization, section=section, created_at=now,
                                    subject=f"中标结果通知书：{section}", body=_("The section was awarded to another bidder."))
    section_transition(section_id=section.pk, to=Section.Status.AWARDED, actor=user, now=now,
                       data={"winner": bid.public_id, "rank": award.rank, "notice": award.notice_sha256,
                             "losers_notified": losers.count()})
    return award


@transaction.atomic
def contract_record(*, user: User, section_id: int, signed_at: datetime, amount=None,
                    now: datetime | None = None) -> Award:
    """合同签订: record the signing, at most 30 days after the award (R29): awarded → contracted."""
    now = now or timezone.now()
    section = _locked_section(section_id)
    require_section_agency(user, section)
    award = Award.objects.select_for_update().filter(section=section).first()
    if award is None or section.status not in (Section.Status.AWARDED, Section.Status.CONTRACTED):
        raise ExpertError(_("Record the contract after the award."), code="wrong_state")
    if award.contract_signed_at:
        return award
    if signed_at is None or signed_at < award.awarded_at or signed_at > now:
        raise ExpertError(_("The signing date lies between the award and now."), field="signed_at")
    if signed_at > award.awarded_at + CONTRACT_WITHIN:
        raise ExpertError(_("R29: the contract had to be signed within 30 days of the award."), code="r29",
                          field="signed_at")
    award.contract_signed_at, award.contract_recorded_by = signed_at, user
    award.contract_amount = amount
    award.save(update_fields=["contract_signed_at", "contract_recorded_by", "contract_amount"])
    section_transition(section_id=section.pk, to=Section.Status.CONTRACTED, actor=user, now=now,
                       data={"signed_at": signed_at.isoformat(), "amount": None if amount is None else str(amount)})
    signals.contract_recorded.send(sender=Section, section=section, signed_at=signed_at, now=now)
    return award
