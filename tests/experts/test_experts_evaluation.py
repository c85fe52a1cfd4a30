"""Remote evaluation, scoring, the report, publicity, award and contract: R07, R24, R26–R29 at their edges."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from experts.models import Award, Evaluation, Pick, ResultNotice
from experts.services import award as award_services
from experts.services import evaluation as ev
from experts.services.errors import ExpertError
from experts.services.scoring import BidInput, PriceRule, aggregate, benchmark_price, price_score
from tests.experts.test_experts_kit import (
    agency_of,
    drawable_section,
    fake_bids,
    opened,
    seat_committee,
)
from tests.factories import bidder_user
from timestamps.models import LedgerEntry
from trading.models import Notification, Section
from trading.services.errors import PermissionDenied

pytestmark = pytest.mark.django_db
PRICES = ["9800000", "9650000", "9900000", "9700000", "10100000"]


def started(prices=PRICES, *, method="comprehensive", members=5, funding="state"):
    section = drawable_section(evaluation_method=method)
    section.project.funding = funding
    section.project.save(update_fields=["funding"])
    picks = seat_committee(section, members=members)
    bids = fake_bids(section, prices)
    opened(section)
    ev.evaluation_start(user=agency_of(section), section_id=section.pk)
    return section, [Pick.objects.get(pk=p.pk) for p in picks], bids


def score_all(section, picks, bids, *, technical=lambda m, b: 30, fails=()):
    for m, pick in enumerate(picks):
        user = pick.expert.user
        ev.member_declare(user=user, section_id=section.pk, conflict=False)
        for b, bid in enumerate(bids):
            failing = (m, b) in fails
            scores = {} if section.evaluation_method == "lowest_price" or failing else {
                "0": str(technical(m, b)), "1": "15"}
            ev.score_save(user=user, section_id=section.pk, bid_id=bid.public_id, scores=scores,
                          passes=not failing, reason="资格不符" if failing else "")
        ev.scores_submit(user=user, section_id=section.pk)
    for pick in picks:
        ev.leader_vote(user=pick.expert.user, section_id=section.pk, seat=picks[0].seat)


def test_price_formula_benchmark_drops_highest_and_lowest_from_five_bids():
    prices = [Decimal(p) for p in ("100", "90", "110", "95", "105")]
    assert benchmark_price(prices) == Decimal("100")  # (95 + 100 + 105) / 3
    assert benchmark_price(prices[:4]) == Decimal("98.75")  # fewer than 5: plain mean
    assert benchmark_price(prices, Decimal("0.95")) == Decimal("95.00")
    rule = PriceRule()
    assert price_score(Decimal("102"), Decimal("100"), Decimal("40"), rule) == Decimal("38")  # 2% above: -2
    assert price_score(Decimal("98"), Decimal("100"), Decimal("40"), rule) == Decimal("39")  # 2% below: -1
    assert price_score(Decimal("200"), Decimal("100"), Decimal("40"), rule) == Decimal("0")  # floored at 0


def test_ties_go_to_the_lower_price_then_the_earlier_receipt():
    t = timezone.now()
    bids = [BidInput("late", Decimal("100"), t + timedelta(seconds=1)), BidInput("early", Decimal("100"), t),
            BidInput("cheap", Decimal("99"), t + timedelta(seconds=5))]
    outcome = aggregate(method="lowest_price", criteria=[], bids=bids, scores={})
    assert [r.bid for r in outcome.ranking] == ["cheap", "early", "late"]


def test_r26_a_full_evaluation_ranks_at_most_three_candidates_and_seals_the_report():
    from timestamps.docsign import verify_pdf

    section, picks, bids = started()
    score_all(section, picks, bids, technical=lambda m, b: 20 + b)
    leader = picks[0].expert.user
    evaluation = ev.report_conclude(user=leader, section_id=section.pk)
    assert evaluation.status == Evaluation.Status.SIGNING
    assert len(evaluation.result["ranking"]) == 5 and len(evaluation.result["candidates"]) == 3
    for pick in picks[:4]:
        ev.report_sign(user=pick.expert.user, section_id=section.pk)
    assert Evaluation.objects.get(pk=evaluation.pk).status == Evaluation.Status.SIGNING
    ev.report_sign(user=picks[4].expert.user, section_id=section.pk, agree=False, reason="技术评分偏高")
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.REPORTED and evaluation.report_sha256
    pdf = (settings.FILE_STORE_DIR / evaluation.report_path).read_bytes()
    report = verify_pdf(pdf)
    assert report.valid and report.intact and report.timestamp_valid


def test_r26_a_dissent_needs_a_written_reason_and_silence_counts_as_agreement():
    section, picks, bids = started()
    score_all(section, picks, bids)
    ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    with pytest.raises(ExpertError) as refused:
        ev.report_sign(user=picks[1].expert.user, section_id=section.pk, agree=False, reason="  ")
    assert "R26" in str(refused.value.message)
    with pytest.raises(PermissionDenied):
        ev.report_finalize(user=picks[1].expert.user, section_id=section.pk)  # not the leader
    ev.report_finalize(user=picks[0].expert.user, section_id=section.pk)
    assert set(Pick.objects.filter(pk__in=[p.pk for p in picks]).values_list("signature_kind", flat=True)) == {"deemed"}


def test_r07_every_bid_rejected_in_evaluation_fails_the_section():
    section, picks, bids = started(PRICES[:3])
    score_all(section, picks, bids, fails={(m, b) for m in range(3) for b in range(3)})
    evaluation = ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    section.refresh_from_db()
    assert evaluation.status == Evaluation.Status.FAILED and section.status == Section.Status.FAILED


def test_a_bid_failed_by_a_minority_stays_in_the_ranking():
    section, picks, bids = started(PRICES[:3], method="lowest_price")
    score_all(section, picks, bids, fails={(0, 1), (1, 1), (2, 0)})  # bid 1: 2 of 5 fail it
    evaluation = ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    assert [r["price"] for r in evaluation.result["ranking"]] == ["9650000", "9800000", "9900000"]


def test_lowest_price_method_ranks_the_passing_bids_by_price():
    section, picks, bids = started(PRICES, method="lowest_price")
    score_all(section, picks, bids, fails={(m, 1) for m in range(3)})  # 9,650,000 rejected by 3 of 5
    evaluation = ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    assert [c["price"] for c in evaluation.result["candidates"]] == ["9700000", "9800000", "9900000"]


def test_scores_outside_their_limits_and_before_the_declaration_are_refused():
    section, picks, bids = started(PRICES[:3])
    user = picks[0].expert.user
    with pytest.raises(ExpertError) as early:
        ev.score_save(user=user, section_id=section.pk, bid_id=bids[0].public_id, scores={"0": "10"})
    assert early.value.code == "not_declared"
    ev.member_declare(user=user, section_id=section.pk, conflict=False)
    for bad in ({"0": "40.01"}, {"0": "-1"}, {"2": "10"}, {"0": "1.005"}, {"9": "1"}, {"0": "abc"}):
        with pytest.raises(ExpertError):
            ev.score_save(user=user, section_id=section.pk, bid_id=bids[0].public_id, scores=bad)
    ev.score_save(user=user, section_id=section.pk, bid_id=bids[0].public_id, scores={"0": "40", "1": "0"})


def test_r24_a_declared_conflict_withdraws_the_member_voids_its_scores_and_calls_a_backup():
    section, picks, bids = started(PRICES[:3])
    conflicted = picks[2]
    ev.member_declare(user=conflicted.expert.user, section_id=section.pk, conflict=False)
    ev.score_save(user=conflicted.expert.user, section_id=section.pk, bid_id=bids[0].public_id,
                  scores={"0": "40", "1": "20"})
    ev.member_declare(user=conflicted.expert.user, section_id=section.pk, conflict=True, text="与投标人存在亲属关系")
    conflicted.refresh_from_db()
    assert conflicted.status == Pick.Status.WITHDRAWN
    backup = Pick.objects.get(replaces=conflicted)
    assert backup.status == Pick.Status.INVITED and backup.seat == conflicted.seat
    with pytest.raises(ExpertError) as vacant:
        score_all(section, [p for p in picks if p.pk != conflicted.pk], bids)
        ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    assert vacant.value.code == "committee_incomplete"
    from experts.services.draws import pick_confirm

    pick_confirm(user=backup.expert.user, pick_id=backup.public_id)
    score_all(section, [Pick.objects.get(pk=backup.pk)], bids)
    evaluation = ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    members = {m.pk for m in ev.selectors.committee(section)}
    assert conflicted.pk not in members and backup.pk in members and evaluation.status == "signing"


def test_evaluation_starts_only_with_a_confirmed_committee_and_only_by_the_agency():
    section = drawable_section()
    picks = seat_committee(section)
    fake_bids(section, PRICES[:3])
    opened(section)
    with pytest.raises(PermissionDenied):
        ev.evaluation_start(user=bidder_user(), section_id=section.pk)
    Pick.objects.filter(pk=picks[0].pk).update(status=Pick.Status.INVITED)
    with pytest.raises(ExpertError) as refused:
        ev.evaluation_start(user=agency_of(section), section_id=section.pk)
    assert refused.value.code == "committee_incomplete"


def reported(**kwargs):
    section, picks, bids = started(**kwargs)
    score_all(section, picks, bids, technical=lambda m, b: 20 + b)
    ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    ev.report_finalize(user=picks[0].expert.user, section_id=section.pk)
    return section, picks, bids, Evaluation.objects.get(section=section)


@pytest.mark.parametrize("late,ok", [(timedelta(days=3), True), (timedelta(days=3, seconds=1), False)])
def test_r27_candidates_are_published_within_three_days_of_the_report(late, ok):
    section, _picks, _bids, evaluation = reported()
    now = evaluation.report_at + late
    call = lambda: award_services.publicity_publish(  # noqa: E731
        user=agency_of(section), section_id=section.pk, ends_at=now + timedelta(days=3), now=now)
    if ok:
        assert call().starts_at == now
    else:
        with pytest.raises(ExpertError, match="R27"):
            call()


@pytest.mark.parametrize("length,ok", [(timedelta(days=3), True), (timedelta(days=2, hours=23, minutes=59, seconds=59), False),
                                       (timedelta(days=2), False)])
def test_r27_the_publicity_lasts_at_least_three_days(length, ok):
    section, _picks, _bids, evaluation = reported()
    now = evaluation.report_at
    call = lambda: award_services.publicity_publish(  # noqa: E731
        user=agency_of(section), section_id=section.pk, ends_at=now + length, now=now)
    if ok:
        call()
        section.refresh_from_db()
        assert section.status == Section.Status.PUBLICIZING
    else:
        with pytest.raises(ExpertError, match="R27"):
            call()


def publicized(**kwargs):
    section, picks, bids, evaluation = reported(**kwargs)
    now = evaluation.report_at
    publicity = award_services.publicity_publish(user=agency_of(section), section_id=section.pk,
                                                 ends_at=now + timedelta(days=3), now=now)
    return section, bids, publicity


def test_r27_objections_are_raised_during_publicity_and_block_the_award_until_answered():
    section, bids, publicity = publicized()
    outsider = bidder_user()
    with pytest.raises(PermissionDenied):
        award_services.publicity_objection_raise(user=outsider, section_id=section.pk, text="异议",
                                                 now=publicity.starts_at)
    bidder = bids[4].submitted_by
    objection = award_services.publicity_objection_raise(user=bidder, section_id=section.pk, text="第一名业绩造假",
                                                         now=publicity.starts_at + timedelta(hours=1))
    assert objection.answer_due == objection.submitted_at + timedelta(days=3)
    with pytest.raises(ExpertError, match="R27"):
        award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at - timedelta(seconds=1))
    with pytest.raises(ExpertError, match="R27"):
        award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    award_services.publicity_objection_answer(user=agency_of(section), objection_id=objection.public_id, answer="经核查，业绩属实。",
                                              now=publicity.starts_at + timedelta(days=1))
    assert award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    with pytest.raises(ExpertError):
        award_services.publicity_objection_raise(user=bidder, section_id=section.pk, text="再次异议",
                                                 now=publicity.ends_at + timedelta(seconds=1))


def test_r28_on_a_state_funded_project_only_the_first_candidate_wins():
    section, bids, publicity = publicized(funding="state")
    second = publicity.candidates[1]["bid"]
    with pytest.raises(ExpertError, match="R28"):
        award_services.award_make(user=agency_of(section), section_id=section.pk, bid_id=second, now=publicity.ends_at)
    award = award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    assert award.rank == 1


def test_r28_other_funding_may_award_any_candidate_but_never_a_non_candidate():
    section, bids, publicity = publicized(funding="other")
    fourth = [b.public_id for b in bids if b.public_id not in {c["bid"] for c in publicity.candidates}][0]
    with pytest.raises(ExpertError):
        award_services.award_make(user=agency_of(section), section_id=section.pk, bid_id=fourth, now=publicity.ends_at)
    award = award_services.award_make(user=agency_of(section), section_id=section.pk,
                                      bid_id=publicity.candidates[1]["bid"], now=publicity.ends_at)
    assert award.rank == 2


def test_r29_the_winner_and_every_loser_are_notified_at_the_same_moment():
    from timestamps.docsign import verify_pdf

    section, bids, publicity = publicized()
    award = award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    notices = ResultNotice.objects.filter(award=award)
    assert notices.count() == 4 and {n.sent_at for n in notices} == {award.awarded_at}
    assert Notification.objects.filter(section=section).count() == 5
    assert verify_pdf((settings.FILE_STORE_DIR / award.notice_path).read_bytes()).valid
    section.refresh_from_db()
    assert section.status == Section.Status.AWARDED


@pytest.mark.parametrize("after,ok", [(timedelta(days=30), True), (timedelta(days=30, seconds=1), False),
                                      (timedelta(days=31), False)])
def test_r29_the_contract_is_signed_within_30_days(after, ok):
    section, bids, publicity = publicized()
    award = award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    signed_at = award.awarded_at + after
    call = lambda: award_services.contract_record(  # noqa: E731
        user=agency_of(section), section_id=section.pk, signed_at=signed_at, now=signed_at + timedelta(days=2))
    if ok:
        call()
        section.refresh_from_db()
        assert section.status == Section.Status.CONTRACTED  # the refunds it starts: test_cross_app_paths (R18)
    else:
        with pytest.raises(ExpertError, match="R29"):
            call()
        section.refresh_from_db()
        assert section.status == Section.Status.AWARDED


def test_every_transition_is_in_the_ledger():
    section, bids, publicity = publicized()
    award = award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    award_services.contract_record(user=agency_of(section), section_id=section.pk,
                                   signed_at=award.awarded_at + timedelta(days=1), now=award.awarded_at + timedelta(days=1))
    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    for action in ("draw.committed", "draw.complete", "draw.confirmed", "section.evaluating", "evaluation.declared",
                   "evaluation.scores_submitted", "evaluation.leader", "evaluation.concluded", "evaluation.reported",
                   "section.publicizing", "section.awarded", "section.contracted"):
        assert action in actions, action
    assert Award.objects.get(section=section).contract_signed_at
