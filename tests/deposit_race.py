"""Fire one deposit operation from several threads in one process, for the PostgreSQL concurrency tests.

usage:
  python tests/deposit_race.py seed
  python tests/deposit_race.py notify locked|unlocked <body_file> <go_file> <threads>
  python tests/deposit_race.py refund locked|unlocked <account_id> <go_file> <threads>

Every thread has its own database connection. All wait for go_file, then fire together. A 0.3 s pause
inside the critical section widens the window in which the others can interfere. ``unlocked`` replaces
the row locks with plain reads: the control that shows the race (the test also drops the constraint).
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from trading.deposits.bank.webhook import sign  # noqa: E402
from trading.deposits.models import DepositAccount  # noqa: E402
from trading.deposits.services import deposits, refunds  # noqa: E402

PAUSE = 0.3


def seed() -> None:
    from decimal import Decimal

    from tests.factories import bidder_user, published_section
    from trading.deposits.bank.webhook import parse_payment
    from trading.services.registrations import registration_create

    section = published_section()
    user = bidder_user()
    registration_create(user=user, section_id=section.pk)
    account = DepositAccount.objects.get(section=section)
    body = json.dumps({"txn_id": "SEED-1", "virtual_account": account.virtual_account, "amount": "200000.00",
                       "currency": "CNY", "payer_account": account.organization.basic_account_number,
                       "payer_name": account.organization.name, "paid_at": timezone.now().isoformat()}).encode()
    print(json.dumps({"account_id": account.pk, "virtual_account": account.virtual_account,
                      "payer_account": account.organization.basic_account_number,
                      "payer_name": account.organization.name, "amount": str(Decimal("200000.00"))}))
    if os.environ.get("SEED_PAID") == "1":
        deposits.payment_record(payment=parse_payment(body), body_sha256="seed", now=timezone.now())


def _slowed(module, name: str) -> None:
    original = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(PAUSE)
        return original(*args, **kwargs)

    setattr(module, name, slow)


def _unlock() -> None:
    deposits._lock_section = lambda section_id: None
    deposits._lock_account = lambda account_id: (
        DepositAccount.objects.select_related("section", "organization").get(pk=account_id))


def _fire(target, threads: int, go: Path) -> None:
    errors = []

    def run():
        while not go.exists():
            time.sleep(0.005)
        try:
            target()
        except Exception as exc:  # a refused duplicate is fine; report anything else
            errors.append(repr(exc))
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for error in errors:
        print("ERROR", error, file=sys.stderr)


def main() -> None:
    action = sys.argv[1]
    if action == "seed":
        return seed()
    mode, arg, go, threads = sys.argv[2], sys.argv[3], Path(sys.argv[4]), int(sys.argv[5])
    if mode == "unlocked":
        _unlock()
    if action == "notify":
        body = Path(arg).read_bytes()
        _slowed(deposits, "_classify")

        def target():
            stamp = int(time.time())
            deposits.bank_notification_receive(body=body, timestamp=str(stamp), signature=sign(body, stamp))
    else:
        _slowed(refunds, "interest_on_receipts")

        def target():
            refunds.deposit_refund_decide(account_id=int(arg), reason="terminated",
                                          due_by=timezone.now(), now=timezone.now())
    _fire(target, threads, go)


if __name__ == "__main__":
    main()
