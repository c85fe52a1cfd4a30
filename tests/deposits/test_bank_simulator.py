"""The bank simulator: signed notifications, misbehaviour on demand, refund de-duplication, its HTTP
server against the platform's real HTTP client, and the reconciliation command against its statement."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.urls import include, path

from tests.conftest import ROOT
from tests.factories import bidder_user, published_section
from trading.config.urls import urlpatterns as _root_urlpatterns
from trading.deposits.bank.client import BankUnavailable, HttpBankClient, use_client
from trading.deposits.bank.simulator import BankSimulator, deliver_with
from trading.deposits.bank.webhook import Unauthenticated, verify
from trading.deposits.models import BankTransaction, DepositAccount, MoneyEntry
from trading.deposits.services import refunds
from trading.services.registrations import registration_create

urlpatterns = [path("api/v1/", include("trading.deposits.api_urls")), *_root_urlpatterns]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def _bank_client_reset():
    yield
    use_client(None)


def account_for(section=None) -> DepositAccount:
    section = section or published_section()
    user = bidder_user()
    registration_create(user=user, section_id=section.pk)
    return DepositAccount.objects.get(section=section, organization=user.organization)


def pay_kwargs(account, amount="200000.00", **extra) -> dict:
    return {"virtual_account": account.virtual_account, "amount": amount,
            "payer_account": account.organization.basic_account_number, "payer_name": account.organization.name,
            **extra}


def test_simulator_duplicates_are_credited_once(api):
    bank, account = BankSimulator(), account_for()
    assert bank.pay(deliver_with(api), copies=5, **pay_kwargs(account)) == [200] * 5
    assert MoneyEntry.objects.filter(account=account).count() == 1
    assert len(bank.payments) == 1


def test_simulator_bad_signature_and_stale_timestamp_are_refused(api):
    bank, account = BankSimulator(), account_for()
    assert bank.pay(deliver_with(api), bad_signature=True, book=False, **pay_kwargs(account)) == [401]
    assert bank.pay(deliver_with(api), timestamp=int(time.time()) - 3600, book=False,
                    **pay_kwargs(account)) == [401]
    assert not BankTransaction.objects.exists()


def test_simulator_refunds_are_deduplicated_on_the_instruction_id():
    bank = BankSimulator()
    payload = {"instruction_id": "ri1", "amount": "10.00", "payee_account": "1", "from_virtual_account": "va"}
    first, second = bank.refund_send(payload), bank.refund_send(payload)
    assert first == second and first["status"] == "done" and len(bank.refunds) == 1
    assert bank.statement() == {"va": {"in": Decimal(0), "out": Decimal("10.00"), "balance": Decimal("-10.00")}}


def test_simulator_fails_about_the_asked_share_of_refund_calls():
    bank = BankSimulator(seed=1, refund_failure_rate=0.3)
    failed = 0
    for i in range(1000):
        try:
            bank.refund_send({"instruction_id": f"ri{i}", "amount": "1.00", "payee_account": "1",
                              "from_virtual_account": "va"})
        except BankUnavailable:
            failed += 1
    assert 250 <= failed <= 350 and len(bank.refunds) == 1000 - failed


def test_simulator_state_survives_in_its_file_and_the_statement_command_prints_it(tmp_path):
    state = tmp_path / "bank.json"
    bank = BankSimulator(state_file=state)
    bank.notification(virtual_account="va1", amount="5.00", payer_account="1", payer_name="x")
    bank.refund_send({"instruction_id": "ri", "amount": "2.00", "payee_account": "1", "from_virtual_account": "va1"})
    assert BankSimulator(state_file=state).statement()["va1"]["balance"] == Decimal("3.00")
    out = subprocess.run([sys.executable, "manage.py", "bank_simulator", "statement", "--state", str(state)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["va1"] == {"in": "5.00", "out": "2.00", "balance": "3.00"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_bank(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "bank_simulator", "serve", "--port", str(port),
                             "--fail-rate", "0.3", "--seed", "5", "--state", str(tmp_path / "served.json")],
                            cwd=ROOT, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", tmp_path / "served.json"
    proc.terminate()
    proc.wait(timeout=10)


def test_the_platform_pays_every_refund_once_through_the_served_simulator(api, served_bank, settings):
    url, state = served_bank
    settings.BANK_API_URL = url
    feeder = BankSimulator()
    section = published_section()
    accounts = [account_for(section) for _ in range(8)]
    for account in accounts:
        feeder.pay(deliver_with(api), **pay_kwargs(account))
    made = refunds.deposit_refunds_on_termination(section=section)
    now = datetime.now(UTC)
    from datetime import timedelta

    for _ in range(30):
        refunds.sweep_refund_outbox(now=now)
        now += timedelta(hours=2)
    statuses = {i.status for i in type(made[0]).objects.all()}
    assert statuses == {"done"}
    served = json.loads(state.read_text())["refunds"]
    assert sorted(served) == sorted(i.instruction_id for i in made)
    assert HttpBankClient(url).refund_status(made[0].instruction_id)["status"] == "done"
    assert HttpBankClient(url).refund_status("nope") is None


def test_the_served_simulator_refuses_an_unsigned_instruction(served_bank):
    import urllib.error
    import urllib.request

    url, _state = served_bank
    request = urllib.request.Request(url + "/refunds", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401


def test_the_pay_command_sends_signed_copies(settings):
    received = []

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["X-Bank-Timestamp"], self.headers["X-Bank-Signature"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        call_command("bank_simulator", "pay", "--virtual-account", "95580000000000000001", "--amount", "12.34",
                     "--payer-account", "6222", "--payer-name", "甲", "--copies", "2", "--state",
                     str(settings.FILE_STORE_DIR.parent / "b.json"),
                     "--url", f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
    assert len(received) == 2 and received[0] == received[1]
    body, stamp, signature = received[0]
    verify(body=body, timestamp=stamp, signature=signature, now=datetime.now(UTC))
    assert json.loads(body)["amount"] == "12.34"
    with pytest.raises(Unauthenticated):
        verify(body=body + b" ", timestamp=stamp, signature=signature, now=datetime.now(UTC))


def test_deposit_reconcile_command_balances_against_the_statement_and_flags_a_difference(api, tmp_path, capsys):
    bank = BankSimulator()
    use_client(bank)
    section = published_section()
    a, b = account_for(section), account_for(section)
    bank.pay(deliver_with(api), **pay_kwargs(a, "200010.00"))
    bank.pay(deliver_with(api), **pay_kwargs(b))
    refunds.deposit_refunds_on_termination(section=section)
    refunds.sweep_refund_outbox()
    statement = {va: {k: str(v) for k, v in row.items()} for va, row in bank.statement().items()}
    good = tmp_path / "good.json"
    good.write_text(json.dumps(statement))
    call_command("deposit_reconcile", "--statement", str(good))
    assert "BALANCED" in capsys.readouterr().out
    statement[a.virtual_account]["balance"] = "1.00"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(statement))
    with pytest.raises(SystemExit) as exit_code:
        call_command("deposit_reconcile", "--statement", str(bad))
    assert exit_code.value.code == 1 and "NOT BALANCED" in capsys.readouterr().out
