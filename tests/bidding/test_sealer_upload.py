"""`python -m bidding.sealer upload` against a live server: parallel chunks, stop, resume, receipt."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from bidding.models import Bid, UploadChunk
from tests.bidflow import kit_for, seal_bid
from tests.factories import bidder_user, publish_section, register
from trading.models import ApiToken

ROOT = Path(__file__).resolve().parents[2]


def _upload(
    envelope: Path, server: str, section: str, key: Path, token: str, *extra
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["SBE1_API_TOKEN"] = token
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bidding.sealer",
            "upload",
            str(envelope),
            "--server",
            server,
            "--section",
            section,
            "--bidder-sign-key",
            str(key),
            "--chunk-size",
            "65536",
            *map(str, extra),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_cli_upload_stops_resumes_with_only_the_missing_chunks_and_gets_a_receipt(
    live_server, tmp_path
):
    section = publish_section()
    user = bidder_user()
    register(section, user)
    api = APIClient()
    kit = kit_for(api, user)
    data = seal_bid(api, kit, section, documents=os.urandom(1_000_000))
    envelope = tmp_path / "bid.sbe1"
    envelope.write_bytes(data)
    key = tmp_path / "sign-private.pem"
    key.write_bytes(
        kit.sign.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    token = ApiToken.issue(user)
    count = -(-len(data) // 65536)

    first = _upload(
        envelope, live_server.url, section.public_id, key, token, "--parallel", 3, "--max-chunks", 5
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "upload_id": json.loads(first.stdout)["upload_id"],
        "received": 5,
        "chunk_count": count,
        "submitted": False,
    }
    upload_id = json.loads(first.stdout)["upload_id"]
    assert UploadChunk.objects.filter(upload__public_id=upload_id).count() == 5
    assert (tmp_path / "bid.sbe1.upload.json").exists()

    second = _upload(envelope, live_server.url, section.public_id, key, token, "--parallel", 4)
    assert second.returncode == 0, second.stderr
    receipt = json.loads(second.stdout)
    assert receipt["submitted"] is True and receipt["digest"] == hashlib.sha256(data).hexdigest()
    progress = second.stderr.split()
    assert progress[0] == "6/" + str(count)  # the 5 chunks already held were not counted again
    assert f"{count}/{count}" in progress
    assert not (tmp_path / "bid.sbe1.upload.json").exists()
    bid = Bid.objects.get(public_id=receipt["bid_id"])
    assert bid.status == Bid.Status.SUBMITTED and bid.digest == receipt["digest"]


@pytest.mark.django_db(transaction=True)
def test_cli_upload_with_a_wrong_token_fails_clearly(live_server, tmp_path):
    section = publish_section()
    envelope = tmp_path / "bid.sbe1"
    envelope.write_bytes(b"SBE1" + bytes(100))
    key = tmp_path / "k.pem"
    from cryptography.hazmat.primitives.asymmetric import ec

    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    done = _upload(envelope, live_server.url, section.public_id, key, "not-a-token")
    assert done.returncode == 1
    assert "HTTP 401" in done.stderr or "HTTP 403" in done.stderr, done.stderr


class _FakeApi:
    """urlopen for the upload API: the listed requests answer with an HTTP error once (or always)."""

    def __init__(self, size: int, chunk_size: int, fail: dict[str, tuple[int, dict]], always=()):
        self.count = -(-size // chunk_size)
        self.chunk_size = chunk_size
        self.fail, self.always = fail, set(always)
        self.seen: list[str] = []

    def __call__(self, request, timeout=None):
        import io
        import urllib.error
        from email.message import Message

        key = f"{request.get_method()} {request.full_url.split('/api/v1/', 1)[1]}"
        self.seen.append(key)
        if key in self.fail:
            status, headers = self.fail[key] if key in self.always else self.fail.pop(key)
            head = Message()
            for name, value in headers.items():
                head[name] = value
            body = io.BytesIO(
                json.dumps({"error": {"code": "retry_later", "message": "x"}}).encode()
            )
            raise urllib.error.HTTPError(request.full_url, status, "error", head, body)
        if key.endswith("/bids/uploads"):
            answer = {"upload_id": "U1", "chunk_count": self.count}
        elif key.endswith("/submit"):
            answer = {"bid_id": "B1", "digest": "d"}
        else:
            answer = None
        return io.BytesIO(json.dumps(answer).encode() if answer is not None else b"")


def test_client_retries_a_503_on_create_and_on_a_parallel_chunk_after_retry_after(
    tmp_path, monkeypatch
):
    from bidding import upload_client

    envelope = tmp_path / "bid.sbe1"
    envelope.write_bytes(os.urandom(5 * 1000))
    fake = _FakeApi(
        5000,
        1000,
        {
            "POST sections/S/bids/uploads": (503, {"Retry-After": "3"}),
            "PUT bids/uploads/U1/chunks/2": (503, {"Retry-After": "2"}),
        },
    )
    monkeypatch.setattr(upload_client.urllib.request, "urlopen", fake)
    slept: list[float] = []
    client = upload_client.UploadClient("http://x", "t", sleep=slept.append)
    receipt = client.bid_upload(
        envelope=envelope,
        section="S",
        digest_hex="d",
        signature_b64="s",
        parallel=3,
        chunk_size=1000,
    )
    assert receipt["submitted"] is True
    assert sorted(k for k in fake.seen if k.startswith("PUT")) == sorted(
        [f"PUT bids/uploads/U1/chunks/{i}" for i in range(5)] + ["PUT bids/uploads/U1/chunks/2"]
    )
    assert len(client.waits) == 2 and sorted(slept) == sorted(client.waits)
    assert 3 <= max(slept) <= 3 * 1.25 and 2 <= min(slept) <= 2 * 1.25  # as Retry-After asked
    assert not (tmp_path / "bid.sbe1.upload.json").exists()


def test_client_gives_up_after_bounded_503s_and_does_not_repeat_a_failed_submit(
    tmp_path, monkeypatch
):
    from bidding import upload_client

    envelope = tmp_path / "bid.sbe1"
    envelope.write_bytes(os.urandom(2000))
    busy = {"PUT bids/uploads/U1/chunks/0": (503, {"Retry-After": "1"})}
    fake = _FakeApi(2000, 1000, busy, always=busy)
    monkeypatch.setattr(upload_client.urllib.request, "urlopen", fake)
    slept: list[float] = []
    client = upload_client.UploadClient("http://x", "t", sleep=slept.append)
    with pytest.raises(upload_client.UploadFailed, match="HTTP 503"):
        client.bid_upload(
            envelope=envelope, section="S", digest_hex="d", signature_b64="s", chunk_size=1000
        )
    assert fake.seen.count("PUT bids/uploads/U1/chunks/0") == upload_client.RETRY_ATTEMPTS + 1
    assert len(slept) == upload_client.RETRY_ATTEMPTS
    assert all(w <= upload_client.MAX_WAIT_SECONDS * 1.25 for w in slept)
    assert (tmp_path / "bid.sbe1.upload.json").exists()  # the next run resumes this upload

    # A 500 on submit is not tried again (the first try may have gone through); the state stays for a rerun.
    (tmp_path / "bid.sbe1.upload.json").unlink()
    fake = _FakeApi(2000, 1000, {"POST bids/uploads/U1/submit": (500, {})})
    monkeypatch.setattr(upload_client.urllib.request, "urlopen", fake)
    with pytest.raises(upload_client.UploadFailed, match="submit: HTTP 500"):
        upload_client.UploadClient("http://x", "t", sleep=slept.append).bid_upload(
            envelope=envelope, section="S", digest_hex="d", signature_b64="s", chunk_size=1000
        )
    assert fake.seen.count("POST bids/uploads/U1/submit") == 1
