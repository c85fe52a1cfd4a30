"""Evidence anyone can check: the offline verifier and /verify/ agree on good and tampered inputs (issue 15)."""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import override_settings

from tests.conftest import TEST_TSA_DIR
from timestamps import docsign, pki
from timestamps.chain import GENESIS, entry_body, entry_hash
from timestamps.tsa import timestamp_digest, token_to_response

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = b"SBE1" + bytes(range(256)) * 64


def run_verifier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The offline verifier in a clean environment: no Django settings, only the repository on the path."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-s", "-m", "timestamps.verify", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def failed_codes(output: str) -> set[str]:
    return {line.split()[1].rstrip(":") for line in output.splitlines() if line.startswith("FAIL")}


def sealed_pdf(text: str, signing: Path | None = None) -> bytes:
    from trading.pdf import Para, pdf_document

    with override_settings(TSA_DIR=TEST_TSA_DIR, SIGNING_DIR=str(signing) if signing else None):
        return docsign.sign_pdf(pdf_document(title="开标记录", subtitle="Opening record", blocks=[Para(text)]),
                                reason="test")


def incremental_update(pdf: bytes) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1:]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory) -> Path:
    """Published certificates beside receipts and sealed PDFs, good and tampered."""
    pki.ensure_tsa_keys(TEST_TSA_DIR)
    docsign.ensure_signing_keys(TEST_TSA_DIR / "signing")
    ev = tmp_path_factory.mktemp("evidence")
    (ev / "certs.pem").write_bytes(pki.certs_pem(TEST_TSA_DIR))
    (ev / "seal-ca.pem").write_bytes((TEST_TSA_DIR / "signing" / docsign.CA_FILE).read_bytes())
    digest = hashlib.sha256(ENVELOPE).digest()
    token = timestamp_digest(digest, directory=TEST_TSA_DIR)
    (ev / "bid.sbe").write_bytes(ENVELOPE)
    (ev / "receipt.tsr").write_bytes(token_to_response(token))
    (ev / "receipt.json").write_text(json.dumps({
        "bid_id": "B1", "section": "S1", "received_at": "2026-12-01T08:00:00+00:00", "digest": digest.hex(),
        "timestamp_token": base64.b64encode(token).decode()}))
    (ev / "token.der").write_bytes(token)
    tsr = (ev / "receipt.tsr").read_bytes()
    (ev / "flipped.tsr").write_bytes(flip(tsr, len(tsr) - 3))
    (ev / "truncated.tsr").write_bytes(tsr[: len(tsr) // 2])
    other = hashlib.sha256(b"another section's envelope").digest()
    (ev / "other-section.tsr").write_bytes(token_to_response(timestamp_digest(other, directory=TEST_TSA_DIR)))
    forged = ev / "forged-tsa"
    pki.ensure_tsa_keys(forged)
    (ev / "forged.tsr").write_bytes(token_to_response(timestamp_digest(digest, directory=forged)))
    (ev / "forged-certs.pem").write_bytes(pki.certs_pem(forged))

    pdf = sealed_pdf("开标记录 第一标段")
    (ev / "sealed.pdf").write_bytes(pdf)
    (ev / "appended.pdf").write_bytes(incremental_update(pdf))
    (ev / "byte-changed.pdf").write_bytes(pdf.replace("第一标段".encode("utf-16-be"), "第二标段".encode("utf-16-be"))
                                          if "第一标段".encode("utf-16-be") in pdf else flip(pdf, 12))
    (ev / "truncated.pdf").write_bytes(pdf[: len(pdf) - 200])
    forged_seal = ev / "forged-seal"
    docsign.ensure_signing_keys(forged_seal)
    (ev / "forged-seal.pdf").write_bytes(sealed_pdf("开标记录 第一标段", signing=forged_seal))
    return ev


@dataclass
class Case:
    name: str
    cli: list[str]
    web: dict
    files: dict = field(default_factory=dict)
    ok: bool = True
    fails: set[str] = field(default_factory=set)


CASES = [
    Case("tsr with the envelope", ["receipt", "receipt.tsr", "--data", "bid.sbe"],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest()}, {"receipt": "receipt.tsr"}),
    Case("tsr with the digest", ["receipt", "receipt.tsr", "--digest", hashlib.sha256(ENVELOPE).hexdigest()],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest().upper()}, {"receipt": "receipt.tsr"}),
    Case("receipt.json alone", ["receipt", "receipt.json"], {"kind": "receipt"}, {"receipt": "receipt.json"}),
    Case("bare token with the envelope", ["receipt", "token.der", "--data", "bid.sbe"],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest()}, {"receipt": "token.der"}),
    Case("sealed PDF", ["pdf", "sealed.pdf"], {"kind": "pdf"}, {"pdf": "sealed.pdf"}),
    Case("flipped byte", ["receipt", "flipped.tsr", "--data", "bid.sbe"],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest()}, {"receipt": "flipped.tsr"},
         ok=False, fails={"signature"}),
    Case("truncated receipt", ["receipt", "truncated.tsr", "--data", "bid.sbe"],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest()}, {"receipt": "truncated.tsr"},
         ok=False, fails={"token"}),
    Case("another section's receipt", ["receipt", "other-section.tsr", "--data", "bid.sbe"],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest()}, {"receipt": "other-section.tsr"},
         ok=False, fails={"digest"}),
    Case("token from a self-made TSA", ["receipt", "forged.tsr", "--data", "bid.sbe"],
         {"kind": "receipt", "digest": hashlib.sha256(ENVELOPE).hexdigest()}, {"receipt": "forged.tsr"},
         ok=False, fails={"signature"}),
    Case("PDF with an incremental update appended", ["pdf", "appended.pdf"], {"kind": "pdf"},
         {"pdf": "appended.pdf"}, ok=False, fails={"coverage"}),
    Case("PDF with a byte changed", ["pdf", "byte-changed.pdf"], {"kind": "pdf"},
         {"pdf": "byte-changed.pdf"}, ok=False),
    Case("truncated PDF", ["pdf", "truncated.pdf"], {"kind": "pdf"}, {"pdf": "truncated.pdf"}, ok=False),
    Case("PDF sealed under a self-made CA", ["pdf", "forged-seal.pdf"], {"kind": "pdf"},
         {"pdf": "forged-seal.pdf"}, ok=False, fails={"chain"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_offline_verifier_and_the_verify_page_agree(case, evidence, client):
    offline = run_verifier(*case.cli, cwd=evidence)
    assert offline.returncode in (0, 1), offline.stderr
    assert (offline.returncode == 0) is case.ok, offline.stdout
    assert offline.stdout.strip().splitlines()[-1] == ("VERIFIED" if case.ok else "NOT VERIFIED")

    files = {name: io.BytesIO((evidence / path).read_bytes()) for name, path in case.files.items()}
    for name, path in case.files.items():
        files[name].name = path
    response = client.post("/verify/", {**case.web, **files}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    online = response.json()
    failed_online = {check["code"] for check in online["checks"] if not check["ok"]}
    assert online["ok"] is case.ok
    assert failed_online == failed_codes(offline.stdout)
    assert case.fails <= failed_online
    if case.ok:
        assert online["signed_at"] and online["certificates"]
        assert all(cert["fingerprint"] in offline.stdout for cert in online["certificates"])


def test_receipt_against_a_self_made_ca_chain_fails(evidence):
    result = run_verifier("receipt", "receipt.tsr", "--data", "bid.sbe", "--certs", "forged-certs.pem",
                          cwd=evidence)
    assert result.returncode == 1 and failed_codes(result.stdout) == {"signature"}, result.stdout


def test_sealed_pdf_against_a_self_made_seal_ca_fails(evidence):
    docsign.ensure_signing_keys(evidence / "other-seal")
    result = run_verifier("pdf", "sealed.pdf", "--seal-ca", str(evidence / "other-seal" / docsign.CA_FILE),
                          cwd=evidence)
    assert result.returncode == 1 and "chain" in failed_codes(result.stdout), result.stdout


def test_the_offline_verifier_loads_no_django_and_opens_no_socket(evidence):
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from timestamps.verify import main\n"
        "codes = [main(['receipt', 'receipt.tsr', '--data', 'bid.sbe']), main(['pdf', 'sealed.pdf'])]\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'\n"
        "sys.exit(max(codes))\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-s", "-c", script], cwd=evidence, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_certificates_are_a_usage_error_not_a_pass(tmp_path, evidence):
    (tmp_path / "receipt.tsr").write_bytes((evidence / "receipt.tsr").read_bytes())
    result = run_verifier("receipt", "receipt.tsr", "--digest", "00" * 32, cwd=tmp_path)
    assert result.returncode == 2 and "certs.pem" in result.stderr


# -- ledger anchors ----------------------------------------------------------------------------


def ledger_segment(count: int) -> list[dict]:
    entries, prev = [], GENESIS
    for seq in range(1, count + 1):
        body = entry_body(seq=seq, at=datetime(2026, 12, 1, 8, 0, seq, tzinfo=UTC), actor="system", ip="",
                          action="test.event", object_type="bidding.bid", object_id=f"B{seq}", data={"n": seq})
        digest = entry_hash(prev, body)
        entries.append({**body, "prev_hash": prev, "hash": digest})
        prev = digest
    return entries


@pytest.fixture
def anchored(tmp_path, evidence) -> Path:
    entries = ledger_segment(5)
    head = entries[-1]["hash"]
    token = timestamp_digest(bytes.fromhex(head), directory=TEST_TSA_DIR)
    (tmp_path / "anchor.json").write_text(json.dumps({"seq": 5, "head_hash": head,
                                                      "token": base64.b64encode(token).decode()}))
    (tmp_path / "ledger.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    (tmp_path / "certs.pem").write_bytes((evidence / "certs.pem").read_bytes())
    return tmp_path


def test_ledger_anchor_and_its_segment_verify(anchored):
    result = run_verifier("ledger-anchor", "anchor.json", "--segment", "ledger.jsonl", cwd=anchored)
    assert result.returncode == 0, result.stdout
    assert "OK   segment" in result.stdout


def test_an_edited_ledger_entry_is_named(anchored):
    lines = (anchored / "ledger.jsonl").read_text().splitlines()
    entry = json.loads(lines[2])
    entry["data"] = {"n": 99}
    lines[2] = json.dumps(entry)
    (anchored / "ledger.jsonl").write_text("\n".join(lines) + "\n")
    result = run_verifier("ledger-anchor", "anchor.json", "--segment", "ledger.jsonl", cwd=anchored)
    assert result.returncode == 1 and "FAIL segment: entry 3 was changed" in result.stdout


def test_an_anchor_with_a_changed_head_hash_fails(anchored):
    anchor = json.loads((anchored / "anchor.json").read_text())
    anchor["head_hash"] = "f" * 64
    (anchored / "anchor.json").write_text(json.dumps(anchor))
    result = run_verifier("ledger-anchor", "anchor.json", cwd=anchored)
    assert result.returncode == 1 and "digest" in failed_codes(result.stdout)


# -- the public pages --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language, failed, what", [("zh-hans", "未通过验证", "信封摘要"),
                                                    ("en", "Not verified", "Envelope digest")])
def test_the_verify_page_names_what_failed_in_the_users_language_without_login(client, evidence, language,
                                                                                  failed, what):
    assert client.get("/verify/", HTTP_ACCEPT_LANGUAGE=language).status_code == 200
    receipt = io.BytesIO((evidence / "other-section.tsr").read_bytes())
    receipt.name = "receipt.tsr"
    html = client.post("/verify/", {"kind": "receipt", "receipt": receipt,
                                    "digest": hashlib.sha256(ENVELOPE).hexdigest()},
                       HTTP_ACCEPT_LANGUAGE=language).content.decode()
    verdict = html[html.index('id="verify-result"'):]
    assert failed in verdict and what in verdict[: verdict.index("</div>")]


@pytest.mark.django_db
@pytest.mark.parametrize("language, text", [("zh-hans", "64"), ("en", "64 hexadecimal characters")])
def test_a_bad_digest_or_missing_file_is_a_clear_400(client, evidence, language, text):
    receipt = io.BytesIO((evidence / "receipt.tsr").read_bytes())
    receipt.name = "receipt.tsr"
    response = client.post("/verify/", {"kind": "receipt", "receipt": receipt, "digest": "xyz"},
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400 and text in response.content.decode()
    missing = client.post("/verify/", {"kind": "pdf"}, HTTP_ACCEPT="application/json")
    assert missing.status_code == 400 and missing.json()["error"]


@pytest.mark.django_db
def test_an_oversized_upload_is_refused_with_413(client, monkeypatch):
    from timestamps import web

    monkeypatch.setattr(web, "TOKEN_MAX_BYTES", 100)
    receipt = io.BytesIO(b"0" * 101)
    receipt.name = "receipt.tsr"
    response = client.post("/verify/", {"kind": "receipt", "receipt": receipt, "digest": "00" * 32},
                           HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413 and "at most 0 KiB" in response.json()["error"]


@pytest.mark.django_db
def test_certificates_are_published_with_their_fingerprints(client):
    from cryptography import x509

    from timestamps.verification import fingerprint

    chain = client.get("/tsa/certs.pem").content
    seal = client.get("/tsa/seal-ca.pem").content
    for language in ("zh-hans", "en"):
        html = client.get("/certificates/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        for cert in [*x509.load_pem_x509_certificates(chain), x509.load_pem_x509_certificate(seal)]:
            assert fingerprint(cert) in html
    assert seal == (TEST_TSA_DIR / "signing" / docsign.CA_FILE).read_bytes()


# -- the receipt bundle and the receipt PDF ----------------------------------------------------


@pytest.fixture
def bid_receipt(api):
    from tests.bidflow import bid_through_api, kit_for
    from tests.factories import bidder_user, publish_section, register

    section = publish_section()
    user = bidder_user()
    register(section, user)
    kit = kit_for(api, user)
    receipt, envelope = bid_through_api(api, kit, section)
    return section, kit, receipt, envelope


def openssl_ok(*args: str, cwd: Path) -> bool:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    return "Verification: OK" in result.stdout


@pytest.mark.django_db
def test_the_receipt_bundle_passes_openssl_with_the_data_and_with_the_digest(api, bid_receipt, tmp_path):
    import shlex
    import zipfile

    _, kit, receipt, envelope = bid_receipt
    response = api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.zip", **kit.auth)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        assert set(bundle.namelist()) == {"receipt.json", "receipt.tsr", "certs.pem", "seal-ca.pem",
                                          "digest.sha256", "README.txt"}
        bundle.extractall(tmp_path)
    assert json.loads((tmp_path / "receipt.json").read_text()) == receipt
    (tmp_path / f"bid-{receipt['bid_id']}.sbe").write_bytes(envelope)
    assert subprocess.run(["sha256sum", "-c", "digest.sha256"], cwd=tmp_path).returncode == 0
    readme = (tmp_path / "README.txt").read_text()
    commands = [line.strip() for line in readme.splitlines() if line.strip().startswith("openssl ts -verify")]
    assert len(commands) == 2 and any("-data" in c for c in commands) and any("-digest" in c for c in commands)
    for command in commands:
        assert openssl_ok(*shlex.split(command)[1:], cwd=tmp_path), command
    (tmp_path / f"bid-{receipt['bid_id']}.sbe").write_bytes(envelope + b"x")
    assert not openssl_ok(*shlex.split(commands[0])[1:], cwd=tmp_path)
    assert run_verifier("receipt", "receipt.json", cwd=tmp_path).returncode == 0


@pytest.mark.django_db
def test_another_bidder_cannot_download_the_bundle(api, bid_receipt):
    from tests.bidflow import kit_for
    from tests.factories import bidder_user

    _, _, receipt, _ = bid_receipt
    stranger = kit_for(api, bidder_user())
    assert api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.zip", **stranger.auth).status_code == 404
    assert api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.zip").status_code in (401, 403, 404)


@pytest.mark.django_db
def test_the_receipt_pdf_prints_the_commands_fingerprints_and_section_code(api, bid_receipt, tmp_path):
    from timestamps.published import published_certificates

    section, kit, receipt, _ = bid_receipt
    pdf = api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.pdf", **kit.auth).content
    (tmp_path / "receipt.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-raw", "receipt.pdf", "-"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout
    flat = " ".join(text.split())
    assert f"{section.project.code}-{section.number} {section.title}" in flat
    assert section.public_id not in flat.replace(receipt["bid_id"], "")
    assert "openssl ts -verify -data" in flat and "-in receipt.tsr -CAfile certs.pem" in flat
    assert f"openssl ts -verify -digest {receipt['digest']}".replace(" ", "") in flat.replace(" ", "")
    compact = flat.replace(" ", "")
    for cert in published_certificates():
        assert cert.fingerprint in compact and cert.path in compact
    (tmp_path / "certs.pem").write_bytes(pki.certs_pem(TEST_TSA_DIR))
    (tmp_path / "seal-ca.pem").write_bytes((TEST_TSA_DIR / "signing" / docsign.CA_FILE).read_bytes())
    assert run_verifier("pdf", "receipt.pdf", cwd=tmp_path).returncode == 0


@pytest.mark.django_db
def test_the_ledger_export_verifies_offline_and_an_edited_entry_is_named(tmp_path):
    from django.core.management import call_command

    from timestamps.anchors import ledger_anchor
    from timestamps.ledger import ledger_append

    for i in range(4):
        ledger_append(action="test.event", actor="tester", obj=("test", str(i)), data={"i": i, "名": "值"})
    anchor = ledger_anchor(force=True)
    ledger_append(action="test.after", actor="tester")  # after the anchor: not exported
    call_command("ledger_export", str(tmp_path / "good"), stdout=io.StringIO())
    result = run_verifier("ledger-anchor", "anchor.json", "--segment", "ledger.jsonl", cwd=tmp_path / "good")
    assert result.returncode == 0, result.stdout
    assert len((tmp_path / "good" / "ledger.jsonl").read_text().splitlines()) == anchor.seq

    lines = (tmp_path / "good" / "ledger.jsonl").read_text().splitlines()
    edited = json.loads(lines[1])
    edited["actor"] = "someone-else"
    (tmp_path / "good" / "ledger.jsonl").write_text("\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n")
    result = run_verifier("ledger-anchor", "anchor.json", "--segment", "ledger.jsonl", cwd=tmp_path / "good")
    assert result.returncode == 1 and "FAIL segment: entry 2 was changed" in result.stdout


@pytest.mark.django_db(transaction=True)
def test_the_browser_hashes_the_envelope_and_never_uploads_it(live_server, evidence, monkeypatch):
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_args, require_chromium
    from timestamps import web

    require_chromium()
    posted: list[tuple[list[str], int]] = []
    verify_upload = web._verify_upload

    def recording(request):  # the live server runs in this process: see what really arrived
        posted.append((sorted(request.FILES), int(request.META["CONTENT_LENGTH"])))
        return verify_upload(request)

    monkeypatch.setattr(web, "_verify_upload", recording)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        page = browser.new_page(locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            page.goto(f"{live_server.url}/verify/")
            page.set_input_files("#verify-envelope", str(evidence / "bid.sbe"))
            page.wait_for_function("document.getElementById('verify-digest').value.length === 64")
            assert page.input_value("#verify-digest") == hashlib.sha256(ENVELOPE).hexdigest()
            page.set_input_files("#verify-receipt", str(evidence / "receipt.tsr"))
            page.click("#verify-receipt-form button[type=submit]")
            page.wait_for_selector("#verify-result")
            result = page.inner_text("#verify-result")
        finally:
            browser.close()
    assert "验证通过" in result and not errors, errors
    (files, length), = posted
    assert files == ["receipt"] and length < len(ENVELOPE)
