"""断点续传 from the command line: a sealed envelope sent to the platform's API in parallel chunks.

Used by `python -m bidding.sealer upload`. It speaks DESIGN.md §5.3 as the bid page does: create an
upload, PUT chunks (several at once, each with X-Chunk-SHA256), ask which chunks the server holds,
submit the digest and the signature. The upload id is kept in a state file beside the envelope, so
that running the command again after a failure or an interruption sends only the missing chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

CHUNK_SIZE = 8 * 1024 * 1024
RETRY_DELAYS = (0.5, 1, 2, 4)


class UploadFailed(Exception):
    """The server refused, or the network failed after every retry; the message is for the user."""


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read() or b"{}").get("error", {})
    except ValueError:
        error = {}
    return f"HTTP {exc.code}: {error.get('code', '')} {error.get('message', '')}".strip()


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    return isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError))


class Api:
    def __init__(self, server: str, token: str):
        self.base = server.rstrip("/") + "/api/v1/"
        self.token = token

    def call(
        self, method: str, path: str, *, json_body=None, data: bytes | None = None, headers=None
    ):
        """One request with retries on network errors and 5xx; returns the decoded JSON or None."""
        head = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            **(headers or {}),
        }
        if json_body is not None:
            data = json.dumps(json_body).encode()
            head["Content-Type"] = "application/json"
        for attempt in range(len(RETRY_DELAYS) + 1):
            request = urllib.request.Request(
                self.base + path, data=data, method=method, headers=head
            )
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    body = response.read()
                return json.loads(body) if body else None
            except Exception as exc:  # noqa: BLE001 - sorted by _retryable below
                if not _retryable(exc) or attempt == len(RETRY_DELAYS):
                    if isinstance(exc, urllib.error.HTTPError):
                        raise UploadFailed(_error_text(exc)) from None
                    raise UploadFailed(f"network error: {exc}") from None
                time.sleep(RETRY_DELAYS[attempt])


def _state_path(envelope_path: Path) -> Path:
    return envelope_path.with_name(envelope_path.name + ".upload.json")


def _read_chunk(path: Path, index: int, chunk_size: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(index * chunk_size)
        return f.read(min(chunk_size, size - index * chunk_size))


def envelope_upload(
    *,
    api: Api,
    envelope_path: Path,
    section: str,
    digest_hex: str,
    signature_b64: str,
    parallel: int = 4,
    chunk_size: int = CHUNK_SIZE,
    max_chunks: int | None = None,
    progress=None,
) -> dict:
    """Upload (or resume uploading) one envelope and submit it; returns the receipt, or a status if stopped."""
    size = envelope_path.stat().st_size
    state_path = _state_path(envelope_path)
    state = json.loads(state_path.read_text()) if state_path.exists() else None
    if state and (state.get("size") != size or state.get("digest") != digest_hex):
        state = None  # another envelope under the same name: start afresh
    received: set[int] = set()
    if state:
        status = api.call("GET", f"bids/uploads/{state['upload_id']}")
        if status["status"] != "open":
            state = None
        else:
            received = set(status["received"])
            chunk_size = status["chunk_size"]
    if not state:
        created = api.call(
            "POST",
            f"sections/{section}/bids/uploads",
            json_body={"size": size, "chunk_size": chunk_size},
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
        data = _read_chunk(envelope_path, index, chunk_size, size)
        api.call(
            "PUT",
            f"bids/uploads/{upload_id}/chunks/{index}",
            data=data,
            headers={
                "Content-Type": "application/octet-stream",
                "X-Chunk-SHA256": hashlib.sha256(data).hexdigest(),
            },
        )
        return index

    # At most `parallel` chunks read and in flight at once: memory stays at parallel × chunk size.
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, 8))) as pool:
        running = set()
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
    receipt = api.call(
        "POST",
        f"bids/uploads/{upload_id}/submit",
        json_body={"digest": digest_hex, "signature": signature_b64},
    )
    state_path.unlink(missing_ok=True)
    return {**receipt, "submitted": True}
