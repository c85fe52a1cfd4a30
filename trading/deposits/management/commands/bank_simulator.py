"""银行模拟器: pay into a virtual account with signed notifications, or serve refund instructions.

  manage.py bank_simulator pay --virtual-account 9558... --amount 200000.00 --payer-account 6222... \
      --payer-name "某公司" [--url http://127.0.0.1:8000/api/v1/bank/notifications] [--copies 3]
      [--delay 5] [--bad-signature] [--stale]
  manage.py bank_simulator serve [--port 8765] [--fail-rate 0.3] [--lose-rate 0.1] [--state FILE]
  manage.py bank_simulator statement [--state FILE]

Point the platform at the served bank with BANK_API_URL=http://127.0.0.1:8765.
"""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trading.deposits.bank.client import BankUnavailable
from trading.deposits.bank.simulator import BankSimulator, deliver_http
from trading.deposits.bank.webhook import WebhookError, verify


def _default_state() -> Path:
    return Path(settings.VAR_DIR) / "bank_simulator.json"


class Command(BaseCommand):
    help = "A bank simulator: signed payment notifications in, refund instructions answered."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        pay = sub.add_parser("pay")
        pay.add_argument("--virtual-account", required=True)
        pay.add_argument("--amount", required=True)
        pay.add_argument("--payer-account", required=True)
        pay.add_argument("--payer-name", required=True)
        pay.add_argument("--currency", default="CNY")
        pay.add_argument("--paid-at", help="ISO 8601; default now")
        pay.add_argument("--txn-id")
        pay.add_argument("--url", default="http://127.0.0.1:8000/api/v1/bank/notifications")
        pay.add_argument("--copies", type=int, default=1, help="send the same notification N times")
        pay.add_argument("--delay", type=float, default=0, help="wait this many seconds before notifying")
        pay.add_argument("--bad-signature", action="store_true")
        pay.add_argument("--stale", action="store_true", help="a timestamp 10 minutes old")
        pay.add_argument("--state", type=Path, default=None)
        serve = sub.add_parser("serve")
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=int, default=8765)
        serve.add_argument("--fail-rate", type=float, default=0.0)
        serve.add_argument("--lose-rate", type=float, default=0.0)
        serve.add_argument("--seed", type=int, default=0)
        serve.add_argument("--state", type=Path, default=None)
        statement = sub.add_parser("statement")
        statement.add_argument("--state", type=Path, default=None)

    def handle(self, *args, **options):
        getattr(self, f"do_{options['action']}")(options)

    def do_pay(self, o):
        bank = BankSimulator(state_file=o["state"] or _default_state())
        if o["delay"]:
            time.sleep(o["delay"])
        paid_at = datetime.fromisoformat(o["paid_at"]) if o["paid_at"] else datetime.now(UTC)
        note = bank.notification(virtual_account=o["virtual_account"], amount=Decimal(o["amount"]),
                                 payer_account=o["payer_account"], payer_name=o["payer_name"],
                                 currency=o["currency"], paid_at=paid_at, txn_id=o["txn_id"],
                                 bad_signature=o["bad_signature"],
                                 timestamp=int(time.time()) - 600 if o["stale"] else None)
        deliver = deliver_http(o["url"])
        statuses = [deliver(note.body, note.headers) for _ in range(max(1, o["copies"]))]
        self.stdout.write(json.dumps({"txn_id": note.txn_id, "statuses": statuses}))

    def do_statement(self, o):
        bank = BankSimulator(state_file=o["state"] or _default_state())
        rows = {va: {k: str(v) for k, v in row.items()} for va, row in bank.statement().items()}
        self.stdout.write(json.dumps(rows, indent=1))

    def do_serve(self, o):
        bank = BankSimulator(state_file=o["state"] or _default_state(), seed=o["seed"],
                             refund_failure_rate=o["fail_rate"], lost_answer_rate=o["lose_rate"])
        server = ThreadingHTTPServer((o["host"], o["port"]), _handler(bank))
        self.stdout.write(f"bank simulator on http://{o['host']}:{o['port']} "
                          f"(fail {o['fail_rate']:.0%}, lose {o['lose_rate']:.0%})")
        try:
            server.serve_forever()
        except KeyboardInterrupt:  # pragma: no cover
            raise CommandError("stopped") from None


def _handler(bank: BankSimulator):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _verified(self, body: bytes) -> bool:
            try:
                verify(body=body, timestamp=self.headers.get("X-Bank-Timestamp"),
                       signature=self.headers.get("X-Bank-Signature"), now=datetime.now(UTC))
            except WebhookError as exc:
                self._answer(401, {"error": str(exc.message)})
                return False
            return True

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 16384))
            if self.path != "/refunds" or not self._verified(body):
                return None if self.path == "/refunds" else self._answer(404, {})
            try:
                self._answer(200, bank.refund_send(json.loads(body)))
            except BankUnavailable as exc:
                self._answer(503, {"error": str(exc)})

        def do_GET(self):  # noqa: N802
            if not self.path.startswith("/refunds/") or not self._verified(b""):
                return None if self.path.startswith("/refunds/") else self._answer(404, {})
            record = bank.refund_status(self.path.rsplit("/", 1)[1])
            return self._answer(200, record) if record else self._answer(404, {})

        def log_message(self, *args):
            pass

    return Handler
