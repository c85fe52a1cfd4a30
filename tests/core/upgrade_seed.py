"""Seed for tests/core/test_upgrade_path.py, run by the OLD code (commit fee6b2a, before the capability apps).

The test extracts the old tree, copies this file into it and runs it there with the old tree on PYTHONPATH
and ``DJANGO_SETTINGS_MODULE=trading.settings``, after the old ``migrate``, ``tsa_init`` and ``seed_demo``.
It therefore imports only what existed at fee6b2a (``trading.models.DepositAccount``, ``trading.bank``,
``tests.factories`` and ``tests.bidflow`` of that tree). It adds what ``seed_demo`` does not make:

- a published section with five bidders signed up through the real service (deposit sub-accounts), four
  deposits paid through the bank simulator's signed notifications, two of them from one payer account
  (a collusion signal; the second payment is returned, and the bank rejects the return);
- three sealed bids uploaded and submitted through the API, and a fourth submitted and withdrawn (a refund
  instruction, sent to the simulated bank and booked);
- a forfeiture proposed and confirmed by a supervisor for the bidder that paid but did not bid;
- a credit record (blacklist entry) with its decision document, an appeal, and a poor service rating
  with its follow-up, and the sweeps run once (deadline and supervision alerts).

Prints one JSON object with what it made.
"""

import json
import os
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.settings")


def _setup() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from tests import factories
    from trading.models import Section

    offset = 1000 * (Section.objects.count() + 1)  # factory sequences clear of the demo's codes
    for factory_class in (factories.OrganizationFactory, factories.UserFactory, factories.ProjectFactory,
                          factories.SectionFactory):
        factory_class.reset_sequence(offset)


def seed() -> dict:
    # The old tree's modules (trading.bank, trading.models.credit) are unknown to ruff's isort here.
    from decimal import Decimal  # noqa: I001

    from django.utils import timezone
    from rest_framework.test import APIClient

    from tests.bidflow import bid_through_api, kit_for
    from tests.factories import OrganizationFactory, bidder_user, publish_section, supervisor_user
    from trading.bank.client import use_client
    from trading.bank.simulator import BankSimulator, deliver_with
    from trading.models import DepositAccount, Section
    from trading.models.credit import CreditRecord
    from trading.services import blacklist, deposits, ratings, refunds
    from trading.services.registrations import registration_create
    from trading.sweeps import run_sweeps

    api = APIClient()
    bank = BankSimulator(seed=11)
    use_client(bank)
    section = publish_section(deadline_days=20)
    users = [bidder_user() for _ in range(5)]
    accounts = []
    for user in users:
        registration_create(user=user, section_id=section.pk)
        accounts.append(DepositAccount.objects.get(section=section, organization=user.organization))
    shared_payer = users[0].organization.basic_account_number
    bank.reject_payees.add(shared_payer)  # the money returned to it bounces: a supervision alert
    for i, account in enumerate(accounts[:4]):
        payer = shared_payer if i in (0, 1) else account.organization.basic_account_number
        statuses = bank.pay(deliver_with(api), virtual_account=account.virtual_account,
                            amount=Decimal(section.deposit_amount), payer_account=payer,
                            payer_name=account.organization.name)
        assert all(s in (200, 201, 202) for s in statuses), statuses

    bids = []
    for user in users[:4]:
        kit = kit_for(api, user)
        receipt, envelope = bid_through_api(api, kit, section, price=f"{9_000_000 + len(bids) * 1000}.00")
        bids.append(receipt["bid_id"])
    from bidding.services.bids import bid_withdraw

    bid_withdraw(user=users[3], bid_id=bids[3])
    refunds.sweep_refund_outbox(now=timezone.now())

    supervisor = supervisor_user()
    forfeiture = deposits.deposit_forfeit_propose(section=section, organization_id=users[2].organization_id,
                                                  reason="revoked", detail="upgrade seed")
    if forfeiture is not None:
        deposits.deposit_forfeit_confirm(user=supervisor, forfeiture_id=forfeiture.pk, note="upgrade seed")

    barred = OrganizationFactory()
    today = timezone.localdate()
    record = blacklist.credit_record_create(
        user=supervisor, party_kind=CreditRecord.PartyKind.BIDDER, organization=barred,
        conduct="与其他投标人相互串通投标报价", basis=CreditRecord.Basis.COLLUSION,
        legal_basis="《招标投标法实施条例》第六十七条", measure=CreditRecord.Measure.BAR, authority="市发展和改革委员会",
        decision_number="杭发改罚〔2026〕99号", decision_date=today, starts_on=today,
        ends_on=today + timedelta(days=364), document_name="处罚决定书.pdf",
        document_chunks=[b"%PDF-1.4 upgrade seed decision"])
    barred_user = bidder_user(organization=barred)
    blacklist.credit_appeal_submit(user=barred_user, record_id=record.public_id, text="我司对处罚决定有异议，申请复核。")
    ratings.rating_submit(user=users[4], section=section, stage="registration", score=2, comment="报名页面加载缓慢")
    sweeps = run_sweeps()
    section = Section.objects.get(pk=section.pk)
    return {"section": section.public_id, "bids": bids, "accounts": [a.virtual_account for a in accounts],
            "forfeiture": forfeiture.pk if forfeiture else None, "credit_record": record.public_id,
            "sweeps": {k: str(v) for k, v in sweeps.items()}}


if __name__ == "__main__":
    _setup()
    print(json.dumps(seed(), ensure_ascii=False))
