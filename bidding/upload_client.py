"""The bidder tool's HTTP client for the fixed upload API (DESIGN.md §5.3, §11): create, PUT chunks, submit.

Standard library only, so that it runs on a bidder's machine. A 503 with Retry-After (the server is busy,
nothing was done) is tried again after the time it asks for, with backoff, a bounded number of times.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

RETRY_ATTEMPTS = 6
BACKOFF_SECONDS = (0.5, 1, 2, 4, 8, 16)
MAX_WAIT_SECONDS = 30.0
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024


class UploadFailed(Exception):
    """The server refused a step, or stayed busy through every retry."""

    def __init__(self, stage: str, status: int, body: dict | str):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.stage, self.status, self.code = stage, status, error.get("code", "")
        super().__init__(f"{stage}: HTTP {status}: {error.get('message') or str(body)[:200]}")


def retry_after_seconds(value: str | None, attempt: int) -> float:
    """The wait a 503 asks for (seconds or an HTTP date), never less than our own backoff, at most 30 s."""
    backoff = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
    asked = 0.0
    if value:
        try:
            asked = float(value)
        except ValueError:
            try:
                asked = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                asked = 0.0
    return min(MAX_WAIT_SECONDS, max(asked, backoff)) * (1 + random.random() / 4)


class UploadClient:
    def __init__(self, server: str, token: str, *, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = 120.0):
        self.server, self.token, self.sleep, self.timeout = server.rstrip("/"), token, sleep, timeout
        self.waits: list[float] = []  # every wait a 503 caused, for the caller to report

    def call(self, method: str, path: str, stage: str, *, body: bytes | None = None,
             headers: dict | None = None) -> dict:
        for attempt in range(RETRY_ATTEMPTS + 1):
            request = urllib.request.Request(f"{self.server}{path}", data=body, method=method, headers={
                "Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    text = response.read()
                    return json.loads(text) if text else {}
            except urllib.error.HTTPError as answer:
                text = answer.read().decode("utf-8", "replace")
                if answer.code == 503 and attempt < RETRY_ATTEMPTS:
                    wait = retry_after_seconds(answer.headers.get("Retry-After"), attempt)
                    self.waits.append(wait)
                    self.sleep(wait)
                    continue
                try:
                    detail = json.loads(text)
                except ValueError:
                    detail = text
                raise UploadFailed(stage, answer.code, detail) from None
        raise AssertionError("unreachable")

    def post_json(self, path: str, stage: str, data: dict) -> dict:
        return self.call("POST", path, stage, body=json.dumps(data).encode(),
                         headers={"Content-Type": "application/json"})

    def bid_upload(self, *, section: str, envelope: Path, digest_hex: str, signature_b64: str,
                   chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict:
        """Upload a sealed envelope and submit it; returns the receipt (回执)."""
        size = envelope.stat().st_size
        created = self.post_json(f"/api/v1/sections/{section}/bids/uploads", "create",
                                 {"size": size, "chunk_size": chunk_size})
        upload_id = created["upload_id"]
        with open(envelope, "rb") as source:
            for index in range(created["chunk_count"]):
                data = source.read(chunk_size)
                self.call("PUT", f"/api/v1/bids/uploads/{upload_id}/chunks/{index}", f"chunk {index}",
                          body=data, headers={"Content-Type": "application/octet-stream",
                                              "X-Chunk-SHA256": hashlib.sha256(data).hexdigest()})
        return self.post_json(f"/api/v1/bids/uploads/{upload_id}/submit", "submit",
                              {"digest": digest_hex, "signature": signature_b64})
