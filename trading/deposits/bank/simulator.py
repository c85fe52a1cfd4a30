"""A bank simulator for development, demos and tests (DESIGN.md §9).

It books money into virtual accounts and notifies the platform with signed notifications; it answers
refund instructions and de-duplicates them on ``instruction_id``. It can misbehave on demand: duplicate
or delayed notifications, bad signatures, stale timestamps, refund calls that fail before they execute
(``refund_failure_rate``) and calls whose answer is lost after the money has gone (``lost_answer_rate``).
Its own records (``statement()``) are what the reconciliation report must balance against.
"""

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from trading.deposits.bank.client import BankUnavailable
from trading.deposits.bank.webhook import sign


@dataclass
class Notification:
    body: bytes
    headers: dict
    txn_id: str


@dataclass
class BankSimulator:
    secret: bytes | None = None
    seed: int = 0
    refund_failure_rate: float = 0.0
    lost_answer_rate: float = 0.0
    reject_payees: set = field(default_factory=set)
    state_file: Path | None = None
    payments: list = field(default_factory=list)
    refunds: dict = field(default_factory=dict)
    delayed: list = field(default_factory=list)
    calls: int = 0
    failures: int = 0

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.lock = threading.Lock()
        if self.state_file and Path(self.state_file).exists():
            state = json.loads(Path(self.state_file).read_text())
            self.payments, self.refunds = state["payments"], state["refunds"]

    def _secret(self) -> bytes:
        if self.secret is not None:
            return self.secret
        from trading.deposits.bank.webhook import bank_secret

        return bank_secret()

    def _save(self) -> None:
        if self.state_file:
            Path(self.state_file).write_text(json.dumps({"payments": self.payments, "refunds": self.refunds},
                                                        ensure_ascii=False, indent=1))

    # --- money in ----------------------------------------------------------------------------------

    def notification(self, *, virtual_account: str, amount, payer_account: str, payer_name: str,
                     paid_at: datetime | None = None, currency: str = "CNY", txn_id: str | None = None,
                     timestamp: int | None = None, bad_signature: bool = False, book: bool = True) -> Notification:
        """Book a payment (unless ``book`` is False) and build its signed notification."""
        txn_id = txn_id or "T" + uuid.uuid4().hex[:20].upper()
        paid_at = paid_at or datetime.now(UTC)
        payload = {"txn_id": txn_id, "virtual_account": virtual_account, "amount": str(Decimal(str(amount))),
                   "currency": currency, "payer_account": payer_account, "payer_name": payer_name,
                   "paid_at": paid_at.isoformat()}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        signature = sign(body, stamp, b"wrong-secret" if bad_signature else self._secret())
        if book:
            with self.lock:
                self.payments.append(payload)
                self._save()
        return Notification(body, {"X-Bank-Timestamp": str(stamp), "X-Bank-Signature": signature}, txn_id)

    def pay(self, deliver, *, copies: int = 1, delay: bool = False, **kwargs) -> list:
        """Pay and notify ``copies`` times through ``deliver(body, headers) -> status``; a delayed
        notification waits for ``flush()``."""
        note = self.notification(**kwargs)
        if delay:
            self.delayed.append(note)
            return []
        return [deliver(note.body, note.headers) for _ in range(copies)]

    def flush(self, deliver) -> list:
        """Send the delayed notifications now, signed now, as a bank would."""
        notes, self.delayed = self.delayed, []
        results = []
        for note in notes:
            stamp = int(time.time())
            results.append(deliver(note.body, {"X-Bank-Timestamp": str(stamp),
                                               "X-Bank-Signature": sign(note.body, stamp, self._secret())}))
        return results

    # --- money out ---------------------------------------------------------------------------------

    def refund_send(self, payload: dict) -> dict:
        with self.lock:
            self.calls += 1
            if self.rng.random() < self.refund_failure_rate:
                self.failures += 1
                raise BankUnavailable("simulated outage: instruction not executed")
            instruction_id = payload["instruction_id"]
            if instruction_id not in self.refunds:
                if payload["payee_account"] in self.reject_payees:
                    self.refunds[instruction_id] = {"instruction_id": instruction_id, "status": "rejected",
                                                    "error": "payee account closed", "amount": "0.00",
                                                    "from_virtual_account": payload["from_virtual_account"]}
                else:
                    self.refunds[instruction_id] = {
                        "instruction_id": instruction_id, "status": "done",
                        "bank_ref": "R" + uuid.uuid4().hex[:16].upper(), "amount": payload["amount"],
                        "payee_account": payload["payee_account"],
                        "from_virtual_account": payload["from_virtual_account"],
                        "executed_at": datetime.now(UTC).isoformat()}
                self._save()
            answer = dict(self.refunds[instruction_id])
            if self.rng.random() < self.lost_answer_rate:
                self.failures += 1
                raise BankUnavailable("simulated timeout: executed, answer lost")
            return answer

    def refund_status(self, instruction_id: str) -> dict | None:
        with self.lock:
            record = self.refunds.get(instruction_id)
            return dict(record) if record else None

    # --- the bank's own records --------------------------------------------------------------------

    def statement(self) -> dict:
        """Per virtual account: money in, money out and the balance, from the bank's side only."""
        accounts: dict[str, dict] = {}
        for p in self.payments:
            row = accounts.setdefault(p["virtual_account"], {"in": Decimal(0), "out": Decimal(0)})
            row["in"] += Decimal(p["amount"])
        for r in self.refunds.values():
            if r["status"] == "done":
                row = accounts.setdefault(r["from_virtual_account"], {"in": Decimal(0), "out": Decimal(0)})
                row["out"] += Decimal(r["amount"])
        for row in accounts.values():
            row["balance"] = row["in"] - row["out"]
        return accounts

    def executed(self, instruction_id: str) -> bool:
        record = self.refunds.get(instruction_id)
        return bool(record and record["status"] == "done")


def deliver_with(client, path: str = "/api/v1/bank/notifications"):
    """A deliver function over a Django test client (or DRF APIClient)."""

    def deliver(body: bytes, headers: dict) -> int:
        extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        return client.post(path, data=body, content_type="application/json", **extra).status_code

    return deliver


def deliver_http(url: str, *, timeout: float = 10.0):
    """A deliver function over real HTTP, for the management command."""
    import urllib.error
    import urllib.request

    def deliver(body: bytes, headers: dict) -> int:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    return deliver
