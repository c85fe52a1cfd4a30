"""断点续传 from the command line: a sealed envelope sent to the platform's API in parallel chunks.

Used by `python -m bidding.sealer upload`. Standard library only, so that it runs on a bidder's machine.
It speaks DESIGN.md §5.3 as the bid page does: create an upload, PUT chunks (several at once, each with
X-Chunk-SHA256), ask which chunks the server holds, submit the digest and the signature. The upload id is
kept in a state file beside the envelope, so that running the command again after a failure or an
interruption sends only the missing chunks.

Retries, a bounded number of times (RETRY_ATTEMPTS) with growing backoff and jitter:
- a 503 (the server is busy for a moment and did nothing, trading/retryable.py) or a 429 on any request,
  after the time Retry-After asks for (seconds or an HTTP date), never less than our own backoff, at
  most MAX_WAIT_SECONDS;
- another 5xx, a 408 or a network error only on requests that are safe to repeat (GET, a chunk PUT,
  the create POST — an extra open upload is harmless); not on submit, whose first try may have gone
  through: running the command again asks the server and resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from email.utils import parsedate_to_datetime
from pathlib import Path

RETRY_ATTEMPTS = 6
BACKOFF_SECONDS = (0.5, 1, 2, 4, 8, 16)
MAX_WAIT_SECONDS = 30.0
DEFAULT_CHUNK_SIZE = CHUNK_SIZE = 8 * 1024 * 1024
MAX_PARALLEL = 8


class UploadFailed(Exception):
    """The server refused a step, or it stayed busy or unreachable through every retry; for the user."""

    def __init__(self, stage: str, status: int, body: dict | str):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.stage, self.status, self.code = stage, status, error.get("code", "")
        if status:
            text = f"HTTP {status}: {self.code} {error.get('message') or ('' if error else str(body)[:200])}"
        else:
            text = f"network error: {body}"
        super().__init__(f"{stage}: {text.strip()}")


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


def _decode(text: str) -> dict | str:
    try:
        return json.loads(text)
    except ValueError:
        return text


class UploadClient:
    """The upload API with retries; safe to share between the threads that PUT chunks."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 300.0,
    ):
        self.base = server.rstrip("/") + "/api/v1/"
        self.token, self.sleep, self.timeout = token, sleep, timeout
        self.waits: list[
            float
        ] = []  # every wait a busy server (503/429) caused, for the caller to report
        self.retries = 0  # network errors and other 5xx tried again
        self._lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        stage: str,
        *,
        json_body=None,
        data: bytes | None = None,
        headers: dict | None = None,
        repeatable: bool | None = None,
    ):
        """One request with bounded retries (see the module docstring); the decoded JSON, or None."""
        head = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            **(headers or {}),
        }
        if json_body is not None:
            data = json.dumps(json_body).encode()
            head["Content-Type"] = "application/json"
        if repeatable is None:
            repeatable = method in ("GET", "PUT")
        for attempt in range(RETRY_ATTEMPTS + 1):
            last = attempt == RETRY_ATTEMPTS
            request = urllib.request.Request(
                self.base + path, data=data, method=method, headers=head
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
                return json.loads(body) if body else None
            except urllib.error.HTTPError as answer:
                detail = _decode(answer.read().decode("utf-8", "replace"))
                if answer.code in (503, 429) and not last:
                    wait_s = retry_after_seconds(answer.headers.get("Retry-After"), attempt)
                    with self._lock:
                        self.waits.append(wait_s)
                    self.sleep(wait_s)
                    continue
                if repeatable and (answer.code >= 500 or answer.code == 408) and not last:
                    self._back_off(attempt)
                    continue
                raise UploadFailed(stage, answer.code, detail) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if repeatable and not last:
                    self._back_off(attempt)
                    continue
                raise UploadFailed(stage, 0, str(getattr(exc, "reason", exc))) from None
        raise AssertionError("unreachable")

    def _back_off(self, attempt: int) -> None:
        with self._lock:
            self.retries += 1
        self.sleep(retry_after_seconds(None, attempt))

    def bid_upload(
        self,
        *,
        envelope: Path,
        section: str,
        digest_hex: str,
        signature_b64: str,
        parallel: int = 4,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_chunks: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict:
        """Upload (or resume uploading) one envelope and submit it; the receipt, or a status if stopped."""
        envelope = Path(envelope)
        size = envelope.stat().st_size
        state_path = _state_path(envelope)
        state = json.loads(state_path.read_text()) if state_path.exists() else None
        if state and (state.get("size") != size or state.get("digest") != digest_hex):
            state = None  # another envelope under the same name: start afresh
        received: set[int] = set()
        if state:
            status = self.call("GET", f"bids/uploads/{state['upload_id']}", "status")
            if status["status"] != "open":
                state = None
            else:
                received = set(status["received"])
                chunk_size = status["chunk_size"]
        if not state:
            created = self.call(
                "POST",
                f"sections/{section}/bids/uploads",
                "create",
                json_body={"size": size, "chunk_size": chunk_size},
                repeatable=True,
            )
            state = {
                "upload_id": created["upload_id"],
                "size": size,
                "digest": digest_hex,
                "chunk_size": chunk_size,
            }
            tmp = state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, state_path)
        upload_id = state["upload_id"]
        count = -(-size // chunk_size)
        missing = [i for i in range(count) if i not in received]
        if max_chunks is not None:
            missing = missing[:max_chunks]

        def send(index: int) -> int:
            data = _read_chunk(envelope, index, chunk_size, size)
            self.call(
                "PUT",
                f"bids/uploads/{upload_id}/chunks/{index}",
                f"chunk {index}",
                data=data,
                headers={
                    "Content-Type": "application/octet-stream",
                    "X-Chunk-SHA256": hashlib.sha256(data).hexdigest(),
                },
            )
            return index

        # At most `parallel` chunks read and in flight at once: memory stays at parallel × chunk size.
        parallel = max(1, min(parallel, MAX_PARALLEL))
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            running: set = set()
            for index in missing:
                if len(running) >= parallel:
                    done, running = wait(running, return_when=FIRST_EXCEPTION)
                    for future in done:
                        received.add(future.result())  # re-raises the first failure
                        if progress:
                            progress(len(received), count)
                running.add(pool.submit(send, index))
            for future in running:
                received.add(future.result())
                if progress:
                    progress(len(received), count)

        if len(received) < count:
            return {
                "upload_id": upload_id,
                "received": len(received),
                "chunk_count": count,
                "submitted": False,
            }
        receipt = self.call(
            "POST",
            f"bids/uploads/{upload_id}/submit",
            "submit",
            json_body={"digest": digest_hex, "signature": signature_b64},
        )
        state_path.unlink(missing_ok=True)
        return {**receipt, "submitted": True}


def _state_path(envelope_path: Path) -> Path:
    return envelope_path.with_name(envelope_path.name + ".upload.json")


def _read_chunk(path: Path, index: int, chunk_size: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(index * chunk_size)
        return f.read(min(chunk_size, size - index * chunk_size))
