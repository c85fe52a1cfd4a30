"""远程评标: the committee evaluates online — declaration (R24), leader, scores, report and signatures (R26)."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bidding.envelope import open_documents
from bidding.models import Bid
from bidding.room.decrypt import bid_keys
from experts import selectors
from experts.models import Draw, Evaluation, EvaluationDocument, Pick, Score, Verdict
from experts.services.access import require_section_agency
from experts.services.draws import seat_refill
from experts.services.errors import ExpertError
from experts.services.scoring import BidInput, Outcome, PriceRule, aggregate
from timestamps.ledger import ledger_append
from trading.files import HashingSink, open_stored, stored_writer, write_stored
from trading.models import Section, User
from trading.services.errors import Conflict, NotFound, PermissionDenied
from trading.services.lifecycle import section_transition

MAX_TEXT = 2000


def bid_price(bid: Bid) -> Decimal:
    try:
        return Decimal(str((bid.summary or {}).get("price", "")))
    except InvalidOperation:
        return Decimal("0")


def valid_bids(section: Section):
    """The bids valid at the opening (decrypted), in receipt order."""
    return Bid.objects.filter(section=section, status=Bid.Status.DECRYPTED).select_related("organization") \
        .order_by("received_at")


def seats_of(section: Section) -> int:
    main = Draw.objects.filter(section=section, parent__isnull=True).first()
    return sum(g["count"] for g in main.groups) if main else 0


def committee_complete(section: Section) -> bool:
    return seats_of(section) > 0 and not committee_blockers(section)


def committee_blockers(section: Section) -> list[str]:
    """Why evaluation cannot start yet, one line per seat not confirmed: by seat number only (R25)."""
    seated = {m.seat: m for m in selectors.committee(section)}
    blockers = []
    for seat in range(1, seats_of(section) + 1):
        member = seated.get(seat)
        if member is None:
            blockers.append(_("Seat %(n)d is vacant: its supplementary draw is not complete.") % {"n": seat})
        elif member.status != Pick.Status.CONFIRMED:
            blockers.append(_("Seat %(n)d has not confirmed yet.") % {"n": seat})
    return blockers


# --- start -----------------------------------------------------------------------------------


def _decrypt_documents(evaluation: Evaluation, bid: Bid) -> EvaluationDocument:
    """Open a bid's documents into the file store, for the committee only; a failure is recorded, not hidden."""
    relative = f"evaluation/{evaluation.section.public_id}/{bid.public_id}.bin"
    document = EvaluationDocument(evaluation=evaluation, bid=bid)
    try:
        k1, k2 = bid_keys(bid)
        with open_stored(bid.storage_path) as source, stored_writer(relative) as sink:
            out = HashingSink(sink)
            open_documents(source, out, k1=k1, k2=k2)
        document.storage_path, document.size, document.sha256 = relative, out.size, out.digest.hexdigest()
    except Exception as exc:  # any fault: the committee and supervisors see that this bid's files failed
        document.error = f"{type(exc).__name__}: {exc}"[:300]
    document.save()
    return document


@transaction.atomic
def evaluation_start(*, user: User, section_id: int, price_settings: dict | None = None,
                     now: datetime | None = None) -> Evaluation:
    """The agency opens the evaluation once every seat is confirmed: opened → evaluating."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().select_related("project__agency").get(pk=section_id)
    require_section_agency(user, section)
    existing = Evaluation.objects.filter(section=section).first()
    if existing is not None:
        return existing
    if section.status != Section.Status.OPENED:
        raise ExpertError(_("Evaluation starts after the opening is complete."), code="wrong_state")
    blockers = committee_blockers(section) if seats_of(section) else [_("No committee has been drawn.")]
    if blockers:
        raise ExpertError(_("Every seat of the committee must be confirmed before evaluation starts.") + " "
                          + " ".join(blockers), code="committee_incomplete")
    try:
        rule = PriceRule.from_settings(price_settings or {})
    except (InvalidOperation, TypeError, ValueError):
        raise ExpertError(_("The price settings must be numbers."), field="price_settings") from None
    if not (Decimal("0.5") <= rule.coefficient <= Decimal("1.5")) or rule.above_per_percent < 0 \
            or rule.below_per_percent < 0:
        raise ExpertError(_("The coefficient is 0.50 to 1.50 and deductions are not negative."),
                          field="price_settings")
    evaluation = Evaluation.objects.create(section=section, started_at=now, price_settings=rule.as_dict())
    documents = [_decrypt_documents(evaluation, bid) for bid in valid_bids(section)]
    section_transition(section_id=section.pk, to=Section.Status.EVALUATING, actor=user, now=now,
                       data={"price_settings": rule.as_dict(), "documents": {
                           d.bid.public_id: d.sha256 or "error" for d in documents}})
    return evaluation


# --- the member's work ------------------------------------------------------------------------


def _membership(user: User, section_id: int, *, lock: bool = False) -> tuple[Evaluation, Pick]:
    section = Section.objects.filter(pk=section_id).first()
    if section is None:
        raise NotFound(_("No such section."))
    member = selectors.member_of(user=user, section=section)
    if member is None:
        raise PermissionDenied(_("Only a confirmed member of this section's committee can do this."))
    qs = Evaluation.objects.select_related("section__project")
    evaluation = (qs.select_for_update() if lock else qs).filter(section=section).first()
    if evaluation is None:
        raise ExpertError(_("The evaluation has not started."), code="not_started")
    if lock:
        member = Pick.objects.select_for_update().select_related("expert").get(pk=member.pk)
    return evaluation, member


def _require_scoring(evaluation: Evaluation) -> None:
    if evaluation.status != Evaluation.Status.SCORING:
        raise ExpertError(_("Scoring is closed."), code="scoring_closed")


def _require_declared(member: Pick) -> None:
    if member.declared_at is None:
        raise ExpertError(_("Sign the avoidance declaration first (R24)."), code="not_declared")


@transaction.atomic
def member_declare(*, user: User, section_id: int, conflict: bool, text: str = "",
                   now: datetime | None = None) -> Pick:
    """回避声明 (R24): declare no conflict, or declare one and withdraw — the member's conclusions are void."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    _require_scoring(evaluation)
    text = (text or "").strip()[:MAX_TEXT]
    if not conflict:
        if member.declared_at is None:
            member.declared_at = now
            member.save(update_fields=["declared_at"])
            ledger_append(action="evaluation.declared", actor=user, obj=evaluation.section, now=now,
                          data={"seat": member.seat, "conflict": False})
        return member
    if not text:
        raise ExpertError(_("Describe the conflict of interest."), field="text")
    member.status, member.conflict, member.declared_at = Pick.Status.WITHDRAWN, text, member.declared_at or now
    member.answered_at = now
    member.save(update_fields=["status", "conflict", "declared_at", "answered_at"])
    if evaluation.leader_id == member.pk:
        evaluation.leader = None
        evaluation.save(update_fields=["leader"])
    Pick.objects.filter(draw__section=evaluation.section, leader_vote=member.seat).update(leader_vote=None)
    ledger_append(action="evaluation.withdrawn", actor=user, obj=evaluation.section, now=now,
                  data={"seat": member.seat, "expert": member.expert.code, "void_scores": member.scores.count()})
    seat_refill(vacated=member, now=now)
    return member


@transaction.atomic
def leader_vote(*, user: User, section_id: int, seat: int, now: datetime | None = None) -> Evaluation:
    """评标委员会主任: members elect a leader; a strict majority of the seats elects."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    _require_scoring(evaluation)
    _require_declared(member)
    members = selectors.committee(evaluation.section)
    candidate = next((m for m in members if m.seat == seat and m.status == Pick.Status.CONFIRMED
                      and m.declared_at), None)
    if candidate is None:
        raise ExpertError(_("Vote for a member who has signed the declaration."), field="seat")
    member.leader_vote = seat
    member.save(update_fields=["leader_vote"])
    votes = sum(1 for m in selectors.committee(evaluation.section) if m.leader_vote == seat)
    if evaluation.leader_id is None and 2 * votes > seats_of(evaluation.section):
        evaluation.leader = candidate
        evaluation.save(update_fields=["leader"])
        ledger_append(action="evaluation.leader", actor="system", obj=evaluation.section, now=now,
                      data={"seat": seat, "votes": votes})
    return evaluation


def _decimal(value, *, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ExpertError(_("A score must be a number."), field=field) from None
    if not number.is_finite() or number.as_tuple().exponent < -2:
        raise ExpertError(_("A score has at most two decimal places."), field=field)
    return number


@transaction.atomic
def score_save(*, user: User, section_id: int, bid_id: str, scores: dict | None = None, passes: bool = True,
               reason: str = "", now: datetime | None = None) -> list[Score]:
    """Save one member's findings on one bid: pass or fail (with a reason) and each scored criterion."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    _require_scoring(evaluation)
    _require_declared(member)
    if member.scores_submitted_at:
        raise ExpertError(_("Your scores are submitted and can no longer change."), code="submitted")
    section = evaluation.section
    bid = valid_bids(section).filter(public_id=bid_id).first()
    if bid is None:
        raise NotFound(_("No such bid in this evaluation."))
    reason = (reason or "").strip()[:500]
    if not passes and not reason:
        raise ExpertError(_("Give the reason why the bid fails evaluation."), field="reason")
    Verdict.objects.update_or_create(member=member, bid=bid, defaults={"passes": bool(passes), "reason": reason})
    saved = []
    criteria = section.criteria or []
    for key, raw in (scores or {}).items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ExpertError(_("Unknown criterion."), field="scores") from None
        if not 0 <= index < len(criteria) or criteria[index].get("kind") == "price" \
                or section.evaluation_method == Section.EvaluationMethod.LOWEST_PRICE:
            raise ExpertError(_("Criterion %(n)s is not scored by the members.") % {"n": key}, field="scores")
        value = _decimal(raw, field=f"scores.{index}")
        maximum = Decimal(str(criteria[index]["max_score"]))
        if not Decimal("0") <= value <= maximum:
            raise ExpertError(_("%(name)s: the score must be between 0 and %(max)s.")
                              % {"name": criteria[index]["name"], "max": maximum}, field=f"scores.{index}")
        score, _created = Score.objects.update_or_create(member=member, bid=bid, criterion=index,
                                                         defaults={"value": value})
        saved.append(score)
    return saved


def scored_criteria(section: Section) -> list[int]:
    if section.evaluation_method == Section.EvaluationMethod.LOWEST_PRICE:
        return []
    return [i for i, c in enumerate(section.criteria or []) if c.get("kind") != "price"]


def member_missing(member: Pick, section: Section) -> list[str]:
    """What the member still has to fill in, bid by bid."""
    wanted = scored_criteria(section)
    verdicts = {v.bid_id: v.passes for v in member.verdicts.all()}
    have: dict[int, set[int]] = {}
    for bid_pk, criterion in member.scores.values_list("bid_id", "criterion"):
        have.setdefault(bid_pk, set()).add(criterion)
    missing = []
    for bid in valid_bids(section):
        if bid.pk not in verdicts:
            missing.append(bid.organization.name)
        elif verdicts[bid.pk] and not set(wanted) <= have.get(bid.pk, set()):
            missing.append(bid.organization.name)
    return missing


@transaction.atomic
def scores_submit(*, user: User, section_id: int, now: datetime | None = None) -> Pick:
    """The member hands in its scores; they are locked from then on."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    _require_scoring(evaluation)
    _require_declared(member)
    if member.scores_submitted_at:
        return member
    missing = member_missing(member, evaluation.section)
    if missing:
        raise ExpertError(_("Finish every bid first: %(bids)s.") % {"bids": "、".join(missing)}, code="incomplete")
    member.scores_submitted_at = now
    member.save(update_fields=["scores_submitted_at"])
    ledger_append(action="evaluation.scores_submitted", actor=user, obj=evaluation.section, now=now,
                  data={"seat": member.seat, "scores": [
                      [s.bid.public_id, s.criterion, str(s.value)] for s in member.scores.select_related("bid")]})
    return member


# --- the report (R26, R07) ---------------------------------------------------------------------


def outcome_of(evaluation: Evaluation, members: list[Pick]) -> Outcome:
    """Aggregate the active members' scores; a bid fails when more than half of them fail it."""
    section = evaluation.section
    bids = list(valid_bids(section))
    fails: dict[int, int] = {}
    for verdict in Verdict.objects.filter(member__in=members, passes=False):
        fails[verdict.bid_id] = fails.get(verdict.bid_id, 0) + 1
    inputs = [BidInput(b.public_id, bid_price(b), b.received_at, rejected=2 * fails.get(b.pk, 0) > len(members))
              for b in bids]
    public = {b.pk: b.public_id for b in bids}
    scores: dict[str, dict[str, dict[int, Decimal]]] = {}
    for member in members:
        table = scores.setdefault(member.public_id, {})
        for bid_pk, criterion, value in member.scores.values_list("bid_id", "criterion", "value"):
            table.setdefault(public[bid_pk], {})[criterion] = value
    return aggregate(method=section.evaluation_method, criteria=section.criteria or [], bids=inputs,
                     scores=scores, rule=PriceRule.from_settings(evaluation.price_settings))


def _result_json(outcome: Outcome, bids: dict[str, Bid]) -> dict:
    def row(r):
        return {"bid": r.bid, "bidder": bids[r.bid].organization.name,
                "credit_code": bids[r.bid].organization.credit_code, "price": str(r.price), "rank": r.rank,
                "scored": None if r.scored is None else str(r.scored),
                "price_score": None if r.price_score is None else str(r.price_score),
                "total": None if r.total is None else str(r.total)}

    return {"method": outcome.method, "benchmark": None if outcome.benchmark is None else str(outcome.benchmark),
            "ranking": [row(r) for r in outcome.ranking], "candidates": [row(r) for r in outcome.candidates],
            "rejected": [{"bid": b, "bidder": bids[b].organization.name} for b in outcome.rejected]}


@transaction.atomic
def report_conclude(*, user: User, section_id: int, now: datetime | None = None) -> Evaluation:
    """The leader closes scoring: the ranking is computed and members sign; all bids rejected fails it (R07)."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    if evaluation.status != Evaluation.Status.SCORING:
        return evaluation
    if evaluation.leader_id != member.pk:
        raise PermissionDenied(_("Only the committee's leader closes the scoring."))
    section = evaluation.section
    if not committee_complete(section):
        raise ExpertError(_("A seat is vacant: wait for the replacement member."), code="committee_incomplete")
    members = selectors.committee(section)
    waiting = [m.seat for m in members if not m.scores_submitted_at]
    if waiting:
        raise ExpertError(_("Members still scoring: seats %(s)s.") % {"s": ", ".join(map(str, waiting))},
                          code="incomplete")
    outcome = outcome_of(evaluation, members)
    bids = {b.public_id: b for b in valid_bids(section)}
    evaluation.result = _result_json(outcome, bids)
    if outcome.failed:
        evaluation.status, evaluation.report_at = Evaluation.Status.FAILED, now
        evaluation.save(update_fields=["result", "status", "report_at"])
        section_transition(section_id=section.pk, to=Section.Status.FAILED, actor=user, now=now,
                           data={"reason": "R07: every bid was rejected in evaluation"})
        return evaluation
    evaluation.status = Evaluation.Status.SIGNING
    evaluation.save(update_fields=["result", "status"])
    ledger_append(action="evaluation.concluded", actor=user, obj=section, now=now, data=evaluation.result)
    return evaluation


@transaction.atomic
def report_sign(*, user: User, section_id: int, agree: bool = True, reason: str = "",
                now: datetime | None = None) -> Evaluation:
    """A member signs the report; a dissent needs its written reason (R26). The last signature seals it."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    if evaluation.status != Evaluation.Status.SIGNING:
        raise ExpertError(_("The report is not open for signatures."), code="not_signing")
    if member.signed_at:
        raise Conflict(_("You have already signed the report."), code="signed")
    reason = (reason or "").strip()[:MAX_TEXT]
    if not agree and not reason:
        raise ExpertError(_("R26: a dissent must be given in writing."), field="reason")
    member.signed_at, member.dissent = now, "" if agree else reason
    member.signature_kind = "agree" if agree else "dissent"
    member.save(update_fields=["signed_at", "dissent", "signature_kind"])
    ledger_append(action="evaluation.signed", actor=user, obj=evaluation.section, now=now,
                  data={"seat": member.seat, "kind": member.signature_kind})
    if all(m.signed_at for m in selectors.committee(evaluation.section)):
        _finalize(evaluation, actor=user, now=now)
    return evaluation


@transaction.atomic
def report_finalize(*, user: User, section_id: int, now: datetime | None = None) -> Evaluation:
    """The leader closes the signing: a member who has not signed and gave no reason agrees (R26)."""
    now = now or timezone.now()
    evaluation, member = _membership(user, section_id, lock=True)
    if evaluation.status == Evaluation.Status.REPORTED:
        return evaluation
    if evaluation.status != Evaluation.Status.SIGNING:
        raise ExpertError(_("The report is not open for signatures."), code="not_signing")
    if evaluation.leader_id != member.pk:
        raise PermissionDenied(_("Only the committee's leader closes the report."))
    _finalize(evaluation, actor=user, now=now)
    return evaluation


def _finalize(evaluation: Evaluation, *, actor, now: datetime) -> None:
    from experts.pdf import report_pdf
    from timestamps.stamping import seal_pdf

    members = selectors.committee(evaluation.section)
    for m in members:
        if not m.signed_at:
            m.signed_at, m.signature_kind = now, "deemed"
            m.save(update_fields=["signed_at", "signature_kind"])
    evaluation.report_at = now
    pdf = seal_pdf(report_pdf(evaluation, members, now=now), reason="评标报告")
    relative = f"evaluation/{evaluation.section.public_id}/report.pdf"
    evaluation.report_path, evaluation.report_sha256 = relative, write_stored(relative, pdf)
    evaluation.status = Evaluation.Status.REPORTED
    evaluation.save(update_fields=["report_at", "report_path", "report_sha256", "status"])
    ledger_append(action="evaluation.reported", actor=actor, obj=evaluation.section, now=now,
                  data={"sha256": evaluation.report_sha256,
                        "candidates": [c["bid"] for c in evaluation.result["candidates"]],
                        "signatures": {m.seat: m.signature_kind for m in members}})


def document_for(*, user: User, section: Section, bid_id: str) -> EvaluationDocument:
    """A bid's decrypted documents: for members of the committee who have declared no conflict only."""
    member = selectors.member_of(user=user, section=section)
    if member is None or member.declared_at is None:
        raise PermissionDenied(_("Only committee members who signed the declaration read the bids."))
    document = EvaluationDocument.objects.filter(evaluation__section=section, bid__public_id=bid_id).first()
    if document is None or not document.storage_path:
        raise NotFound(_("These documents are not available."))
    return document
