"""The outbound side: refund instructions sent to the bank, signed like its notifications.

``POST {BANK_API_URL}/refunds`` with the instruction as JSON answers ``{"instruction_id", "status":
"done"|"processing"|"rejected", "bank_ref"}``; the bank de-duplicates on ``instruction_id``, so a resend
answers with the first result. ``GET {BANK_API_URL}/refunds/<instruction_id>`` answers the same or 404.
"""

import json
import time
import urllib.error
import urllib.request

from django.conf import settings

from trading.deposits.bank.webhook import signed_headers


class BankUnavailable(Exception):
    """The bank did not answer (or answered 5xx): try again later."""


class HttpBankClient:
    def __init__(self, base_url: str, *, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict | None:
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        headers = {"Content-Type": "application/json", **signed_headers(body, int(time.time()))}
        request = urllib.request.Request(self.base_url + path, data=body if payload is not None else None,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code >= 500:
                raise BankUnavailable(f"bank answered {exc.code}") from None
            return {"status": "rejected", "error": f"bank answered {exc.code}: {exc.read()[:200]!r}"}
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise BankUnavailable(f"bank unreachable: {exc}") from None

    def refund_send(self, payload: dict) -> dict:
        return self._call("POST", "/refunds", payload) or {"status": "processing"}

    def refund_status(self, instruction_id: str) -> dict | None:
        return self._call("GET", f"/refunds/{instruction_id}")


_override = None
_dev_simulator = None


def use_client(client) -> None:
    """Tests and the demo put a simulator in place of the bank; None restores the default."""
    global _override
    _override = client


def bank_client():
    """The configured bank; in development without BANK_API_URL, an in-process simulator."""
    global _dev_simulator
    if _override is not None:
        return _override
    url = settings.BANK_API_URL
    if url:
        return HttpBankClient(url)
    if settings.PRODUCTION:
        return None  # production without a bank configured sends nothing; the overdue alerts will tell
    if _dev_simulator is None:
        from trading.deposits.bank.simulator import BankSimulator

        _dev_simulator = BankSimulator()
    return _dev_simulator
