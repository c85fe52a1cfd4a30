"""The command-line bidder tool, run as a bidder would: keygen → seal → inspect → unwrap → open."""

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bidding import envelope

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "投标 passphrase 2025"


def sealer(*args, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["SBE1_PASSPHRASE"] = PASSPHRASE
    done = subprocess.run(
        [sys.executable, "-m", "bidding.sealer", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def bid(tmp_path):
    """Keys, the section's opening key as the API serves it, and a sealed bid."""
    keygen = json.loads(
        sealer(
            "keygen",
            "--out-dir",
            tmp_path / "keys",
            "--backup",
            tmp_path / "backup.json",
            "--organization",
            "91350100M000100Y43",
        ).stdout
    )
    opening = ec.generate_private_key(ec.SECP256R1())
    opening_pem = tmp_path / "opening-private.pem"
    opening_pem.write_bytes(
        opening.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    der = envelope.spki_der(opening.public_key())
    opening_json = tmp_path / "opening-key.json"
    opening_json.write_text(
        json.dumps(
            {
                "kid": envelope.kid_of(opening.public_key()),
                "public_key": base64.b64encode(der).decode(),
                "not_before": "2030-01-01T00:00:00Z",
            }
        )
    )
    documents = tmp_path / "bid.zip"
    documents.write_bytes(os.urandom(150_000))
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"price": "99.50", "currency": "CNY", "duration_days": 30}))
    sealed = json.loads(
        sealer(
            "seal",
            "--opening-key",
            opening_json,
            "--bidder-enc-key",
            tmp_path / "keys/enc-public.pem",
            "--bidder-sign-key",
            tmp_path / "keys/sign-private.pem",
            "--section",
            "SEC-1",
            "--bidder",
            "91350100M000100Y43",
            "--summary",
            summary,
            "--documents",
            documents,
            "--out",
            tmp_path / "bid.sbe1",
            "--chunk-size",
            65536,
        ).stdout
    )
    return {
        "dir": tmp_path,
        "keygen": keygen,
        "sealed": sealed,
        "opening": opening,
        "opening_pem": opening_pem,
        "opening_json": opening_json,
        "documents": documents,
    }


def test_keygen_prints_the_bidder_keys_request_body_and_protects_private_files(bid):
    keys = bid["dir"] / "keys"
    public = serialization.load_pem_public_key((keys / "enc-public.pem").read_bytes())
    assert bid["keygen"]["enc_kid"] == envelope.kid_of(public)
    assert (
        envelope.kid_of(envelope.load_public_key_b64(bid["keygen"]["enc_public_key"]))
        == bid["keygen"]["enc_kid"]
    )
    assert (keys / "sign-private.pem").stat().st_mode & 0o077 == 0
    assert json.loads((bid["dir"] / "backup.json").read_text())["format"] == "sbe1-key-backup"


def test_keygen_refuses_to_overwrite_keys(bid):
    done = sealer("keygen", "--out-dir", bid["dir"] / "keys", check=False)
    assert done.returncode == 1
    assert "--force" in done.stderr


def test_seal_prints_digest_and_a_signature_that_verifies(bid):
    data = (bid["dir"] / "bid.sbe1").read_bytes()
    digest = hashlib.sha256(data).digest()
    assert bid["sealed"]["digest"] == digest.hex()
    sign_public = serialization.load_pem_public_key(
        (bid["dir"] / "keys/sign-public.pem").read_bytes()
    )
    envelope.verify_signature(
        digest=digest,
        signature_der=base64.b64decode(bid["sealed"]["signature"]),
        sign_public_key=sign_public,
    )


def test_inspect_unwrap_and_open_roundtrip(bid):
    d = bid["dir"]
    inspected = json.loads(
        sealer(
            "inspect",
            d / "bid.sbe1",
            "--section",
            "SEC-1",
            "--bidder",
            "91350100M000100Y43",
            "--opening-key",
            bid["opening_json"],
        ).stdout
    )
    assert inspected["digest"] == bid["sealed"]["digest"]
    assert inspected["frame_count"] == 3
    k2 = json.loads(
        sealer("unwrap-k2", d / "bid.sbe1", "--bidder-enc-key", d / "keys/enc-private.pem").stdout
    )["k2"]
    k2_from_backup = json.loads(
        sealer("unwrap-k2", d / "bid.sbe1", "--bidder-enc-key", d / "backup.json").stdout
    )["k2"]
    assert k2 == k2_from_backup
    opened = json.loads(
        sealer(
            "open",
            d / "bid.sbe1",
            "--opening-private-key",
            bid["opening_pem"],
            "--k2",
            k2,
            "--out",
            d / "opened.zip",
        ).stdout
    )
    assert (d / "opened.zip").read_bytes() == bid["documents"].read_bytes()
    assert opened["summary"]["price"] == "99.50"
    assert opened["summary"]["documents"]["name"] == "bid.zip"


def test_open_with_k1_and_wrong_k2_fails_clearly_and_leaves_no_file(bid):
    d = bid["dir"]
    header = envelope.read_header((d / "bid.sbe1").open("rb"))
    k1 = base64.b64encode(envelope.unwrap_key(header, 0, bid["opening"])).decode()
    done = sealer(
        "open",
        d / "bid.sbe1",
        "--k1",
        k1,
        "--k2",
        base64.b64encode(bytes(32)).decode(),
        "--out",
        d / "opened.zip",
        check=False,
    )
    assert done.returncode == 1
    assert "bad_k2" in done.stderr and "K2 is wrong" in done.stderr
    assert not (d / "opened.zip").exists()
    assert not (d / "opened.zip.part").exists()


def test_inspect_of_another_section_reports_the_mismatch(bid):
    done = sealer(
        "inspect",
        bid["dir"] / "bid.sbe1",
        "--section",
        "SEC-2",
        "--bidder",
        "91350100M000100Y43",
        "--opening-key",
        bid["opening_json"],
        check=False,
    )
    assert done.returncode == 1
    assert "section_mismatch" in done.stderr


def test_unwrap_with_backup_and_wrong_passphrase_is_a_clear_error(bid):
    env = {**os.environ, "SBE1_PASSPHRASE": "wrong"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bidding.sealer",
            "unwrap-k2",
            str(bid["dir"] / "bid.sbe1"),
            "--bidder-enc-key",
            str(bid["dir"] / "backup.json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "wrong_passphrase" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_upload_tries_again_after_a_503_and_gets_the_receipt(live_server, tmp_path):
    """A real busy database: another connection holds the section table's write lock for 1.5 s."""
    import sqlite3
    import threading
    import time

    from django.db import connections
    from rest_framework.test import APIClient

    from bidding.models import Bid
    from tests.bidflow import kit_for, seal_bid
    from tests.factories import bidder_user, publish_section, register
    from trading.models import ApiToken

    section = publish_section()
    user = bidder_user()
    register(section, user)
    kit = kit_for(APIClient(), user)
    sealed = seal_bid(APIClient(), kit, section, documents=os.urandom(300_000))
    path = tmp_path / "bid.sbe1"
    path.write_bytes(sealed)
    digest = hashlib.sha256(sealed).digest()
    signature = base64.b64encode(envelope.sign_digest(digest, kit.sign)).decode()

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PLATFORM_TOKEN"] = ApiToken.issue(user)
    name = connections["default"].settings_dict["NAME"]
    assert name.startswith("file:"), name  # the live server shares this in-memory database
    holder = sqlite3.connect(name, uri=True, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE trading_section SET title = title")
    release = threading.Timer(1.5, lambda: holder.execute("ROLLBACK"))
    release.start()
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bidding.sealer", "upload", str(path), "--server", live_server.url,
             "--section", section.public_id, "--digest", digest.hex(), "--signature", signature,
             "--chunk-size", str(128 * 1024)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
    finally:
        release.join()
        holder.close()
    assert done.returncode == 0, done.stderr
    assert "busy" in done.stderr  # at least one 503 was answered and tried again
    assert time.monotonic() - started >= 1.0  # it waited as Retry-After asked
    receipt = json.loads(done.stdout)
    bid = Bid.objects.get(public_id=receipt["bid_id"])
    assert bid.digest == digest.hex() == receipt["digest"]
    assert bid.status == Bid.Status.SUBMITTED


def test_retry_after_is_honoured_within_bounds():
    from bidding.upload_client import MAX_WAIT_SECONDS, retry_after_seconds

    assert 3.0 <= retry_after_seconds("3", attempt=0) <= 3.0 * 1.25
    assert 0.5 <= retry_after_seconds(None, attempt=0) <= 0.5 * 1.25  # no header: our own backoff
    assert 16 <= retry_after_seconds("1", attempt=10) <= 20  # backoff grows, bounded
    assert retry_after_seconds("86400", attempt=0) <= MAX_WAIT_SECONDS * 1.25
