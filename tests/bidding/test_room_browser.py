"""The whole bid opening (开标) driven in real Chromium against a real daphne with WebSockets.

One host, three bidders and one supervisor, each in their own browser context and logged in through the
login page, plus an anonymous English-speaking observer. A seeding subprocess builds a migrated SQLite
database with a published section and three real sealed bids (made with Python keys); once everyone is in
the room and signed in, the deadline is brought forward to a few seconds away (see ``bring_forward``).
daphne runs the embedded scheduler, so its deadline sweep opens the room by itself.
Bidders import their key backup file into the browser's key store and decrypt in the browser.

Screenshots go to docs/screenshots/room-*.png.

Run the seeding on its own with ``python -m tests.bidding.test_room_browser seed OUT.json`` (PLATFORM_VAR_DIR set);
``ROOM_TEST_TIMING=1 pytest -s`` prints how long each step took.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
PASSPHRASE = "开标-口令-2026!"
SEED_DEADLINE_IN = 240  # seconds: sign-in (5 minutes before the deadline) is open from the start
OPENING_IN = 8  # seconds after everyone has signed in
BIDDERS = ["浙江华锐建设集团有限公司", "杭州城建市政工程有限公司", "宁波交工路桥建设有限公司"]
PRICES = ["9870000.00", "9650000.50", "9912345.67"]
DURATIONS = [180, 210, 165]


# --------------------------------------------------------------------------------------------------
# Seeding (runs in its own process, against the server's database file)
# --------------------------------------------------------------------------------------------------


def seed(out: Path, deadline_in: float) -> None:
    from datetime import timedelta

    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    import time_machine
    from django.utils import timezone
    from rest_framework.test import APIClient

    from bidding.envelope import seal
    from bidding.keybackup import backup_write
    from tests import bidflow
    from tests.factories import (
        PASSWORD,
        OrganizationFactory,
        ProjectFactory,
        UserFactory,
        bidder_user,
        publish_section,
        register,
        supervisor_user,
    )
    from trading.models import Organization, User

    deadline = timezone.now() + timedelta(seconds=deadline_in)
    agency_org = OrganizationFactory(kind=Organization.Kind.AGENCY, name="杭州市建设工程招标代理有限公司")
    host = UserFactory(username="room_host", role=User.Role.AGENCY, organization=agency_org,
                       first_name="李", last_name="主持")
    project = ProjectFactory(code="HZXH-2026-0107", name="杭州市西湖区文三路综合整治工程", agency=agency_org,
                             created_by=host, owner_name="杭州市西湖区城市建设发展中心")
    # Publication checks the minimum bidding period (R01), so publish "25 days ago".
    with time_machine.travel(deadline - timedelta(days=25), tick=False):
        section = publish_section(deadline_days=25, project=project, title="第1标段 道路及管网施工",
                                  opening_config={"signin_minutes": 5, "decrypt_minutes": 1,
                                                  "objection_minutes": 0.3, "confirm_minutes": 3})
    assert abs((section.bid_deadline - deadline).total_seconds()) < 1
    supervisor_user(username="room_sup", first_name="王", last_name="监督")

    api = APIClient()
    bidders, backups, bids = [], [], []
    for i, name in enumerate(BIDDERS):
        user = bidder_user(username=f"room_b{i + 1}", organization=OrganizationFactory(name=name))
        register(section, user)
        kit = bidflow.kit_for(api, user)
        key = api.get(f"/api/v1/sections/{section.public_id}/opening-key", **kit.auth).json()
        import io

        from bidding.envelope import load_public_key_b64

        sealed = io.BytesIO()
        seal(out=sealed, documents=io.BytesIO(f"技术标与商务标 {name}".encode()),
             summary={"price": PRICES[i], "currency": "CNY", "duration_days": DURATIONS[i]},
             section=section.public_id, bidder=user.organization.credit_code,
             opening_public_key=load_public_key_b64(key["public_key"]), bidder_enc_public_key=kit.enc.public_key())
        envelope = sealed.getvalue()
        upload_id = bidflow.upload(api, kit, section, envelope)
        receipt = bidflow.submit(api, kit, upload_id, envelope)
        assert receipt.status_code == 201, receipt.content
        path = out.parent / f"keys-{user.username}.json"
        path.write_bytes(backup_write(enc_private=kit.enc, sign_private=kit.sign,
                                      organization=user.organization.credit_code, passphrase=PASSPHRASE,
                                      iterations=600_000))
        bidders.append(user.username)
        backups.append(str(path))
        bids.append(receipt.json()["bid_id"])
    out.write_text(json.dumps({
        "section": section.public_id, "deadline": section.bid_deadline.isoformat(),
        "deadline_epoch": section.bid_deadline.timestamp(), "password": PASSWORD, "passphrase": PASSPHRASE,
        "host": "room_host", "supervisor": "room_sup", "bidders": bidders, "backups": backups, "bids": bids,
        "names": BIDDERS,
    }, ensure_ascii=False))


def bring_forward(section_id: str, seconds: float) -> None:
    """Move the bid deadline to ``seconds`` from now, once every browser is in the room.

    Test-only: the deadline is first set minutes ahead so that slow machines can log five people in
    and sign three bidders in; then it is brought forward so that the opening (driven by daphne's own
    sweep, as in production) starts a few seconds later instead of the test waiting minutes. The opening
    key's wrapping binds the deadline, so it is re-wrapped for the new one, as opening_key_rebind does
    for a later deadline.
    """
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from bidding.models import OpeningKey
    from bidding.room.services import room_deadline_moved
    from bidding.services import keys
    from trading.models import Section

    with transaction.atomic():
        section = Section.objects.select_for_update().get(public_id=section_id)
        key = OpeningKey.objects.select_for_update().get(section=section)
        private_key = keys._unwrap(key)
        section.bid_deadline = timezone.now() + timedelta(seconds=seconds)
        section.save(update_fields=["bid_deadline"])
        key.wrapped_private_key, key.wrap_iv = keys._wrap(section, key.kid, section.bid_deadline, private_key)
        key.not_before = section.bid_deadline
        key.save(update_fields=["wrapped_private_key", "wrap_iv", "not_before"])
        room_deadline_moved(section=section)
    print(section.bid_deadline.timestamp())


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PLATFORM_PROFILE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "trading.config.settings", "PLATFORM_VAR_DIR": str(var_dir),
        "TSA_DIR": str(ROOT / "var" / "test-tsa"), "EMBEDDED_SCHEDULER": "0", "PYTHONUNBUFFERED": "1",
    })
    return env


def _server_env(var_dir: Path) -> dict:
    """daphne runs the deadline sweep itself, every second."""
    return {**_env(var_dir), "EMBEDDED_SCHEDULER": "1", "EMBEDDED_SCHEDULER_FORCE": "1",
            "SWEEP_INTERVAL_SECONDS": "1"}


@pytest.fixture(scope="module")
def opening(tmp_path_factory):
    from tests.services import require_chromium

    require_chromium()
    var_dir = tmp_path_factory.mktemp("room-server")
    env = _env(var_dir)
    _mark("migrate and seed")
    out = var_dir / "seed.json"
    subprocess.run([sys.executable, "-m", "tests.bidding.test_room_browser", "seed", str(out), str(SEED_DEADLINE_IN)],
                   cwd=ROOT, env=env, check=True)
    data = json.loads(out.read_text())
    _mark(f"seeded; deadline in {data['deadline_epoch'] - time.time():.1f}s")
    port = _free_port()
    log = open(var_dir / "daphne.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "trading.config.asgi:application"], cwd=ROOT, env=_server_env(var_dir), stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError((var_dir / "daphne.log").read_text()) from None
            time.sleep(0.1)
    data.update(base=base, var_dir=str(var_dir), env=env)
    _mark("daphne is up")
    yield data
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
    log.close()


# --------------------------------------------------------------------------------------------------
# The browser side
# --------------------------------------------------------------------------------------------------


T0 = time.time()


def _mark(what: str) -> None:
    if os.environ.get("ROOM_TEST_TIMING"):
        print(f"[{time.time() - T0:6.1f}s] {what}", flush=True)


CSP_VIOLATIONS: list[str] = []


def _watch_csp(page) -> None:
    """Chromium enforces the Content-Security-Policy and reports each refusal on the console."""
    page.on("console", lambda m: CSP_VIOLATIONS.append(m.text) if "Content Security Policy" in m.text else None)


def _login(browser, base: str, usernames: list[str], password: str, room: str) -> list:
    """Log everyone in through the login page; the posts run side by side, as real people would."""
    pages = []
    for username in usernames:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", accept_downloads=True)
        page = context.new_page()
        _watch_csp(page)
        page.goto(f"{base}/accounts/login/?next={room}")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("main form button[type=submit]", no_wait_after=True)
        pages.append(page)
    for page in pages:
        page.wait_for_url(f"{base}{room}", timeout=60000)
        _live(page)
    _mark("logged in: " + ", ".join(usernames))
    return pages


def _live(page):
    # Always a function: Playwright eval()s a bare expression in the page, which the CSP refuses.
    page.wait_for_function("() => window.openingRoom && window.openingRoom.connected", timeout=15000)


def _wait(page, script: str, arg=None, timeout: float = 30000):
    page.wait_for_function(script, arg=arg, timeout=timeout)


def _shot(page, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(250)  # let the last render and the clock settle
    page.screenshot(path=str(SHOTS / f"room-{name}.png"), full_page=True)


def _phase(page, phase: str, timeout: float = 30000):
    _wait(page, "p => window.openingRoom.state.phase === p", phase, timeout)


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


@pytest.mark.browser
@pytest.mark.slow
def test_the_whole_opening_in_five_browsers(opening):
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_args

    room = f"/sections/{opening['section']}/opening/"
    base, password = opening["base"], opening["password"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        try:
            _run(browser, opening, base, room, password)
        finally:
            browser.close()


def _run(browser, opening, base, room, password):  # noqa: PLR0915 - one story, told in order
    names = opening["names"]
    host, sup, *bidders = _login(browser, base, [opening["host"], opening["supervisor"], *opening["bidders"]],
                                 password, room)
    everyone = [host, sup, *bidders]

    # An anonymous observer who reads English.
    public_ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB",
                                     timezone_id="Asia/Shanghai")
    public_ctx.add_cookies([{"name": "django_language", "value": "en", "url": base}])
    public = public_ctx.new_page()
    _watch_csp(public)
    response = public.goto(f"{base}{room}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _live(public)
    assert public.locator("html").get_attribute("lang") == "en"
    assert "Bid-opening room" in public.title()
    assert "Public observer" in _text(public, ".room-role")

    # Each bidder brings its keys into this browser from its backup file, then signs in.
    for page, backup in zip(bidders, opening["backups"], strict=True):
        assert "开标大厅" in page.title() and "投标人" in _text(page, ".room-role")
        page.set_input_files("#backup-file", backup)
        page.fill("#backup-pass", opening["passphrase"])
        page.click("#btn-import")
        page.wait_for_function("() => document.getElementById('key-state').classList.contains('ok')",
                               timeout=20000)
        page.click("#btn-signin")
        _wait(page, "() => window.openingRoom.state.you.signed_in")
        assert "已签到" in _text(page, "#you-signin")
        _mark("bidder signed in")
    assert time.time() < opening["deadline_epoch"], "the bidders must sign in before the deadline"
    # R14: before the deadline nobody else learns who signed in.
    assert host.evaluate("window.openingRoom.state.signed_in.length") == 0
    assert public.evaluate("window.openingRoom.state.signed_in.length") == 0
    assert "第1标段" in _text(host, "h1 + .lead")
    _shot(bidders[0], "bidder-signin-zh")
    _shot(public, "public-signin-en")

    # R05: at the deadline the room opens by itself (daphne's own sweep) and the decryption window starts.
    moved = subprocess.run([sys.executable, "-m", "tests.bidding.test_room_browser", "deadline", opening["section"],
                            str(OPENING_IN)], cwd=ROOT, env=opening["env"], check=True, capture_output=True)
    deadline = float(moved.stdout.decode().strip().splitlines()[-1])
    _mark(f"deadline brought forward: opening in {deadline - time.time():.1f}s")
    for page in [*everyone, public]:  # pick up the new opening time (keys stay in IndexedDB)
        page.reload()
    for page in [*everyone, public]:
        _live(page)
    wait_ms = max(0, (deadline - time.time()) * 1000) + 20000
    for page in [*everyone, public]:
        _phase(page, "decryption", timeout=wait_ms)
    for page in everyone:
        _wait(page, "() => window.openingRoom.state.signed_in.length === 3")
    assert sorted(host.evaluate("window.openingRoom.state.signed_in")) == sorted(names)
    assert public.evaluate("window.openingRoom.state.signed_in") == [None, None, None]
    assert "Bidder No. 1" in _text(public, "#record-body")
    for name in names:
        assert name not in _text(public, "#record-body")
    _wait(bidders[0], "() => window.openingRoom.state.you.bid_no !== null")

    # The first bidder decrypts in its browser.
    bidders[0].click("#btn-decrypt")
    for page in [*everyone, public]:
        _wait(page, "() => window.openingRoom.state.decrypted === 1")
    assert "1 / 3" in _text(host, "#progress-text") or "1" in _text(host, "#progress-x")

    # The supervisor pauses once, everyone sees why, then resumes.
    sup.fill("#pause-reason", "投标人反映网络异常，暂停核查")
    sup.click("#btn-pause")
    for page in [*everyone, public]:
        page.wait_for_selector("#banner-paused:not([hidden])", timeout=10000)
    assert "投标人反映网络异常" in _text(bidders[1], "#banner-paused")
    assert bidders[1].locator("#btn-decrypt").is_disabled()
    assert "Reason:" in _text(public, "#banner-paused")
    _shot(sup, "supervisor-paused-zh")
    _shot(bidders[1], "bidder-paused-zh")
    sup.fill("#pause-reason", "核查完毕，网络正常")
    sup.click("#btn-resume")
    for page in [*everyone, public]:
        page.wait_for_selector("#banner-paused[hidden]", state="attached", timeout=10000)
    # A host cannot decrypt; the bidder's own button is the only way in.
    assert host.locator("#btn-decrypt").count() == 0

    # The other two decrypt; the window then closes early and the prices are read (唱标).
    bidders[1].wait_for_selector("#btn-decrypt:not([disabled])")
    bidders[1].click("#btn-decrypt")
    _wait(host, "() => window.openingRoom.state.decrypted === 2")
    _shot(public, "public-decryption-en")
    _shot(host, "host-decryption-zh")
    bidders[2].click("#btn-decrypt")
    for page in [*everyone, public]:
        _phase(page, "objections")
        _wait(page, "() => window.openingRoom.state.bids.filter(b => b.order).length === 3")
    for page in [*everyone, public]:
        body = _text(page, "#record-body")
        for name in names:
            assert name in body
        assert "9,870,000.00" in body and "9,650,000.50" in body and "9,912,345.67" in body

    # R13: a bidder objects, the host answers on the spot, everyone sees both.
    bidders[2].fill("#objection-text", "第2号投标人的工期与报价明显不匹配，请主持人核实唱标内容。")
    bidders[2].click("#objection-send")
    for page in [*everyone, public]:
        _wait(page, "() => window.openingRoom.state.objections.length === 1")
    host.fill("textarea[data-objection]", "经核对，唱标内容与投标文件开标一览表一致，异议不成立，已记入开标记录。")
    _shot(host, "host-objection-zh")
    host.click("button[data-answer]")
    for page in [*everyone, public]:
        _wait(page, "() => window.openingRoom.state.objections.every(o => o.answered)")
    assert "异议不成立" in _text(bidders[2], "#objection-list")
    _shot(bidders[2], "bidder-objection-zh")

    # R12: the signed record; the host may close the objection period once everything is answered.
    if host.evaluate("window.openingRoom.state.phase") == "objections":
        host.wait_for_selector("#btn-advance:not([disabled])")
        host.click("#btn-advance")
    # The record is co-signed (ADR 0032): bidders with their SBE1 key, staff with a key made in their browser.
    for page in [*everyone, public]:
        _phase(page, "record")
    assert public.locator("#btn-confirm-record").count() == 0
    for page in [host, sup, bidders[0], bidders[1]]:
        page.wait_for_selector("#btn-confirm-record:not([disabled])")
        page.click("#btn-confirm-record")
        page.wait_for_function("() => document.getElementById('confirm-status').textContent.includes('已签名确认')",
                               timeout=20000)
        _mark("record signed")
    bidders[2].once("dialog", lambda dialog: dialog.accept("唱标内容有误"))
    bidders[2].click("#btn-refuse-record")
    for page in [*everyone, public]:
        _wait(page, "() => window.openingRoom.state.record !== null", timeout=30000)
        _phase(page, "closed")
        page.wait_for_selector("#record-link", state="visible")
    with bidders[0].expect_download() as info:
        bidders[0].click("#record-link")
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "开标记录表" in text and names[0] in text
    flat = text.replace("\n", "").replace(" ", "")
    assert flat.count("已签名确认") == 4 and "拒绝签名" in flat and "唱标内容有误" in flat
    from timestamps.verification import COSIGN_FILE, Verdict, cosign_check, pdf_attachments
    attachments = pdf_attachments(pdf)
    verdict = Verdict("pdf")
    cosign_check(verdict, attachments)  # the browsers' WebCrypto signatures, checked as the offline verifier does
    assert verdict.ok and [c.code for c in verdict.checks].count("cosign-signature") == 4, verdict.checks
    cosign = json.loads(attachments[COSIGN_FILE])
    assert sorted(e["role"] for e in cosign["signatures"] if e["status"] == "signed") == [
        "bidder", "bidder", "host", "supervisor"]
    response = public.request.get(base + public.locator("#record-link").get_attribute("href"))
    assert response.ok and response.body().startswith(b"%PDF")

    _shot(host, "host-closed-zh")
    _shot(sup, "supervisor-closed-zh")
    _shot(bidders[0], "bidder-closed-zh")
    _shot(public, "public-closed-en")

    public.goto(f"{base}/openings/")
    assert "第1标段" in _text(public, "main")
    _shot(public, "openings-en")

    # Reconnecting: a dropped socket shows its state, comes back and resumes without duplicates.
    before = sup.evaluate("window.openingRoom.lastSeq")
    sup.evaluate("window.openingRoom.drop()")
    sup.wait_for_selector("#conn[data-state=reconnecting]", timeout=5000)
    _live(sup)
    assert sup.evaluate("window.openingRoom.lastSeq") == before
    assert sup.evaluate("window.openingRoom.state.objections.length") == 1
    assert not CSP_VIOLATIONS, CSP_VIOLATIONS


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "seed":
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")
        django.setup()
        seed(Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else SEED_DEADLINE_IN)
    elif len(sys.argv) == 4 and sys.argv[1] == "deadline":
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")
        django.setup()
        bring_forward(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("usage: python -m tests.bidding.test_room_browser seed OUT.json [SECONDS] | deadline SECTION SECONDS")
