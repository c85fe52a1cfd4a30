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
