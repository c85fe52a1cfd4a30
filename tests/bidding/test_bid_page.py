"""The bidder's keys page and bid page (bidding/web_bid.py, static/js/bid-upload.js).

Test-client tests check who may see the pages. The browser test is the whole journey in real
Chromium: log in through the login page, generate keys (the backup file is downloaded), fill the
opening form, seal a ~10 MiB file in the browser, upload it in parallel chunks while one chunk keeps
failing (the upload pauses and resumes, sending only the missing chunks), sign, submit, get the receipt,
and withdraw before the deadline (R08). The server side is then checked: the stored envelope
passes bidding.envelope.inspect with the bidder's registered kid, and (with the backup file and the
opening key unwrapped at a time after the deadline) it opens to the summary and the very file.
"""

import hashlib
import io
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from bidding import envelope
from bidding.keybackup import backup_read
from bidding.models import Bid, BidderKey, OpeningKey, UploadChunk
from bidding.services.keys import opening_key_unwrap
from tests.factories import PASSWORD, agency_user, bidder_user, publish_section, register
from tests.services import chromium_args, require_chromium

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSPHRASE = "correct horse battery staple"


def _client(user=None, lang: str | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    if lang:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


# --- who may see the pages ---------------------------------------------------------------------


@pytest.mark.django_db
def test_bid_page_refuses_anonymous_agency_and_unregistered_bidder():
    section = publish_section()
    url = f"/sections/{section.public_id}/bid/"

    response = _client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    assert _client(agency_user()).get(url).status_code == 403
    assert (
        _client(section.project.created_by).get(url).status_code == 403
    )  # the section's own agency
    assert _client(bidder_user()).get(url).status_code == 403  # did not sign up
    assert _client(bidder_user()).get("/sections/s-nosuchsection/bid/").status_code == 404


@pytest.mark.django_db
def test_bid_page_renders_for_a_registered_bidder_in_chinese_and_english():
    section = publish_section()
    bidder = bidder_user()
    register(section, bidder)
    url = f"/sections/{section.public_id}/bid/"

    zh = _client(bidder).get(url)
    assert zh.status_code == 200
    html = zh.content.decode()
    assert "投标文件递交" in html and "开标一览表" in html and "加密并递交" in html
    assert section.title in html
    assert 'id="f-price"' in html and 'data-type="money"' in html
    assert 'id="f-duration_days"' in html and 'data-type="integer"' in html
    assert 'data-deadline="' in html  # the countdown
    assert "js/bid-upload.js" in html and "css/bid.css" in html
    config = json.loads(
        re.search(
            r'<script id="bid-config" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    assert config["section"] == section.public_id
    assert config["bidder"] == bidder.organization.credit_code
    assert config["open"] is True and config["upload_chunk_size"] <= 8 * 1024 * 1024
    assert config["api"]["chunk"].endswith("/api/v1/bids/uploads/UPLOAD/chunks/")
    assert "贵单位尚未登记投标密钥" in html  # no keys registered yet

    en = _client(bidder, "en").get(url)
    assert en.status_code == 200
    html = en.content.decode()
    assert "Submit a sealed bid" in html and "Seal and submit" in html and "Opening form" in html
    assert "投标文件递交" not in html


@pytest.mark.django_db
def test_bid_page_after_the_deadline_offers_no_form():
    section = publish_section()
    bidder = bidder_user()
    register(section, bidder)
    from django.utils import timezone

    type(section).objects.filter(pk=section.pk).update(
        bid_deadline=timezone.now() - timedelta(minutes=1)
    )
    html = _client(bidder).get(f"/sections/{section.public_id}/bid/").content.decode()
    assert "投标截止时间已过" in html and 'id="bid-form"' not in html


@pytest.mark.django_db
def test_keys_page_access_and_registered_kids():
    url = "/keys/"
    assert _client().get(url).status_code == 302
    assert _client(agency_user()).get(url).status_code == 403
    bidder = bidder_user()
    html = _client(bidder).get(url).content.decode()
    assert "投标密钥" in html and "私钥在本浏览器中生成" in html and "贵单位尚未登记密钥" in html
    BidderKey.objects.create(
        organization=bidder.organization,
        use="enc",
        kid="ab" * 32,
        public_key=b"x",
        registered_by=bidder,
    )
    html = _client(bidder, "en").get(url).content.decode()
    assert "Bidder keys" in html and 'data-kid="' + "ab" * 32 + '"' in html and "In use" in html


# --- the whole journey in Chromium ---------------------------------------------------------------


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"bid-{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_bidder_seals_uploads_resumes_and_gets_a_receipt(live_server, tmp_path, monkeypatch):
    require_chromium()
    # Sync Playwright runs an event loop in this thread; the ORM checks below are plain sync reads.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    section = publish_section(deadline_days=24.3, title="第一标段 道路及排水工程")
    bidder = bidder_user(username="huarui")
    org = bidder.organization
    register(section, bidder)
    documents = tmp_path / "投标文件.zip"
    documents.write_bytes(
        b"PK\x03\x04" + hashlib.sha256(b"seed").digest() * (10 * 1024 * 1024 // 32)
    )
    documents_sha = hashlib.sha256(documents.read_bytes()).hexdigest()
    host = live_server.url.split("//", 1)[1].split(":")[0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        context.add_cookies(
            [
                {
                    "name": settings.LANGUAGE_COOKIE_NAME,
                    "value": "zh-hans",
                    "domain": host,
                    "path": "/",
                }
            ]
        )
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Chromium enforces the Content-Security-Policy and reports each refusal on the console.
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            # Log in through the real login page, landing on the keys page.
            login = page.goto(f"{live_server.url}/accounts/login/?next=/keys/")
            assert "script-src 'self'" in login.headers["content-security-policy"]
            page.fill("#id_username", "huarui")
            page.fill("#id_password", PASSWORD)
            page.click("form[action$='/accounts/login/'] button[type=submit]")
            page.wait_for_url("**/keys/")
            expect(page.locator("h1")).to_have_text("投标密钥")

            # Too short a passphrase is refused in the page.
            page.fill("#gen-pass", "short")
            page.fill("#gen-pass2", "short")
            page.click("#generate-btn")
            expect(page.locator("#generate-status")).to_contain_text("至少需要 12 个字符")

            page.fill("#gen-pass", PASSPHRASE)
            page.fill("#gen-pass2", PASSPHRASE)
            with page.expect_download() as download_info:
                page.click("#generate-btn")
            backup_path = tmp_path / download_info.value.suggested_filename
            download_info.value.save_as(backup_path)
            page.wait_for_selector('#registered-keys td.held[data-held="yes"]', timeout=30000)
            expect(page.locator("#generate-status")).to_contain_text("备份文件")
            expect(page.locator("#browser-keysets .keyset")).to_have_count(1)
            active = {k.use: k for k in BidderKey.objects.filter(organization=org, retired_at=None)}
            assert set(active) == {"enc", "sign"}
            assert page.locator('#registered-keys td.held[data-held="yes"]').count() == 2
            backup = json.loads(backup_path.read_text())
            assert (
                backup["format"] == "sbe1-key-backup" and backup["organization"] == org.credit_code
            )
            assert {k["kid"] for k in backup["keys"]} == {active["enc"].kid, active["sign"].kid}
            page.wait_for_timeout(300)
            _shot(page, "keys-zh")

            # The bid page: fill the opening form and pick the file.
            page.goto(f"{live_server.url}/sections/{section.public_id}/bid/")
            expect(page.locator("h1")).to_have_text("投标文件递交")
            expect(page.locator("#browser-key-state")).to_contain_text("已保存")
            # Under the page's Content-Security-Policy the SHA-256 runs as WebAssembly in a Worker,
            # not as the JS fallback that createSha256 quietly takes when the Worker or WASM is refused.
            script = page.locator("script[src*='bid-upload']").get_attribute("src")
            hasher_kind = page.evaluate(
                """async (src) => {
                    const at = new URL("sha256-stream.js", new URL(src, location.href)).href;
                    const h = await (await import(at)).createSha256();
                    const kind = h.kind;
                    h.close();
                    return kind;
                }""",
                script,
            )
            assert hasher_kind == "wasm-worker", hasher_kind
            expect(page.locator("#current-empty")).to_contain_text("尚未递交")
            page.fill("#f-price", "12345678.901")
            page.fill("#f-duration_days", "180")
            page.click("#seal-btn")
            expect(page.locator('[data-field="price"] .error')).to_contain_text("最多两位小数")
            expect(page.locator('[data-field="__file"] .error')).to_be_visible()
            page.fill("#f-price", "48,650,000.50")
            page.set_input_files("#bid-file", str(documents))

            # Chunk 1 cannot get through until we say so: the upload retries, then pauses.
            requests = []
            page.on(
                "request",
                lambda r: requests.append((r.method, r.url)) if "/api/v1/" in r.url else None,
            )
            blocked = {"on": True, "aborted": 0}

            def drop_chunk_one(route):
                if blocked["on"]:
                    blocked["aborted"] += 1
                    route.abort("internetdisconnected")
                else:
                    route.continue_()

            page.route(re.compile(r".*/api/v1/bids/uploads/[^/]+/chunks/1$"), drop_chunk_one)

            # The server is busy once when the upload is created and once on chunk 0: a 503 with
            # Retry-After: 2, which the page waits out (longer than its own 0.5 s backoff) before trying again.
            busy_served: dict[str, float] = {}
            sent: list[tuple[str, str, float]] = []
            page.on("request", lambda r: sent.append((r.method, r.url, time.monotonic())))

            def busy_once(route):
                key = f"{route.request.method} {route.request.url}"
                if key in busy_served:
                    return route.continue_()
                busy_served[key] = time.monotonic()
                return route.fulfill(
                    status=503,
                    headers={"Retry-After": "2", "Content-Type": "application/json"},
                    body=json.dumps({"error": {"code": "retry_later", "message": "busy"}}),
                )

            page.route(re.compile(r".*/api/v1/sections/[^/]+/bids/uploads$"), busy_once)
            page.route(re.compile(r".*/api/v1/bids/uploads/[^/]+/chunks/0$"), busy_once)
            page.click("#seal-btn")
            expect(page.locator("#resume-btn")).to_be_visible(timeout=90000)
            expect(page.locator("#upload-paused")).to_contain_text("继续上传")
            # Pass 2 encrypts and uploads at once.
            expect(page.locator("#steps li.current")).to_have_count(2)
            expect(page.locator('#steps li.current[data-step="upload"]')).to_be_visible()
            expect(page.locator('#steps li.current[data-step="encrypt"]')).to_be_visible()
            progress = int(page.locator("#progress").get_attribute("aria-valuenow"))
            assert 20 < progress < 97, progress
            _shot(page, "upload-zh")

            upload_id = re.search(
                r"/bids/uploads/([^/]+)/chunks/", [u for m, u in requests if m == "PUT"][0]
            )[1]
            held = set(
                UploadChunk.objects.filter(upload__public_id=upload_id).values_list(
                    "index", flat=True
                )
            )
            assert 0 in held and 1 not in held and held <= {0, 2}, held  # 2 ran beside 1
            assert blocked["aborted"] == 5  # the first try and 4 retries with backoff
            creates = [t for m, u, t in sent if m == "POST" and u.endswith("/bids/uploads")]
            chunk0 = [t for m, u, t in sent if m == "PUT" and u.endswith("/chunks/0")]
            assert len(busy_served) == 2 and len(creates) == 2 and len(chunk0) == 2
            assert creates[1] - creates[0] >= 1.9 and chunk0[1] - chunk0[0] >= 1.9  # Retry-After honoured

            # Back online: resume asks the server what it holds and sends only what is missing.
            blocked["on"] = False
            marker = len(requests)
            page.click("#resume-btn")
            expect(page.locator("#receipt")).to_be_visible(timeout=60000)
            after = requests[marker:]
            assert after[0] == ("GET", f"{live_server.url}/api/v1/bids/uploads/{upload_id}")
            puts = [u.rsplit("/", 1)[1] for m, u in after if m == "PUT"]
            assert puts[0] == "1" and sorted(puts) == sorted({"1", "2"} - {str(i) for i in held})
            all_puts = [u.rsplit("/", 1)[1] for m, u in requests if m == "PUT"]
            assert all_puts.count("0") == 2  # the busy answer and the stored one; not sent again

            receipt_digest = page.locator("#r-digest").inner_text().strip()
            bid_id = page.locator("#r-bid").inner_text().strip()
            expect(page.locator("#current-body")).to_be_visible()
            expect(page.locator("#c-status")).to_contain_text("已")
            assert page.locator("#c-bid").inner_text().strip() == bid_id
            assert (
                page.locator("#r-pdf").get_attribute("href") == f"/api/v1/bids/{bid_id}/receipt.pdf"
            )
            expect(page.locator("#steps li.done")).to_have_count(4)
            page.wait_for_timeout(600)
            _shot(page, "receipt-zh")

            # The receipt PDF downloads with the session.
            pdf = page.request.get(f"{live_server.url}/api/v1/bids/{bid_id}/receipt.pdf")
            assert pdf.ok and pdf.body().startswith(b"%PDF")

            # English, then withdraw with confirmation (R08).
            context.add_cookies(
                [
                    {
                        "name": settings.LANGUAGE_COOKIE_NAME,
                        "value": "en",
                        "domain": host,
                        "path": "/",
                    }
                ]
            )
            page.goto(f"{live_server.url}/sections/{section.public_id}/bid/")
            expect(page.locator("h1")).to_have_text("Submit a sealed bid")
            expect(page.locator("#replace-warning")).to_be_visible()
            expect(page.locator("#c-bid")).to_have_text(bid_id)
            page.fill("#f-price", "48650000.50")
            page.fill("#f-duration_days", "180")
            page.evaluate("document.activeElement && document.activeElement.blur()")
            page.wait_for_timeout(1100)
            _shot(page, "page-en")
            dialogs = []
            page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
            page.click("#withdraw-btn")
            expect(page.locator("#current-status")).to_contain_text("withdrawn")
            expect(page.locator("#c-status")).to_contain_text("Withdrawn")
            assert dialogs and "Withdraw this bid" in dialogs[0]
            assert not errors, errors
        finally:
            context.close()
            browser.close()

    # The server's side of the story.
    bid = Bid.objects.get(public_id=bid_id)
    assert bid.status == Bid.Status.WITHDRAWN and bid.organization_id == org.pk
    assert bid.digest == receipt_digest
    stored = settings.FILE_STORE_DIR / bid.storage_path
    data = stored.read_bytes()
    assert (
        hashlib.sha256(data).hexdigest() == bid.digest
        and 10 * 1024 * 1024 < len(data) < 11 * 1024 * 1024
    )
    opening = OpeningKey.objects.get(section=section)
    result = envelope.inspect(
        io.BytesIO(data),
        section=section.public_id,
        bidder=org.credit_code,
        opening_kid=opening.kid,
        bidder_kid=active["enc"].kid,
        max_size=len(data),
    )
    assert result.digest.hex() == bid.digest
    assert bid.bidder_kid == active["enc"].kid and bid.sign_kid == active["sign"].kid

    # It really opens: K2 with the downloaded backup, K1 with the opening key (after the deadline).
    enc_private, _sign = backup_read(backup_path.read_bytes(), PASSPHRASE)
    k2 = envelope.unwrap_key(result.header, 1, enc_private)
    k1 = envelope.unwrap_key(
        result.header,
        0,
        opening_key_unwrap(section=section, now=section.bid_deadline + timedelta(seconds=1)),
    )
    summary = envelope.open_summary(io.BytesIO(data), k1=k1, k2=k2)
    assert summary["price"] == "48650000.50" and summary["currency"] == "CNY"
    assert summary["duration_days"] == 180
    assert (
        summary["documents"]["sha256"] == documents_sha
        and summary["documents"]["name"] == "投标文件.zip"
    )
    out = io.BytesIO()
    envelope.open_documents(io.BytesIO(data), out, k1=k1, k2=k2)
    assert hashlib.sha256(out.getvalue()).hexdigest() == documents_sha


def _login_with_new_keys(page, live_server, tmp_path) -> Path:
    """Log in as huarui, generate and register keys in the browser; returns the backup file."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/?next=/keys/")
    page.fill("#id_username", "huarui")
    page.fill("#id_password", PASSWORD)
    page.click("form[action$='/accounts/login/'] button[type=submit]")
    page.wait_for_url("**/keys/")
    page.fill("#gen-pass", PASSPHRASE)
    page.fill("#gen-pass2", PASSPHRASE)
    with page.expect_download() as download_info:
        page.click("#generate-btn")
    backup_path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(backup_path)
    page.wait_for_selector('#registered-keys td.held[data-held="yes"]', timeout=30000)
    expect(page.locator('#registered-keys td.held[data-held="yes"]')).to_have_count(2)
    return backup_path


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_large_bid_is_sealed_while_uploading_in_parallel_and_python_opens_it(
    live_server, tmp_path, monkeypatch
):
    """96 MiB: pass 1 hashes, pass 2 streams 24 chunks with several PUTs at once, to a receipt."""
    require_chromium()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    section = publish_section()
    bidder = bidder_user(username="huarui")
    register(section, bidder)
    size = 96 * 1024 * 1024 + 12345  # the last frame and the last chunk are short
    documents = tmp_path / "bid.zip"
    with documents.open("wb") as out:
        seed = hashlib.sha256(b"large").digest()
        block = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(256)) * 128
        for _ in range(size // len(block)):
            out.write(block)
        out.write(block[: size % len(block)])
    documents_sha = hashlib.sha256(documents.read_bytes()).hexdigest()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        context = browser.new_context(locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Chunk 0 is held back until another PUT starts: a one-at-a-time upload never gets there.
        # Only chunks 0 and 1 are routed: routing sends the bodies through Playwright (slow).
        held, alongside, puts = [], [], []
        page.on(
            "request",
            lambda r: puts.append(r.url.rsplit("/", 1)[1]) if r.method == "PUT" else None,
        )

        def hold_chunk_zero(route):
            index = route.request.url.rsplit("/", 1)[1]
            if index == "0" and not alongside:
                held.append(route)
                return
            if held:
                alongside.append(index)
                held.pop().continue_()
            route.continue_()

        page.route(re.compile(r".*/api/v1/bids/uploads/[^/]+/chunks/[01]$"), hold_chunk_zero)
        try:
            backup_path = _login_with_new_keys(page, live_server, tmp_path)
            page.goto(f"{live_server.url}/sections/{section.public_id}/bid/")
            expect(page.locator("#browser-key-state")).to_contain_text("已保存")
            page.fill("#f-price", "9800000")
            page.fill("#f-duration_days", "365")
            page.set_input_files("#bid-file", str(documents))
            page.click("#seal-btn")
            expect(page.locator("#receipt")).to_be_visible(timeout=120000)
            expect(page.locator("#deadline-risk")).to_be_hidden()  # 25 days is plenty
            bid_id = page.locator("#r-bid").inner_text().strip()
            assert not errors, errors
        finally:
            context.close()
            browser.close()

    bid = Bid.objects.get(public_id=bid_id)
    assert alongside == ["1"]  # chunk 1 went up while chunk 0 was still on its way
    assert sorted(map(int, puts)) == list(range(-(-bid.size // (4 * 1024 * 1024))))  # each once
    data = (settings.FILE_STORE_DIR / bid.storage_path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == bid.digest
    result = envelope.inspect(
        io.BytesIO(data),
        section=section.public_id,
        bidder=bidder.organization.credit_code,
        opening_kid=OpeningKey.objects.get(section=section).kid,
        bidder_kid=bid.bidder_kid,
        max_size=len(data),
    )
    enc_private, _sign = backup_read(backup_path.read_bytes(), PASSPHRASE)
    k2 = envelope.unwrap_key(result.header, 1, enc_private)
    k1 = envelope.unwrap_key(
        result.header,
        0,
        opening_key_unwrap(section=section, now=section.bid_deadline + timedelta(seconds=1)),
    )
    summary = envelope.open_summary(io.BytesIO(data), k1=k1, k2=k2)
    assert summary["documents"] == {"name": "bid.zip", "size": size, "sha256": documents_sha}
    out = hashlib.sha256()

    class _Sink:
        def write(self, b):
            out.update(b)

    envelope.open_documents(io.BytesIO(data), _Sink(), k1=k1, k2=k2)
    assert out.hexdigest() == documents_sha


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_bid_that_cannot_finish_before_the_deadline_is_warned_about_before_it_starts_r06(
    live_server, tmp_path, monkeypatch
):
    """R06: the estimate (size / speeds this browser measured) against the server's clock."""
    require_chromium()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.utils import timezone
    from playwright.sync_api import expect, sync_playwright

    from bidding.models import BidUpload

    section = publish_section()
    bidder = bidder_user(username="huarui")
    register(section, bidder)
    type(section).objects.filter(pk=section.pk).update(
        bid_deadline=timezone.now() + timedelta(minutes=3)
    )
    documents = tmp_path / "bid.zip"
    documents.write_bytes(b"x" * (8 * 1024 * 1024))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        context = browser.new_context(locale="en-US", accept_downloads=True)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            _login_with_new_keys(page, live_server, tmp_path)
            # This browser measured 50 kB/s last time: 8 MiB needs ~3 minutes, 3 minutes are left.
            page.evaluate(
                "localStorage.setItem('bid-upload-speed', JSON.stringify({hash: 1e8, stream: 5e4}))"
            )
            page.goto(f"{live_server.url}/sections/{section.public_id}/bid/")
            page.fill("#f-price", "100")
            page.fill("#f-duration_days", "30")
            page.set_input_files("#bid-file", str(documents))
            dialogs = []
            page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.click("#seal-btn")
            expect(page.locator("#deadline-risk")).to_be_visible()
            expect(page.locator("#deadline-risk")).to_contain_text("R06")
            expect(page.locator("#seal-btn")).to_be_enabled()  # declined: nothing started
            assert dialogs and "Start anyway?" in dialogs[0]
            assert not BidUpload.objects.filter(section=section).exists()

            # With a fast enough browser there is no warning and the bid goes through.
            page.evaluate(
                "localStorage.setItem('bid-upload-speed', JSON.stringify({hash: 1e8, stream: 1e7}))"
            )
            page.click("#seal-btn")
            expect(page.locator("#receipt")).to_be_visible(timeout=60000)
            expect(page.locator("#deadline-risk")).to_be_hidden()
            assert not errors, errors
        finally:
            context.close()
            browser.close()
