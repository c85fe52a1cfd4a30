"""投标保证金 end to end: virtual accounts, signed bank notifications, the money ledger, refunds with
interest (R18–R20), forfeiture (R21), R14–R17, the outbox with a misbehaving bank, and reconciliation."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import include, path
from django.utils import timezone

from tests.factories import (
    OrganizationFactory,
    UserFactory,
    agency_user,
    bidder_user,
    published_section,
    supervisor_user,
)
from timestamps.models import LedgerEntry
from trading.config.urls import urlpatterns as _root_urlpatterns
from trading.credit.models import CollusionSignal
from trading.deposits.bank.client import use_client
from trading.deposits.bank.simulator import BankSimulator, deliver_with
from trading.deposits.bank.webhook import sign
from trading.deposits.models import (
    BankTransaction,
    DepositAccount,
    DepositForfeiture,
    MoneyEntry,
    RefundInstruction,
)
from trading.deposits.selectors import reconcile_with_statement, reconciliation
from trading.deposits.services import deposits, refunds
from trading.deposits.services.interest import interest_for, money_round
from trading.models import Section, User
from trading.services.errors import PermissionDenied
from trading.services.registrations import registration_create
from trading.supervision.models import SupervisionAlert

# Until trading/api/urls.py and trading/urls.py include the deposit urls, this module serves as the URLconf.
urlpatterns = [path("api/v1/", include("trading.deposits.api_urls")), path("", include("trading.deposits.urls")),
               *_root_urlpatterns]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

NOTIFY = "/api/v1/bank/notifications"


@pytest.fixture(autouse=True)
def _bank_client_reset():
    yield
    use_client(None)


@pytest.fixture
def bank():
    sim = BankSimulator(seed=7)
    use_client(sim)
    return sim


def signed_up(section, user=None) -> DepositAccount:
    user = user or bidder_user()
    registration_create(user=user, section_id=section.pk)
    return DepositAccount.objects.get(section=section, organization=user.organization)


def user_of(account) -> User:
    return User.objects.filter(organization=account.organization).first()


def pay(api, bank, account, amount, *, payer=None, copies=1, **kwargs) -> list:
    payer = payer or account.organization.basic_account_number
    return bank.pay(deliver_with(api), copies=copies, virtual_account=account.virtual_account,
                    amount=Decimal(amount), payer_account=payer, payer_name=account.organization.name, **kwargs)


def login(api, user):
    api.force_authenticate(user=user)
    return api


def held(account) -> Decimal:
    return deposits.held_balance(account)


def run_outbox(now=None, rounds=1):
    for _ in range(rounds):
        refunds.sweep_refund_outbox(now=now or timezone.now())


# --- virtual accounts and the fixed endpoint -------------------------------------------------------

def test_sign_up_opens_one_virtual_account_per_section_and_bidder():
    s1, s2 = published_section(), published_section()
    user = bidder_user()
    a1, a2 = signed_up(s1, user), signed_up(s2, user)
    b1 = signed_up(s1)
    numbers = {a1.virtual_account, a2.virtual_account, b1.virtual_account}
    assert len(numbers) == 3 and all(len(n) == 20 and n.isdigit() for n in numbers)
    assert deposits._luhn_digit(a1.virtual_account[:-1]) == a1.virtual_account[-1]
    assert a1.status == "unpaid" and a1.due == s1.bid_deadline and a1.amount == s1.deposit_amount
    assert LedgerEntry.objects.filter(action="deposit.account_opened").count() == 3


def test_r15_the_deposit_asked_is_the_sections_deposit_within_the_two_percent_cap():
    section = published_section(estimated_price=Decimal("10000000.00"), deposit_amount=Decimal("200000.00"))
    account = signed_up(section)
    assert account.amount == Decimal("200000.00") == section.deposit_cap()


def test_deposit_endpoint_answers_exactly_the_fixed_shape(api, bank):
    section = published_section()
    account = signed_up(section)
    pay(api, bank, account, "150000.00")
    body = login(api, user_of(account)).get(f"/api/v1/sections/{section.public_id}/deposit").json()
    assert set(body) == {"virtual_account", "amount", "currency", "status", "paid_amount", "due"}
    assert body == {"virtual_account": account.virtual_account, "amount": "200000.00", "currency": "CNY",
                    "status": "partial", "paid_amount": "150000.00", "due": section.bid_deadline.isoformat()}


def test_deposit_endpoint_refuses_another_bidder_the_agency_a_supervisor_and_the_public(api):
    section = published_section()
    signed_up(section)
    url = f"/api/v1/sections/{section.public_id}/deposit"
    assert api.get(url).status_code in (401, 403)
    other = bidder_user()
    assert login(api, other).get(url).status_code == 404
    assert login(api, section.project.created_by).get(url).status_code == 403
    assert login(api, supervisor_user()).get(url).status_code == 403


# --- notifications -------------------------------------------------------------------------------

def test_the_same_notification_twice_credits_once(api, bank):
    account = signed_up(published_section())
    statuses = pay(api, bank, account, "200000.00", copies=2)
    assert statuses == [200, 200]
    assert MoneyEntry.objects.filter(account=account, kind="received").count() == 1
    account.refresh_from_db()
    assert account.status == "paid" and held(account) == Decimal("200000.00")


def test_a_duplicate_answers_with_the_first_outcome(api, bank):
    account = signed_up(published_section())
    note = bank.notification(virtual_account=account.virtual_account, amount="200000.00",
                             payer_account=account.organization.basic_account_number, payer_name="x")
    extra = {"HTTP_X_BANK_TIMESTAMP": note.headers["X-Bank-Timestamp"],
             "HTTP_X_BANK_SIGNATURE": note.headers["X-Bank-Signature"]}
    first = api.post(NOTIFY, data=note.body, content_type="application/json", **extra).json()
    second = api.post(NOTIFY, data=note.body, content_type="application/json", **extra).json()
    assert first == {"txn_id": note.txn_id, "outcome": "credited", "duplicate": False}
    assert second == {**first, "duplicate": True}


def test_underpayment_is_partial_until_topped_up(api, bank):
    account = signed_up(published_section())
    pay(api, bank, account, "120000.00")
    account.refresh_from_db()
    assert account.status == "partial" and BankTransaction.objects.get(account=account).outcome == "underpaid"
    pay(api, bank, account, "80000.00")
    account.refresh_from_db()
    assert account.status == "paid" and held(account) == Decimal("200000.00")


def test_overpayment_credits_the_deposit_and_returns_the_excess_to_the_payer(api, bank):
    account = signed_up(published_section())
    pay(api, bank, account, "200500.50")
    txn = BankTransaction.objects.get(account=account)
    assert txn.outcome == "overpaid" and txn.credited == Decimal("200000.00") and txn.returned == Decimal("500.50")
    ret = RefundInstruction.objects.get(bank_txn=txn)
    assert ret.kind == "return" and ret.reason == "excess" and ret.total == Decimal("500.50")
    assert ret.payee_account == account.organization.basic_account_number
    run_outbox()
    ret.refresh_from_db()
    assert ret.status == "done" and bank.executed(ret.instruction_id)
    account.refresh_from_db()
    assert account.status == "paid"  # a return does not touch the deposit itself


def test_payment_one_second_before_the_deadline_counts_and_at_the_deadline_is_late(api, bank):
    section = published_section()
    a1, a2 = signed_up(section), signed_up(section)
    with time_machine.travel(section.bid_deadline - timedelta(seconds=1), tick=False):
        pay(api, bank, a1, "200000.00", paid_at=timezone.now())
    with time_machine.travel(section.bid_deadline, tick=False):
        pay(api, bank, a2, "200000.00", paid_at=timezone.now())
    a1.refresh_from_db(), a2.refresh_from_db()
    assert a1.status == "paid"
    assert a2.status == "unpaid" and BankTransaction.objects.get(account=a2).outcome == "late"
    assert RefundInstruction.objects.get(bank_txn__account=a2).reason == "late"


def test_a_delayed_notification_counts_by_when_the_money_arrived(api, bank):
    section = published_section()
    account = signed_up(section)
    with time_machine.travel(section.bid_deadline - timedelta(minutes=10), tick=False):
        pay(api, bank, account, "200000.00", paid_at=timezone.now(), delay=True)
    with time_machine.travel(section.bid_deadline + timedelta(minutes=2), tick=False):
        assert bank.flush(deliver_with(api)) == [200]
    account.refresh_from_db()
    assert account.status == "paid"


def test_payment_into_an_unknown_account_is_returned_and_shown_to_finance(api, client, bank):
    bank.pay(deliver_with(api), virtual_account="95580000000000000000", amount="1000.00",
             payer_account="6222000011112222", payer_name="某公司")
    txn = BankTransaction.objects.get(virtual_account="95580000000000000000")
    assert txn.outcome == "unknown_account" and txn.account is None
    assert RefundInstruction.objects.get(bank_txn=txn).reason == "unknown_account"
    admin = UserFactory(role=User.Role.ADMIN, organization=None)
    client.force_login(admin)
    html = client.get("/finance/deposits/reconciliation/").content.decode()
    assert "95580000000000000000" in html


def test_r16_a_deposit_not_from_the_basic_account_is_refused_and_returned(api, bank):
    account = signed_up(published_section())
    pay(api, bank, account, "200000.00", payer="6217000099990000")
    txn = BankTransaction.objects.get(account=account)
    account.refresh_from_db()
    assert txn.outcome == "wrong_payer" and "R16" in txn.payer_flag and account.status == "unpaid"
    assert RefundInstruction.objects.get(bank_txn=txn).payee_account == "6217000099990000"
    pay(api, bank, account, "200000.00")  # paid again, from the basic account
    account.refresh_from_db()
    assert account.status == "paid"


def test_r16_the_basic_account_matches_without_spaces_or_dashes(api, bank):
    account = signed_up(published_section())
    number = account.organization.basic_account_number
    pay(api, bank, account, "200000.00", payer=f"{number[:4]} {number[4:8]}-{number[8:]}")
    account.refresh_from_db()
    assert account.status == "paid"


def test_r17_one_payer_account_paying_for_two_bidders_is_a_collusion_signal(api, bank):
    section = published_section()
    a, b, c = signed_up(section), signed_up(section), signed_up(section)
    payer = a.organization.basic_account_number
    pay(api, bank, a, "200000.00")
    pay(api, bank, b, "200000.00", payer=payer)  # refused (R16) but still evidence (R17)
    pay(api, bank, c, "200000.00")
    signal = CollusionSignal.objects.get(section=section, kind="same_payer_account")
    assert set(signal.organizations.all()) == {a.organization, b.organization}
    assert signal.evidence["payer_account"] == payer and len(signal.evidence["payments"]) == 2
    supervisor = supervisor_user()
    assert login(api, supervisor).get("/api/v1/deposits/collusion-signals").json() == []  # R14 until the opening
    Section.objects.filter(pk=section.pk).update(status=Section.Status.OPENING)
    listed = login(api, supervisor).get("/api/v1/deposits/collusion-signals").json()
    assert [s["id"] for s in listed] == [signal.public_id]
    for user in (user_of(a), section.project.created_by):
        assert login(api, user).get("/api/v1/deposits/collusion-signals").status_code == 403


def test_r17_two_bidders_sharing_one_registered_account_are_both_credited_and_flagged(api, bank):
    section = published_section()
    shared = "6222020099998888"
    users = [bidder_user(organization=OrganizationFactory(basic_account_number=shared)) for _ in range(2)]
    accounts = [signed_up(section, u) for u in users]
    for account in accounts:
        pay(api, bank, account, "200000.00")
    assert all(DepositAccount.objects.get(pk=a.pk).status == "paid" for a in accounts)
    assert CollusionSignal.objects.get(section=section).organizations.count() == 2


# --- bad notifications ---------------------------------------------------------------------------

def _post(api, body: bytes, timestamp=None, signature=None, **extra):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    signature = sign(body, timestamp) if signature is None else signature
    return api.post(NOTIFY, data=body, content_type="application/json", HTTP_X_BANK_TIMESTAMP=timestamp,
                    HTTP_X_BANK_SIGNATURE=signature, **extra)


def _payment_body(account, **override) -> bytes:
    data = {"txn_id": "T1", "virtual_account": account.virtual_account, "amount": "200000.00", "currency": "CNY",
            "payer_account": account.organization.basic_account_number, "payer_name": "x",
            "paid_at": timezone.now().isoformat(), **override}
    return json.dumps(data).encode()


def _nothing_booked():
    return not MoneyEntry.objects.exists() and not BankTransaction.objects.exists()


@pytest.mark.parametrize("case", ["forged", "wrong_secret", "unsigned", "expired", "future", "garbage_signature"])
def test_forged_or_expired_notifications_are_refused_and_book_nothing(api, case):
    account = signed_up(published_section())
    body = _payment_body(account)
    now = int(time.time())
    if case == "forged":
        response = _post(api, body.replace(b"200000.00", b"900000.00"), str(now), sign(body, now))
    elif case == "wrong_secret":
        response = _post(api, body, str(now), sign(body, now, b"not-the-secret"))
    elif case == "unsigned":
        response = api.post(NOTIFY, data=body, content_type="application/json")
    elif case == "expired":
        response = _post(api, body, str(now - 301))
    elif case == "future":
        response = _post(api, body, str(now + 301))
    else:
        response = _post(api, body, str(now), "sha256=zz")
    assert response.status_code == 401, response.content
    assert response.json()["error"]["message"]
    assert _nothing_booked()


def test_a_timestamp_exactly_300_seconds_off_is_still_accepted(api):
    account = signed_up(published_section())
    with time_machine.travel(timezone.now(), tick=False):
        response = _post(api, _payment_body(account), str(int(time.time()) - 300))
    assert response.status_code == 200


@pytest.mark.parametrize("body,field", [
    (b"not json", None), (b"[1,2]", None), (b'{"txn_id": "T1"}', "virtual_account"),
    ("amount_float", "amount"), ("amount_negative", "amount"), ("amount_three_decimals", "amount"),
    ("paid_at_naive", "paid_at"), ("currency_bad", "currency"), ("txn_long", "txn_id"),
])
def test_malformed_notifications_get_a_clear_400_and_book_nothing(api, body, field):
    account = signed_up(published_section())
    variants = {
        "amount_float": lambda: _payment_body(account).replace(b'"200000.00"', b"1e5"),
        "amount_negative": lambda: _payment_body(account, amount="-1.00"),
        "amount_three_decimals": lambda: _payment_body(account, amount="1.005"),
        "paid_at_naive": lambda: _payment_body(account, paid_at="2026-01-01T10:00:00"),
        "currency_bad": lambda: _payment_body(account, currency="rmb"),
        "txn_long": lambda: _payment_body(account, txn_id="T" * 65),
    }
    raw = variants[body]() if isinstance(body, str) else body
    response = _post(api, raw)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "malformed" and error["message"] and error.get("field") == field
    assert _nothing_booked()


def test_a_notification_over_16_kib_is_refused_with_413(api):
    account = signed_up(published_section())
    body = _payment_body(account, payer_name="x" * (16 * 1024))
    response = _post(api, body)
    assert response.status_code == 413 and "16 KiB" in response.json()["error"]["message"]
    assert _nothing_booked()


def test_a_txn_id_reused_for_a_different_payment_is_a_conflict(api, bank):
    account = signed_up(published_section())
    assert _post(api, _payment_body(account)).status_code == 200
    response = _post(api, _payment_body(account, amount="1.00"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "txn_id_reused"
    assert MoneyEntry.objects.count() == 1


# --- R14 and the agency ----------------------------------------------------------------------------

def test_r14_the_agency_sees_deposits_only_after_the_opening(api, client, bank):
    section = published_section()
    account = signed_up(section)
    pay(api, bank, account, "200000.00")
    agency = section.project.created_by
    url = f"/api/v1/sections/{section.public_id}/deposits"
    before = login(api, agency).get(url)
    assert before.status_code == 403 and "R14" in before.json()["error"]["message"]
    client.force_login(agency)
    assert client.get(f"/sections/{section.public_id}/deposits/").status_code == 403
    Section.objects.filter(pk=section.pk).update(status=Section.Status.OPENING)
    rows = login(api, agency).get(url).json()["deposits"]
    assert [r["status"] for r in rows] == ["paid"] and rows[0]["payments"][0]["outcome"] == "credited"
    html = client.get(f"/sections/{section.public_id}/deposits/").content.decode()
    assert account.virtual_account in html


def test_r14_before_the_opening_nobody_but_the_bidder_sees_a_deposit(api):
    """R14 holds for every role, the platform included; a supervisor looks earlier only through a break-glass
    (tests/supervision/test_break_glass.py)."""
    section = published_section()
    account = signed_up(section)
    url = f"/api/v1/sections/{section.public_id}/deposits"
    for staff in (supervisor_user(), UserFactory(role=User.Role.ADMIN, organization=None)):
        before = login(api, staff).get(url)
        assert before.status_code == 403 and before.json()["error"]["code"] == "before_opening"
    assert login(api, user_of(account)).get(url).status_code == 403
    assert login(api, user_of(account)).get(f"/api/v1/sections/{section.public_id}/deposit").status_code == 200
    assert login(api, agency_user()).get(url).status_code == 403
    api.force_authenticate(user=None)
    assert api.get(url).status_code in (401, 403)


def test_bidder_deposit_page_shows_account_amount_and_due_only_to_the_bidder(api, client):
    section = published_section()
    account = signed_up(section)
    client.force_login(user_of(account))
    html = client.get(f"/bidder/sections/{section.public_id}/deposit/").content.decode()
    assert account.virtual_account in html and "200,000.00" in html
    client.force_login(bidder_user())
    assert client.get(f"/bidder/sections/{section.public_id}/deposit/").status_code == 404
    client.force_login(section.project.created_by)
    assert client.get(f"/bidder/sections/{section.public_id}/deposit/").status_code == 403
    client.logout()
    assert client.get(f"/bidder/sections/{section.public_id}/deposit/").status_code == 302


def test_the_opening_shows_each_bids_deposit_check(api, bank):
    section = published_section()
    paid, short, unpaid = signed_up(section), signed_up(section), signed_up(section)
    pay(api, bank, paid, "200000.00")
    pay(api, bank, short, "1000.00")

    class FakeBid:
        def __init__(self, account):
            self.section, self.organization_id = section, account.organization_id

    checks = [deposits.deposit_check(FakeBid(a)) for a in (paid, short, unpaid)]
    assert [c["status"] for c in checks] == ["paid", "partial", "unpaid"]
    assert "1,000.00" in checks[1]["label"]


# --- refunds, interest ---------------------------------------------------------------------------

def test_interest_is_act_360_counted_by_day_and_rounded_half_up_once():
    assert interest_for(principal=Decimal("200000.00"), days=30, rate=Decimal("0.0035")) == Decimal("58.33")
    assert interest_for(principal=Decimal("200000.00"), days=365, rate=Decimal("0.0035")) == Decimal("709.72")
    assert interest_for(principal=Decimal("200000.00"), days=0) == Decimal("0.00")
    assert money_round(Decimal("0.005")) == Decimal("0.01") and money_round(Decimal("0.0049")) == Decimal("0.00")


def _paid_at(api, bank, account, moment, amount="200000.00"):
    with time_machine.travel(moment, tick=False):
        pay(api, bank, account, amount, paid_at=timezone.now())


def test_r18_interest_over_exactly_n_days_from_payment_to_refund(api, bank, settings):
    settings.DEPOSIT_INTEREST_ANNUAL_RATE = "0.0035"
    section = published_section()
    account = signed_up(section)
    start = timezone.now().replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 in Shanghai
    _paid_at(api, bank, account, start)
    signed = start + timedelta(days=30)
    (instruction,) = refunds.deposit_refunds_on_contract(section=section, signed_at=signed, now=signed)
    assert instruction.interest_days == 30 and instruction.interest == Decimal("58.33")
    assert instruction.principal == Decimal("200000.00") and instruction.total == Decimal("200058.33")
    assert instruction.due_by == signed + timedelta(days=5)


def test_interest_on_two_payments_counts_each_from_its_own_day(api, bank):
    section = published_section()
    account = signed_up(section)
    start = timezone.now().replace(hour=2, minute=0, second=0, microsecond=0)
    _paid_at(api, bank, account, start, "100000.00")
    _paid_at(api, bank, account, start + timedelta(days=10), "100000.00")
    end = start + timedelta(days=40)
    (instruction,) = refunds.deposit_refunds_on_termination(section=section, now=end)
    exact = Decimal("100000") * Decimal("0.0035") * (40 + 30) / 360
    assert instruction.interest == money_round(exact) and instruction.interest_days == 40


def test_r18_a_refund_is_due_on_day_5_after_signing_and_overdue_on_day_6(api, bank):
    section = published_section()
    account = signed_up(section)
    pay(api, bank, account, "200000.00")
    use_client(None)  # the bank is down: nothing gets paid
    signed = timezone.now() + timedelta(days=1)
    (instruction,) = refunds.deposit_refunds_on_contract(section=section, signed_at=signed, now=signed)
    assert refunds.refund_overdue_alerts(now=signed + timedelta(days=5)) == 0
    assert not refunds.refunds_overdue(now=signed + timedelta(days=5)).exists()
    assert refunds.refund_overdue_alerts(now=signed + timedelta(days=5, seconds=1)) == 1
    assert refunds.refund_overdue_alerts(now=signed + timedelta(days=6)) == 0  # one alert, not one per sweep
    alert = SupervisionAlert.objects.get(instruction=instruction)
    assert alert.kind == "refund_overdue" and alert.resolved_at is None
    use_client(bank)
    run_outbox(now=signed + timedelta(days=6))
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_r18_a_refund_paid_on_day_5_raises_no_alert(api, bank):
    section = published_section()
    account = signed_up(section)
    pay(api, bank, account, "200000.00")
    signed = timezone.now() + timedelta(days=1)
    refunds.deposit_refunds_on_contract(section=section, signed_at=signed, now=signed)
    run_outbox(now=signed + timedelta(days=5))
    assert refunds.refund_overdue_alerts(now=signed + timedelta(days=6)) == 0
    account.refresh_from_db()
    assert account.status == "refunded"


def test_r18_winner_and_losers_are_refunded_once_even_if_the_contract_is_recorded_twice(api, bank):
    section = published_section()
    accounts = [signed_up(section) for _ in range(3)]
    for account in accounts:
        pay(api, bank, account, "200000.00")
    signed = timezone.now()
    first = refunds.deposit_refunds_on_contract(section=section, signed_at=signed)
    again = refunds.deposit_refunds_on_contract(section=section, signed_at=signed)
    assert len(first) == 3 and again == []
    assert RefundInstruction.objects.filter(kind="deposit_refund").count() == 3
    run_outbox()
    run_outbox()
    assert set(DepositAccount.objects.values_list("status", flat=True)) == {"refunded"}
    assert len(bank.refunds) == 3


def test_r19_a_bid_withdrawn_before_the_deadline_is_refunded_within_5_days(api, bank):
    from bidding.services.bids import bid_withdraw
    from tests.bidflow import bid_through_api, kit_for
    from tests.factories import publish_section

    section = publish_section()
    user = bidder_user()
    account = signed_up(section, user)
    pay(api, bank, account, "200000.00")
    receipt, _envelope = bid_through_api(api, kit_for(api, user), section)
    notice = timezone.now()
    bid_withdraw(user=user, bid_id=receipt["bid_id"], now=notice)
    instruction = RefundInstruction.objects.get(account=account)
    assert instruction.reason == "withdrawn" and instruction.due_by == notice + timedelta(days=5)
    account.refresh_from_db()
    assert account.status == "refunding"
    assert not refunds.refunds_overdue(now=notice + timedelta(days=5)).exists()
    assert refunds.refunds_overdue(now=notice + timedelta(days=5, seconds=1)).exists()
    run_outbox()
    account.refresh_from_db()
    assert account.status == "refunded" and bank.executed(instruction.instruction_id)


def test_r20_a_cancelled_tender_returns_every_paid_deposit_with_interest(api, bank):
    from trading.services.lifecycle import section_cancel

    section = published_section()
    paid, unpaid = signed_up(section), signed_up(section)
    start = timezone.now()
    _paid_at(api, bank, paid, start)
    later = start + timedelta(days=12)
    section_cancel(user=section.project.created_by, section_id=section.pk, reason="项目取消", now=later)
    assert refunds.sweep_terminated_sections(now=later) == 1
    assert refunds.sweep_terminated_sections(now=later) == 0
    instruction = RefundInstruction.objects.get(account=paid)
    assert instruction.reason == "terminated" and instruction.interest_days == 12
    assert instruction.interest == interest_for(principal=Decimal("200000.00"), days=12)
    assert not RefundInstruction.objects.filter(account=unpaid).exists()


def test_r20_payment_into_a_cancelled_section_is_returned(api, bank):
    from trading.services.lifecycle import section_cancel

    section = published_section()
    account = signed_up(section)
    section_cancel(user=section.project.created_by, section_id=section.pk, reason="取消")
    pay(api, bank, account, "200000.00")
    assert BankTransaction.objects.get(account=account).outcome == "closed"


# --- R21 forfeiture ------------------------------------------------------------------------------

def _proposed(api, bank, reason="refused_to_sign"):
    section = published_section()
    account = signed_up(section)
    pay(api, bank, account, "200000.00")
    forfeiture = deposits.deposit_forfeit_propose(section=section, organization_id=account.organization_id,
                                                  reason=reason)
    return section, account, forfeiture


def test_r21_a_winner_refusing_to_sign_keeps_nothing_until_a_supervisor_confirms(api, bank):
    section, account, forfeiture = _proposed(api, bank)
    other = signed_up(section)
    pay(api, bank, other, "200000.00")
    made = refunds.deposit_refunds_on_contract(section=section, signed_at=timezone.now())
    assert [i.account_id for i in made] == [other.pk]  # the pending forfeiture is left alone
    assert held(account) == Decimal("200000.00")
    supervisor = supervisor_user()
    deposits.deposit_forfeit_confirm(user=supervisor, forfeiture_id=forfeiture.public_id)
    deposits.deposit_forfeit_confirm(user=supervisor, forfeiture_id=forfeiture.public_id)  # idempotent
    account.refresh_from_db()
    assert account.status == "forfeited" and held(account) == 0
    assert deposits.bucket_balance(account, "forfeited") == Decimal("200000.00")
    assert MoneyEntry.objects.filter(account=account, kind="forfeited").count() == 2
    assert LedgerEntry.objects.filter(action="deposit.forfeited").count() == 1
    assert refunds.deposit_refunds_on_termination(section=section) == []


def test_r21_only_a_supervisor_confirms_a_forfeiture(api, bank):
    section, account, forfeiture = _proposed(api, bank)
    for user in (section.project.created_by, user_of(account), UserFactory(role=User.Role.ADMIN, organization=None)):
        with pytest.raises(PermissionDenied):
            deposits.deposit_forfeit_confirm(user=user, forfeiture_id=forfeiture.public_id)
        response = login(api, user).post(f"/api/v1/deposits/forfeitures/{forfeiture.public_id}/confirm", {},
                                         format="json")
        assert response.status_code == 403
    assert login(api, supervisor_user()).post(f"/api/v1/deposits/forfeitures/{forfeiture.public_id}/confirm",
                                              {"note": "ok"}, format="json").json()["status"] == "confirmed"


def test_r21_a_rejected_forfeiture_is_refunded_instead(api, bank):
    section, account, forfeiture = _proposed(api, bank, reason="revoked")
    response = login(api, supervisor_user()).post(f"/api/v1/deposits/forfeitures/{forfeiture.public_id}/reject",
                                                  {"note": "平台原因"}, format="json")
    assert response.json()["status"] == "rejected"
    assert RefundInstruction.objects.get(account=account).reason == "not_forfeited"


def test_r21_a_bid_revoked_after_the_deadline_is_proposed_for_forfeiture_at_the_opening(api, bank):
    from bidding.models import Bid, RoomEvent
    from bidding.room.decrypt import room_decrypt
    from tests.roomkit import prepare
    from trading.models import Registration
    from trading.sweeps import run_sweeps

    opening = prepare(api, 4)
    for registration in Registration.objects.filter(section=opening.section):
        deposits.deposit_account_open(registration=registration)
    accounts = list(DepositAccount.objects.filter(section=opening.section).order_by("pk"))
    for account in accounts[:3]:
        pay(api, bank, account, "200000.00")
    pay(api, bank, accounts[3], "50000.00")
    deadline = opening.section.bid_deadline
    with time_machine.travel(deadline, tick=False):
        run_sweeps()
        for i in range(3):
            room_decrypt(user=opening.kits[i].user, bid_id=opening.bids[i], k2=opening.k2(i))
    with time_machine.travel(deadline + timedelta(minutes=30), tick=False):
        run_sweeps()
    revoked = Bid.objects.get(public_id=opening.bids[3])
    assert revoked.status == Bid.Status.REVOKED
    forfeiture = DepositForfeiture.objects.get(account__organization=revoked.organization)
    assert forfeiture.reason == "revoked" and forfeiture.status == "pending"
    reads = RoomEvent.objects.filter(room__section=opening.section, type="price_read")
    assert {e.data["deposit"]["status"] for e in reads} == {"paid"}
    assert LedgerEntry.objects.filter(action="deposit.forfeit_proposed").count() == 1


# --- the outbox and a misbehaving bank -----------------------------------------------------------

def test_a_failed_refund_is_retried_with_exponential_backoff(api, settings):
    settings.BANK_RETRY_BASE_SECONDS = 30
    down = BankSimulator(refund_failure_rate=1.0)
    section = published_section()
    account = signed_up(section)
    pay(api, down, account, "200000.00")
    use_client(down)
    now = timezone.now()
    (instruction,) = refunds.deposit_refunds_on_termination(section=section, now=now)
    waits = []
    for _ in range(4):
        refunds.sweep_refund_outbox(now=now)
        instruction.refresh_from_db()
        waits.append((instruction.next_attempt_at - now).total_seconds())
        refunds.sweep_refund_outbox(now=now)  # not due yet: no extra attempt
        now = instruction.next_attempt_at
    assert waits == [30, 60, 120, 240] and instruction.attempts == 4
    assert "outage" in instruction.last_error and instruction.status == "sent"
    down.refund_failure_rate = 0.0
    refunds.sweep_refund_outbox(now=now)
    instruction.refresh_from_db()
    assert instruction.status == "done" and len(down.refunds) == 1


def test_a_lost_answer_is_reconciled_and_never_paid_twice(api):
    flaky = BankSimulator(lost_answer_rate=1.0)
    section = published_section()
    account = signed_up(section)
    pay(api, flaky, account, "200000.00")
    use_client(flaky)
    (instruction,) = refunds.deposit_refunds_on_termination(section=section)
    refunds.refund_outbox_send(client=flaky)
    instruction.refresh_from_db()
    assert instruction.status == "sent" and flaky.executed(instruction.instruction_id)
    refunds.refund_reconcile(client=flaky)
    refunds.refund_reconcile(client=flaky)
    instruction.refresh_from_db()
    assert instruction.status == "done" and len(flaky.refunds) == 1
    assert MoneyEntry.objects.filter(instruction=instruction, kind="paid_out").count() == 1


def test_a_refund_the_bank_rejects_raises_an_alert(api):
    section = published_section()
    account = signed_up(section)
    rejecting = BankSimulator(reject_payees={account.organization.basic_account_number})
    pay(api, rejecting, account, "200000.00")
    (instruction,) = refunds.deposit_refunds_on_termination(section=section)
    refunds.refund_outbox_send(client=rejecting)
    instruction.refresh_from_db()
    assert instruction.status == "rejected"
    assert SupervisionAlert.objects.get(instruction=instruction).kind == "refund_rejected"
    assert deposits.bucket_balance(account, "owed") == instruction.total  # still owed: nothing lost


def _busy_day(api, bank, bidders=12):
    """Payments of every kind into two sections, then refunds, a forfeiture and returns."""
    s1, s2 = published_section(), published_section()
    accounts = [signed_up(s1) for _ in range(bidders)] + [signed_up(s2) for _ in range(3)]
    for i, account in enumerate(accounts):
        pay(api, bank, account, "200000.00" if i % 4 else "200123.45", copies=1 + i % 3)
    pay(api, bank, accounts[1], "100.00", payer="6217000000000001")  # R16 return
    bank.pay(deliver_with(api), virtual_account="95581234567890123456", amount="88.88",
             payer_account="6222999900001111", payer_name="路人")  # unknown account
    forfeiture = deposits.deposit_forfeit_propose(section=s1, organization_id=accounts[0].organization_id,
                                                  reason="refused_to_sign")
    deposits.deposit_forfeit_confirm(user=supervisor_user(), forfeiture_id=forfeiture.public_id)
    later = timezone.now() + timedelta(days=17)
    made = refunds.deposit_refunds_on_contract(section=s1, signed_at=later, now=later)
    made += refunds.deposit_refunds_on_termination(section=s2, now=later)
    return accounts, made, later


def test_a_bank_failing_30_percent_of_refund_instructions_still_pays_each_exactly_once(api):
    bank = BankSimulator(seed=30, refund_failure_rate=0.3, lost_answer_rate=0.1)
    use_client(bank)
    accounts, made, later = _busy_day(api, bank)
    outstanding = RefundInstruction.objects.exclude(status="done")
    now, rounds = later, 0
    while outstanding.exists() and rounds < 60:
        refunds.sweep_refund_outbox(now=now)
        now += timedelta(minutes=70)  # past the longest backoff
        rounds += 1
    instructions = list(RefundInstruction.objects.all())
    assert bank.failures > 0 and bank.calls > len(instructions)
    assert all(i.status == "done" for i in instructions)
    assert sorted(bank.refunds) == sorted(i.instruction_id for i in instructions)
    for i in instructions:
        assert bank.refunds[i.instruction_id]["amount"] == str(i.total)
        assert MoneyEntry.objects.filter(instruction=i, kind="paid_out").count() == 1
    assert set(DepositAccount.objects.filter(pk__in=[a.pk for a in accounts[1:]]).values_list("status", flat=True)) \
        == {"refunded"}


def test_the_reconciliation_report_balances_to_zero_against_the_simulators_records(api):
    bank = BankSimulator(seed=3, refund_failure_rate=0.3)
    use_client(bank)
    _accounts, _made, later = _busy_day(api, bank, bidders=6)
    for step in range(30):
        refunds.sweep_refund_outbox(now=later + timedelta(hours=step))
    admin = UserFactory(role=User.Role.ADMIN, organization=None)
    rows = reconciliation(user=admin)
    assert rows and all(r["difference"] == 0 for r in rows)
    statement = bank.statement()
    comparison = reconcile_with_statement(statement)
    assert comparison and all(r["difference"] == 0 for r in comparison)
    by_section: dict = {}
    for r in rows:
        by_section[r["section"]] = r["cash_end"]
    assert sum(by_section.values()) == sum(row["balance"] for row in statement.values())
    kept = MoneyEntry.objects.filter(bucket__in=["forfeited", "interest"]).values_list("amount", flat=True)
    assert sum(by_section.values()) == sum(kept)  # the forfeit stays, less the interest paid; the rest went out


def test_reconciliation_page_and_csv_are_for_finance_staff_and_supervisors(api, client, bank):
    account = signed_up(published_section())
    pay(api, bank, account, "200000.00")
    admin = UserFactory(role=User.Role.ADMIN, organization=None)
    for user in (admin, supervisor_user()):
        client.force_login(user)
        page = client.get("/finance/deposits/reconciliation/")
        assert page.status_code == 200 and "200000.00" in page.content.decode()
        csv_text = client.get("/finance/deposits/reconciliation/?format=csv").content.decode("utf-8-sig")
        assert csv_text.splitlines()[0].startswith("day,section,received")
        assert login(api, user).get("/api/v1/deposits/reconciliation.csv").status_code == 200
        assert login(api, user).get("/api/v1/deposits/reconciliation").json()["totals"]["difference"] == "0.00"
    for user in (user_of(account), account.section.project.created_by):
        client.force_login(user)
        assert client.get("/finance/deposits/reconciliation/").status_code == 403
        assert login(api, user).get("/api/v1/deposits/reconciliation").status_code == 403
    client.logout()
    api.force_authenticate(user=None)
    assert client.get("/finance/deposits/reconciliation/").status_code == 302
    assert api.get("/api/v1/deposits/reconciliation").status_code in (401, 403)


def test_supervision_endpoints_refuse_bidders_agencies_and_the_public(api, client):
    for url in ("/api/v1/deposits/forfeitures", "/api/v1/deposits/alerts", "/api/v1/deposits/collusion-signals"):
        assert login(api, bidder_user()).get(url).status_code == 403
        assert login(api, agency_user()).get(url).status_code == 403
        assert login(api, supervisor_user()).get(url).status_code == 200
        api.force_authenticate(user=None)
        assert api.get(url).status_code in (401, 403)
    client.force_login(bidder_user())
    assert client.get("/supervisor/deposits/").status_code == 403
    client.force_login(supervisor_user())
    assert client.get("/supervisor/deposits/").status_code == 200


def test_the_supervisor_page_confirms_a_forfeiture(api, client, bank):
    _section, account, forfeiture = _proposed(api, bank)
    client.force_login(supervisor_user())
    response = client.post(f"/supervisor/deposits/forfeitures/{forfeiture.public_id}/confirm/", {"note": "拒签"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == "forfeited"


def test_money_entries_are_append_only(api, bank):
    account = signed_up(published_section())
    pay(api, bank, account, "200000.00")
    entry = MoneyEntry.objects.get(account=account)
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
