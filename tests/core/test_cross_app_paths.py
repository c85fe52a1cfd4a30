"""Every path that crosses apps through an extension point (trading/signals.py), end to end with the real
receivers: no fake of our own modules. Only the bank is the simulator the deposits app ships."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from bidding.models import Bid
from experts.models import Evaluation, Pick
from experts.services import award as award_services
from experts.services import evaluation as ev
from tests.bidflow import BidderKit, bid_through_api, kit_for
from tests.credit.test_blacklist import bar
from tests.experts.test_experts_evaluation import PRICES, score_all
from tests.experts.test_experts_kit import (
    agency_of,
    complete_draw,
    drawable_section,
    fake_bids,
    make_experts,
    opened,
    seat_committee,
)
from tests.factories import bidder_user, publish_section, supervisor_user
from tests.roomkit import PRICES as ROOM_PRICES
from trading.credit.models import CreditRecord
from trading.credit.services import blacklist
from trading.credit.services.blacklist import Barred
from trading.deposits.bank.client import use_client
from trading.deposits.bank.simulator import BankSimulator, deliver_with
from trading.deposits.models import BankTransaction, DepositAccount, RefundInstruction
from trading.models import Section
from trading.services.lifecycle import section_cancel
from trading.services.registrations import registration_create
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


@dataclass
class Opening:
    section: Section
    kits: list[BidderKit] = field(default_factory=list)
    bids: list[str] = field(default_factory=list)
    accounts: list[DepositAccount] = field(default_factory=list)


@pytest.fixture
def bank():
    simulator = BankSimulator(seed=7)
    use_client(simulator)
    yield simulator
    use_client(None)


def pay_deposit(api, bank, section, user) -> DepositAccount:
    """The bank tells the platform, signed, that the bidder paid the whole deposit from its basic account."""
    account = DepositAccount.objects.get(section=section, organization=user.organization)
    org = user.organization
    assert bank.pay(deliver_with(api), virtual_account=account.virtual_account, amount=section.deposit_amount,
                    payer_account=org.basic_account_number, payer_name=org.name) == [200]
    account.refresh_from_db()
    assert account.status == DepositAccount.Status.PAID
    return account


def paid_opening(api, bank, bidders: int) -> Opening:
    """Like roomkit.prepare, but each bidder signs up through the service and pays its deposit first."""
    section = publish_section(opening_config={"signin_minutes": 30, "decrypt_minutes": 30, "objection_minutes": 10})
    opening = Opening(section)
    for i in range(bidders):
        user = bidder_user()
        registration_create(user=user, section_id=section.pk)  # registration_created → the virtual account
        opening.accounts.append(pay_deposit(api, bank, section, user))
        kit = kit_for(api, user)
        receipt, envelope = bid_through_api(api, kit, section, price=ROOM_PRICES[i], documents=f"技术标 {i}".encode())
        opening.kits.append(kit)
        opening.bids.append(receipt["bid_id"])
    return opening


def assert_page_shows_refund_paid(client, user, section, reason) -> None:
    """The bidder's deposit page (bidder_deposit) lists the refund, its reason and that the bank paid it."""
    client.force_login(user)
    response = client.get(reverse("bidder_deposit", args=[section.public_id]))
    assert response.status_code == 200
    html = response.content.decode()
    with translation.override(response.headers.get("Content-Language", "zh-hans")):
        assert str(RefundInstruction.Reason(reason).label) in html
        assert str(RefundInstruction.Status.DONE.label) in html
    assert f"{section.deposit_amount:,.2f}" in html


def assert_refunded_by_the_bank(bank, account, reason) -> RefundInstruction:
    account.refresh_from_db()
    instruction = RefundInstruction.objects.get(account=account, kind=RefundInstruction.Kind.DEPOSIT_REFUND)
    assert instruction.reason == reason and instruction.status == RefundInstruction.Status.DONE
    assert account.status == DepositAccount.Status.REFUNDED and bank.executed(instruction.instruction_id)
    return instruction


# --- R18: contract recorded (experts) → refunds (deposits) → the bank pays → the bidder's page ----------


def test_r18_recording_the_contract_refunds_every_deposit_and_the_bank_pays_it(api, client, bank):
    section = drawable_section()
    picks = seat_committee(section, members=5)
    bids = fake_bids(section, PRICES)
    bidders = [bid.submitted_by for bid in bids]
    accounts = []
    for user in bidders:
        registration_create(user=user, section_id=section.pk)  # registration_created → the virtual account
        accounts.append(pay_deposit(api, bank, section, user))
    opened(section)
    ev.evaluation_start(user=agency_of(section), section_id=section.pk)
    picks = [Pick.objects.get(pk=p.pk) for p in picks]
    score_all(section, picks, bids, technical=lambda m, b: 20 + b)
    ev.report_conclude(user=picks[0].expert.user, section_id=section.pk)
    ev.report_finalize(user=picks[0].expert.user, section_id=section.pk)
    report_at = Evaluation.objects.get(section=section).report_at
    publicity = award_services.publicity_publish(user=agency_of(section), section_id=section.pk,
                                                 ends_at=report_at + timedelta(days=3), now=report_at)
    award = award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    signed_at = award.awarded_at + timedelta(days=1)
    now = signed_at + timedelta(hours=2)

    award_services.contract_record(user=agency_of(section), section_id=section.pk, signed_at=signed_at, now=now)

    made = RefundInstruction.objects.filter(section=section, reason=RefundInstruction.Reason.CONTRACT)
    assert made.count() == len(bidders)  # the winner and every loser (R18)
    assert {i.due_by for i in made} == {signed_at + timedelta(days=5)}
    assert all(i.interest > 0 for i in made)  # with interest for the days the money was held
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        results = run_sweeps()
    assert results["deposit_refund_outbox"]["done"] == len(bidders)
    for user, account in zip(bidders, accounts, strict=True):
        assert_refunded_by_the_bank(bank, account, RefundInstruction.Reason.CONTRACT)
        assert_page_shows_refund_paid(client, user, section, RefundInstruction.Reason.CONTRACT)


# --- R19: a bid withdrawn (bidding) → refund (deposits) → the bank pays -----------------------------


def test_r19_a_bid_withdrawn_through_the_api_is_refunded_and_the_bank_pays_it(api, client, bank):
    opening = paid_opening(api, bank, 1)
    section, kit, account = opening.section, opening.kits[0], opening.accounts[0]
    notice = timezone.now()
    with time_machine.travel(notice, tick=False):
        assert api.delete(f"/api/v1/bids/{opening.bids[0]}", **kit.auth).status_code == 204
    assert Bid.objects.get(public_id=opening.bids[0]).status == Bid.Status.WITHDRAWN
    instruction = RefundInstruction.objects.get(account=account)
    assert instruction.due_by == notice + timedelta(days=5)  # R19: within 5 days of the notice
    run_sweeps()
    assert_refunded_by_the_bank(bank, account, RefundInstruction.Reason.WITHDRAWN)
    assert_page_shows_refund_paid(client, kit.user, section, RefundInstruction.Reason.WITHDRAWN)


# --- R20: termination → refunds → the bank pays ---------------------------------------------------


def test_r20_a_cancelled_tender_returns_every_paid_deposit_through_the_sweep_and_the_bank(api, client, bank):
    opening = paid_opening(api, bank, 3)
    section, accounts = opening.section, opening.accounts
    section_cancel(user=section.project.created_by, section_id=section.pk, reason="招标人终止招标")
    results = run_sweeps()
    assert results["deposit_terminations"] == 3
    for kit, account in zip(opening.kits, accounts, strict=True):
        instruction = assert_refunded_by_the_bank(bank, account, RefundInstruction.Reason.TERMINATED)
        assert instruction.due_by <= timezone.now() + timedelta(days=5)
        assert_page_shows_refund_paid(client, kit.user, section, RefundInstruction.Reason.TERMINATED)
    assert run_sweeps()["deposit_terminations"] == 0  # idempotent


def test_r20_an_opening_that_fails_r07_returns_the_deposits(api, client, bank):
    opening = paid_opening(api, bank, 2)  # two bids: the room fails the section at the extraction (R07)
    section, accounts = opening.section, opening.accounts
    with time_machine.travel(section.bid_deadline, tick=False):
        run_sweeps()  # closes bidding, the room fails the section
        section.refresh_from_db()
        assert section.status == Section.Status.FAILED
        run_sweeps()  # the terminated section's deposits are decided and paid
    for kit, account in zip(opening.kits, accounts, strict=True):
        assert_refunded_by_the_bank(bank, account, RefundInstruction.Reason.TERMINATED)
        assert_page_shows_refund_paid(client, kit.user, section, RefundInstruction.Reason.TERMINATED)


# --- R31: the blacklist (credit) refuses, disqualifies and excludes across the other apps -------------


def test_r31_a_barred_bidder_is_disqualified_in_the_opening_room(api, bank):
    opening = paid_opening(api, bank, 4)
    barred = opening.kits[1].user.organization
    record = bar(barred)
    with time_machine.travel(opening.section.bid_deadline, tick=False):
        run_sweeps()  # section_opening → the room → opening_bid_check → the blacklist
    bid = Bid.objects.get(public_id=opening.bids[1])
    assert bid.status == Bid.Status.DISQUALIFIED and record.public_id in bid.outcome_reason
    others = Bid.objects.filter(section=opening.section).exclude(pk=bid.pk)
    assert not others.filter(status=Bid.Status.DISQUALIFIED).exists()


def test_r31_a_barred_bidder_cannot_sign_up_and_its_deposit_payment_is_returned(api, bank):
    section = drawable_section()
    user = bidder_user()
    registration_create(user=user, section_id=section.pk)
    bar(user.organization)
    other = bidder_user()
    bar(other.organization)
    with pytest.raises(Barred):
        registration_create(user=other, section_id=section.pk)  # registration_guard
    account = DepositAccount.objects.get(section=section, organization=user.organization)
    org = user.organization
    assert bank.pay(deliver_with(api), virtual_account=account.virtual_account, amount=section.deposit_amount,
                    payer_account=org.basic_account_number, payer_name=org.name) == [200]
    txn = BankTransaction.objects.get(account=account)
    assert txn.outcome == BankTransaction.Outcome.REFUSED  # deposit_payment_guard: returned, never lost
    run_sweeps()
    assert RefundInstruction.objects.get(bank_txn=txn).status == RefundInstruction.Status.DONE


def test_r31_a_suspended_expert_is_left_out_of_the_draw(api):
    experts = make_experts(8)
    suspended = experts[0]
    blacklist.credit_record_create(
        user=supervisor_user(), party_kind=CreditRecord.PartyKind.EXPERT,
        expert_code=suspended.code, conduct="评标违规", basis=CreditRecord.Basis.EXPERT_MISCONDUCT,
        legal_basis="《招标投标法实施条例》第七十一条", measure=CreditRecord.Measure.SUSPENSION, authority="市发展和改革委员会",
        decision_number="杭发改罚〔2026〕13号", decision_date=timezone.localdate(), starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=179), document_name="处罚决定书.pdf",
        document_chunks=[b"%PDF-1.4 decision"])
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    assert suspended.code not in draw.pools[0]  # expert_draw_exclusions → the blacklist
    assert len(draw.pools[0]) == 7
    assert not draw.picks.filter(expert=suspended).exists()
