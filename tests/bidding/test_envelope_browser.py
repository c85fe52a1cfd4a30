"""SBE1 in real Chromium: static/js/sbe1.js and keystore.js against bidding.envelope/keybackup.

The page is tests/browser_harness/, served with static/ by a plain http.server on
127.0.0.1 (WebCrypto needs a secure context, which loopback is). No Django server.
Set SBE1_WRITE_JS_VECTORS=1 to rewrite tests/vectors/sbe1/js-*.json from the browser.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bidding import envelope

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "sbe1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVED = {"/static/": ROOT / "static", "/harness/": ROOT / "tests" / "browser_harness"}
SECTION = "SEC-7Q2K9M"
BIDDER = "91110000600037341L"
SUMMARY = {"price": "1234567.89", "currency": "CNY", "duration_days": 180, "note": "投标报价"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# --- serving and driving the page -----------------------------------------------------------


class _HarnessHandler(SimpleHTTPRequestHandler):
    """Serves only static/ and the harness; everything else is 404."""

    extensions_map = {
        ".js": "text/javascript",
        ".html": "text/html",
        ".json": "application/json",
        "": "application/octet-stream",
    }

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in SERVED.items():
            if path.startswith(prefix):
                target = (folder / path[len(prefix) :]).resolve()
                if target.is_relative_to(folder):
                    return str(target)
        return str(ROOT / "nonexistent")

    def log_message(self, format, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def harness_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HarnessHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/harness/index.html"
    server.shutdown()
    server.server_close()


def _unavailable(reason: str):
    from tests.services import unavailable

    unavailable(reason)  # skips here, fails in CI (REQUIRE_SERVICES=1)


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Harness:
    """Calls window.H.<name>(arg) in the page and returns the JSON result."""

    def __init__(self, page):
        self.page = page

    def __getattr__(self, name):
        return functools.partial(self._call, name)

    def _call(self, name, arg=None):
        return self.page.evaluate(f"(arg) => window.H.{name}(arg)", arg)


@pytest.fixture
def harness(chromium, harness_url):
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(harness_url)
    try:
        page.wait_for_function("window.harnessReady === true", timeout=10_000)
    except Exception:
        pytest.fail(f"harness did not load: {errors}")
    yield Harness(page)
    context.close()


# --- keys -----------------------------------------------------------------------------------


def _spki(public_key) -> bytes:
    return envelope.spki_der(public_key)


def _pkcs8(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private_key(pkcs8_b64: str):
    return serialization.load_der_private_key(unb64(pkcs8_b64), password=None)


@pytest.fixture(scope="module")
def opening_key():
    return ec.generate_private_key(ec.SECP256R1())


def _seal_random(harness, opening_key, size: int, chunk_size: int) -> dict:
    """Random documents sealed and signed in the browser with fresh browser bidder keys."""
    return harness.sealRandom(
        {
            "size": size,
            "chunk_size": chunk_size,
            "section": SECTION,
            "bidder": BIDDER,
            "summary": SUMMARY,
            "opening_spki": b64(_spki(opening_key.public_key())),
        }
    )


# --- browser alone --------------------------------------------------------------------------


@pytest.mark.browser
def test_kid_is_sha256_hex_of_spki(harness, opening_key):
    spki = _spki(opening_key.public_key())
    assert harness.kidOf(b64(spki)) == hashlib.sha256(spki).hexdigest()


@pytest.mark.browser
def test_browser_seal_then_open_round_trip_with_k2_unwrapped_by_bidder_key(harness, opening_key):
    sealed = _seal_random(harness, opening_key, 200_000, 65536)
    k1 = harness.unwrapK1({"envelope": sealed["envelope"], "pkcs8": b64(_pkcs8(opening_key))})["ok"]
    opened = harness.open({"envelope": sealed["envelope"], "k1": k1, "k2": sealed["k2"]})["ok"]
    assert opened["documents"] == sealed["documents"]
    assert opened["summary"]["documents"]["size"] == 200_000
    assert sealed["progress_phases"] == ["hash", "encrypt"]


@pytest.mark.browser
def test_browser_signature_is_der_and_verifies_in_browser(harness, opening_key):
    sealed = _seal_random(harness, opening_key, 1000, 65536)
    signature = unb64(sealed["signature"])
    assert signature[0] == 0x30 and signature[1] == len(signature) - 2
    assert (
        harness.verify(
            {
                "digest": sealed["digest"],
                "signature": sealed["signature"],
                "spki": sealed["sign_spki"],
            }
        )
        is True
    )


# --- the Python vectors in the browser -------------------------------------------------------


def _python_vectors() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(VECTORS.glob("sbe1-*.json"))]


def _python_vector_ids() -> list[str]:
    return [p.stem for p in sorted(VECTORS.glob("sbe1-*.json"))]


@pytest.fixture(scope="module", params=_python_vector_ids())
def python_vector(request):
    return json.loads((VECTORS / f"{request.param}.json").read_text(encoding="utf-8"))


def test_vectors_of_both_implementations_are_present():
    assert len(_python_vectors()) >= 3
    assert len(list(VECTORS.glob("js-sbe1-*.json"))) >= 3
    assert (VECTORS / "key-backup.json").exists() and (VECTORS / "js-key-backup.json").exists()


def _vector_seal_args(v: dict) -> dict:
    opening, bidder_enc = v["recipients"]
    return {
        "documents": v["documents_b64"],
        "name": v["summary"]["documents"]["name"],
        "summary": {k: x for k, x in v["summary"].items() if k != "documents"},
        "section": v["section"],
        "bidder": v["bidder"],
        "chunk_size": v["chunk_size"],
        "opening_spki": b64(_spki(_private_key(v["opening_private_key_pkcs8_b64"]).public_key())),
        "bidder_spki": b64(_spki(_private_key(v["bidder_enc_private_key_pkcs8_b64"]).public_key())),
        "inject": {
            "k1": v["k1_b64"],
            "k2": v["k2_b64"],
            "ephemeral1": opening["ephemeral_private_key_pkcs8_b64"],
            "ephemeral2": bidder_enc["ephemeral_private_key_pkcs8_b64"],
            "iv1": b64(bytes.fromhex(opening["iv_hex"])),
            "iv2": b64(bytes.fromhex(bidder_enc["iv_hex"])),
        },
    }


HASHERS = {"wasm": "wasm-worker", "js": "js"}


@pytest.mark.browser
@pytest.mark.parametrize("hasher", sorted(HASHERS))
def test_browser_reproduces_python_vector_byte_for_byte(harness, python_vector, hasher):
    v = python_vector
    sealed = harness.seal({**_vector_seal_args(v), "hasher": hasher})
    assert sealed["kind"] == HASHERS[hasher]
    assert sealed["digest"] == v["digest_hex"]
    assert sealed["size"] == v["envelope_size"]
    assert sealed["envelope"] == v["envelope_b64"]


@pytest.mark.browser
@pytest.mark.parametrize("hasher", sorted(HASHERS))
def test_streaming_hashers_give_the_vectors_documents_and_envelope_digests(harness, python_vector, hasher):
    v = python_vector
    for data, expected in [
        (v["documents_b64"], v["summary"]["documents"]["sha256"]),
        (v["envelope_b64"], v["digest_hex"]),
    ]:
        got = harness.sha256Stream({"data": data, "hasher": hasher, "piece": 7919})
        assert got["kind"] == HASHERS[hasher]
        assert got["fed"] == expected
        assert got["blob"] == expected
        assert got["again"] == hashlib.sha256(b"").hexdigest()


@pytest.mark.browser
@pytest.mark.parametrize("range_size", [65536 + 12345, 4099, 3])  # cut frames, lengths and header anywhere
def test_streamed_envelope_read_in_any_order_is_the_vector_byte_for_byte(harness, python_vector, range_size):
    v = python_vector
    count = -(-v["envelope_size"] // range_size)
    order = list(range(count))[::-1]  # last first, as a parallel upload may ask
    got = harness.sealReadRanges({**_vector_seal_args(v), "range_size": range_size, "order": order})
    assert got["size"] == v["envelope_size"]
    assert got["envelope"] == v["envelope_b64"]


@pytest.mark.browser
def test_browser_opens_python_vector_and_unwraps_both_keys(harness, python_vector):
    v = python_vector
    envelope_b64 = v["envelope_b64"]
    opened = harness.open({"envelope": envelope_b64, "k1": v["k1_b64"], "k2": v["k2_b64"]})["ok"]
    assert opened["summary"] == v["summary"]
    assert opened["documents"] == v["documents_b64"]
    assert (
        json.dumps(opened["header"], separators=(",", ":"), ensure_ascii=False) == v["header_json"]
    )
    k2 = harness.unwrapK2(
        {"envelope": envelope_b64, "pkcs8": v["bidder_enc_private_key_pkcs8_b64"]}
    )
    assert k2 == {"ok": v["k2_b64"]}
    k1 = harness.unwrapK1({"envelope": envelope_b64, "pkcs8": v["opening_private_key_pkcs8_b64"]})
    assert k1 == {"ok": v["k1_b64"]}
    sign_spki = _spki(_private_key(v["bidder_sign_private_key_pkcs8_b64"]).public_key())
    assert (
        harness.verify(
            {"digest": v["digest_hex"], "signature": v["signature_b64"], "spki": b64(sign_spki)}
        )
        is True
    )


@pytest.mark.browser
def test_browser_imports_the_python_backup_vector(harness):
    v = json.loads((VECTORS / "key-backup.json").read_text(encoding="utf-8"))
    enc_private = _private_key(v["enc_private_key_pkcs8_b64"])
    sign_private = _private_key(v["sign_private_key_pkcs8_b64"])
    digest = hashlib.sha256(b"vector").digest()
    imported = harness.importBackup(
        {"backup": v["file"], "passphrase": v["passphrase"], "digest": digest.hex()}
    )["ok"]
    assert imported["organization"] == v["organization"]
    assert imported["enc_kid"] == envelope.kid_of(enc_private.public_key())
    assert imported["sign_kid"] == envelope.kid_of(sign_private.public_key())
    envelope.verify_signature(
        digest=digest,
        signature_der=unb64(imported["signature"]),
        sign_public_key=sign_private.public_key(),
    )


# --- Python opens what the browser sealed ---------------------------------------------------


def _python_opens(sealed: dict, opening_key, *, summary: dict) -> dict:
    """Inspect, verify, unwrap and open a browser envelope with bidding.envelope."""
    data = unb64(sealed["envelope"])
    sign_public = envelope.load_public_key_der(unb64(sealed["sign_spki"]))
    enc_private = serialization.load_der_private_key(unb64(sealed["enc_pkcs8"]), password=None)
    inspection = envelope.inspect(
        io.BytesIO(data),
        section=SECTION,
        bidder=BIDDER,
        opening_kid=envelope.kid_of(opening_key.public_key()),
        max_size=len(data),
        bidder_kid=envelope.kid_of(enc_private.public_key()),
    )
    assert inspection.digest.hex() == sealed["digest"]
    assert inspection.digest == hashlib.sha256(data).digest()
    envelope.verify_signature(
        digest=inspection.digest,
        signature_der=unb64(sealed["signature"]),
        sign_public_key=sign_public,
    )
    k1 = envelope.unwrap_key(inspection.header, 0, opening_key)
    k2 = envelope.unwrap_key(inspection.header, 1, enc_private)
    assert k2 == unb64(sealed["k2"])
    out = io.BytesIO()
    opened = envelope.open_documents(io.BytesIO(data), out, k1=k1, k2=k2)
    documents = unb64(sealed["documents"])
    assert out.getvalue() == documents
    assert opened == {
        **summary,
        "documents": {
            "name": "bid.zip",
            "size": len(documents),
            "sha256": hashlib.sha256(documents).hexdigest(),
        },
    }
    return {"inspection": inspection, "k1": k1, "k2": k2}


BROWSER_SEALS = {
    "empty": (0, 65536),
    "small": (1000, 65536),
    "exact-two-frames": (2 * 65536, 65536),
    "short-last-frame": (2 * 65536 + 5, 65536),
    "3mib": (3 << 20, 1 << 20),
}


@pytest.mark.browser
@pytest.mark.parametrize("name", list(BROWSER_SEALS))
def test_python_inspects_verifies_and_opens_what_the_browser_sealed(harness, opening_key, name):
    size, chunk_size = BROWSER_SEALS[name]
    sealed = _seal_random(harness, opening_key, size, chunk_size)
    opened = _python_opens(sealed, opening_key, summary=SUMMARY)
    assert opened["inspection"].frame_count == max(1, -(-size // chunk_size))
    if os.environ.get("SBE1_WRITE_JS_VECTORS") == "1":
        _write_js_vector(name, sealed, opening_key, chunk_size, opened)


def _write_js_vector(name: str, sealed: dict, opening_key, chunk_size: int, opened: dict) -> None:
    """Keep a browser envelope as a vector (field names as in generate.py), so Python is
    checked against browser output even where no browser runs."""
    if len(sealed["envelope"]) > 1 << 20:
        return  # the big one proves streaming, not a format case; keep the repository small
    documents = unb64(sealed["documents"])
    vector = {
        "name": f"js-sbe1-{name}",
        "description": f"sealed in Chromium by static/js/sbe1.js: {len(documents)} bytes, "
        f"chunk_size {chunk_size}",
        "opening_private_key_pkcs8_b64": b64(_pkcs8(opening_key)),
        "bidder_enc_private_key_pkcs8_b64": sealed["enc_pkcs8"],
        "bidder_sign_public_key_spki_b64": sealed["sign_spki"],
        "section": SECTION,
        "bidder": BIDDER,
        "chunk_size": chunk_size,
        "summary": {
            **SUMMARY,
            "documents": {
                "name": "bid.zip",
                "size": len(documents),
                "sha256": hashlib.sha256(documents).hexdigest(),
            },
        },
        "documents_b64": sealed["documents"],
        "k1_b64": b64(opened["k1"]),
        "k2_b64": sealed["k2"],
        "frame_count": opened["inspection"].frame_count,
        "envelope_size": sealed["size"],
        "envelope_b64": sealed["envelope"],
        "digest_hex": sealed["digest"],
        "signature_b64": sealed["signature"],
    }
    text = json.dumps(vector, ensure_ascii=False, indent=1) + "\n"
    (VECTORS / f"js-sbe1-{name}.json").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("path", sorted(VECTORS.glob("js-sbe1-*.json")), ids=lambda p: p.stem)
def test_python_opens_stored_browser_vectors(path):
    """No browser needed: the envelopes Chromium sealed earlier still open in Python."""
    v = json.loads(path.read_text(encoding="utf-8"))
    data = unb64(v["envelope_b64"])
    opening_private = _private_key(v["opening_private_key_pkcs8_b64"])
    enc_private = _private_key(v["bidder_enc_private_key_pkcs8_b64"])
    inspection = envelope.inspect(
        io.BytesIO(data),
        section=v["section"],
        bidder=v["bidder"],
        opening_kid=envelope.kid_of(opening_private.public_key()),
        max_size=len(data),
    )
    assert inspection.digest.hex() == v["digest_hex"]
    assert inspection.frame_count == v["frame_count"]
    envelope.verify_signature(
        digest=inspection.digest,
        signature_der=unb64(v["signature_b64"]),
        sign_public_key=envelope.load_public_key_der(unb64(v["bidder_sign_public_key_spki_b64"])),
    )
    k1 = envelope.unwrap_key(inspection.header, 0, opening_private)
    k2 = envelope.unwrap_key(inspection.header, 1, enc_private)
    assert (b64(k1), b64(k2)) == (v["k1_b64"], v["k2_b64"])
    out = io.BytesIO()
    assert envelope.open_documents(io.BytesIO(data), out, k1=k1, k2=k2) == v["summary"]
    assert out.getvalue() == unb64(v["documents_b64"])


# --- key backup interop ---------------------------------------------------------------------

PASSPHRASE = "correct horse 电池 staple"


@pytest.mark.browser
def test_python_reads_the_backup_the_browser_wrote_at_enrolment(harness):
    from bidding import keybackup

    enrolled = harness.enrol({"organization": BIDDER, "passphrase": PASSPHRASE})
    backup = enrolled["backup"].encode("utf-8")
    enc_private, sign_private = keybackup.backup_read(backup, PASSPHRASE)
    assert b64(_spki(enc_private.public_key())) == enrolled["payload"]["enc_public_key"]
    assert b64(_spki(sign_private.public_key())) == enrolled["payload"]["sign_public_key"]
    assert keybackup.backup_organization(backup) == BIDDER
    assert json.loads(backup)["kdf"]["iterations"] >= 600_000
    assert enrolled["id"] in [k["id"] for k in harness.listKeys()]
    if os.environ.get("SBE1_WRITE_JS_VECTORS") == "1":
        vector = {
            "name": "js-key-backup",
            "passphrase": PASSPHRASE,
            "organization": BIDDER,
            "enc_public_key_spki_b64": enrolled["payload"]["enc_public_key"],
            "sign_public_key_spki_b64": enrolled["payload"]["sign_public_key"],
            "file": enrolled["backup"],
        }
        text = json.dumps(vector, ensure_ascii=False, indent=1) + "\n"
        (VECTORS / "js-key-backup.json").write_text(text, encoding="utf-8")
    with pytest.raises(keybackup.KeyBackupError) as excinfo:
        keybackup.backup_read(backup, "wrong passphrase")
    assert excinfo.value.code == "wrong_passphrase"


def test_python_reads_the_stored_browser_backup_vector():
    from bidding import keybackup

    v = json.loads((VECTORS / "js-key-backup.json").read_text(encoding="utf-8"))
    enc_private, sign_private = keybackup.backup_read(v["file"].encode("utf-8"), v["passphrase"])
    assert b64(_spki(enc_private.public_key())) == v["enc_public_key_spki_b64"]
    assert b64(_spki(sign_private.public_key())) == v["sign_public_key_spki_b64"]


@pytest.mark.browser
def test_browser_imports_a_python_backup_as_non_extractable_working_keys(harness):
    from bidding import keybackup

    enc_private = ec.generate_private_key(ec.SECP256R1())
    sign_private = ec.generate_private_key(ec.SECP256R1())
    backup = keybackup.backup_write(
        enc_private=enc_private,
        sign_private=sign_private,
        organization=BIDDER,
        passphrase=PASSPHRASE,
    )
    digest = hashlib.sha256(b"an envelope").digest()
    imported = harness.importBackup(
        {"backup": backup.decode("utf-8"), "passphrase": PASSPHRASE, "digest": digest.hex()}
    )["ok"]
    assert imported["organization"] == BIDDER
    assert imported["enc_kid"] == envelope.kid_of(enc_private.public_key())
    assert imported["sign_kid"] == envelope.kid_of(sign_private.public_key())
    assert imported["payload"] == {
        "enc_public_key": b64(_spki(enc_private.public_key())),
        "sign_public_key": b64(_spki(sign_private.public_key())),
    }
    assert imported["extractable"] is False
    envelope.verify_signature(
        digest=digest,
        signature_der=unb64(imported["signature"]),
        sign_public_key=sign_private.public_key(),
    )
    harness.deleteKeys(imported["id"])
    assert imported["id"] not in [k["id"] for k in harness.listKeys()]


@pytest.mark.browser
def test_browser_backup_import_with_wrong_passphrase_fails_with_clear_error(harness):
    from bidding import keybackup

    backup = keybackup.backup_write(
        enc_private=ec.generate_private_key(ec.SECP256R1()),
        sign_private=ec.generate_private_key(ec.SECP256R1()),
        organization=BIDDER,
        passphrase=PASSPHRASE,
    )
    result = harness.importBackup(
        {"backup": backup.decode("utf-8"), "passphrase": "guess", "digest": "00" * 32}
    )
    assert result == {"error": "KeyStoreError: wrong passphrase, or the backup file is damaged"}
    assert harness.listKeys() == []


# --- tampering ------------------------------------------------------------------------------


@pytest.fixture
def sealed_small(harness, opening_key):
    sealed = _seal_random(harness, opening_key, 3 * 65536 + 100, 65536)
    k1 = harness.unwrapK1({"envelope": sealed["envelope"], "pkcs8": b64(_pkcs8(opening_key))})["ok"]
    data = unb64(sealed["envelope"])
    header_end = 8 + int.from_bytes(data[4:8], "big")
    summary_end = header_end + 4 + int.from_bytes(data[header_end : header_end + 4], "big")
    return {"data": data, "k1": k1, "k2": sealed["k2"], "summary_end": summary_end}


def _open_bytes(harness, sealed, data: bytes) -> dict:
    return harness.open({"envelope": b64(data), "k1": sealed["k1"], "k2": sealed["k2"]})


@pytest.mark.browser
def test_browser_open_rejects_a_flipped_bit_in_a_documents_frame(harness, sealed_small):
    data = bytearray(sealed_small["data"])
    data[sealed_small["summary_end"] + 4 + 65536 + 16 + 4 + 1000] ^= 0x01  # inside frame 1
    result = _open_bytes(harness, sealed_small, bytes(data))
    assert result == {
        "error": "EnvelopeError: documents frame 1 failed to authenticate: "
        "wrong keys, or the envelope was altered"
    }


@pytest.mark.browser
def test_browser_open_rejects_a_flipped_bit_in_the_summary_or_header(harness, sealed_small):
    data = bytearray(sealed_small["data"])
    data[sealed_small["summary_end"] - 3] ^= 0x80
    assert (
        "summary frame failed to authenticate"
        in _open_bytes(harness, sealed_small, bytes(data))["error"]
    )
    data = bytearray(sealed_small["data"])
    at = bytes(data).index(b'"section":"') + len(b'"section":"')
    data[at] ^= 0x01  # still valid JSON, but the AAD changes
    assert (
        "summary frame failed to authenticate"
        in _open_bytes(harness, sealed_small, bytes(data))["error"]
    )


@pytest.mark.browser
def test_browser_open_rejects_a_dropped_final_frame_and_appended_data(harness, sealed_small):
    data = sealed_small["data"]
    truncated = data[: len(data) - (4 + 100 + 16)]
    assert _open_bytes(harness, sealed_small, truncated) == {
        "error": "EnvelopeError: envelope is truncated: its final frame is missing"
    }
    appended = data + data[-(4 + 100 + 16) :]
    assert "data follows the final frame" in _open_bytes(harness, sealed_small, appended)["error"]


@pytest.mark.browser
def test_browser_unwrap_k2_with_another_key_fails_with_clear_error(harness, sealed_small):
    other = ec.generate_private_key(ec.SECP256R1())
    result = harness.unwrapK2({"envelope": b64(sealed_small["data"]), "pkcs8": b64(_pkcs8(other))})
    assert "cannot be unwrapped: wrong private key or damaged envelope" in result["error"]


# --- pass 2: the parallel chunk pump ------------------------------------------------------------


@pytest.mark.browser
def test_chunk_pump_hashes_in_order_runs_2_to_6_puts_and_resumes_with_only_the_lost_chunks(harness):
    got = harness.pumpScenario({"count": 40, "fail": [7, 8], "delay": 20})
    first, second = got["runs"][0], got["runs"][1]
    assert first["error"] == "chunk 7 lost" and first["limit"] >= 2  # halved on the loss, never below 2
    assert 7 in first["puts"] and 8 in first["puts"]
    assert second == {"ok": True, "puts": [i for i in range(40) if i not in first["puts"] or i in (7, 8)]}
    assert got["received"] == list(range(40))
    assert got["hashed"] == list(range(40))  # every chunk hashed once, in order, across both runs
    assert 2 <= got["most"] <= 6
