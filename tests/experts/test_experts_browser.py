"""A whole remote evaluation (远程评标) in real Chromium: five drawn experts declare, elect a leader, read the
decrypted bids, score, submit and sign, and the sealed report PDF comes out.

The section is opened for real first (three sealed bids, decrypted in the opening room with time_machine),
so the committee reads documents decrypted with the bidders' K2. Screenshots: docs/screenshots/experts-*.png.
"""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from bidding.models import Bid
from bidding.room.decrypt import room_decrypt
from experts.models import Evaluation, EvaluationDocument, Pick
from experts.services import draws
from experts.services.evaluation import evaluation_start
from tests.experts.test_experts_kit import agency_of, make_experts
from tests.factories import supervisor_user
from tests.roomkit import prepare
from tests.services import chromium_args, require_chromium
from trading.models import Section
from trading.sweeps import run_sweeps

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CRITERIA = [{"name": "技术方案", "max_score": "40", "kind": "technical"},
            {"name": "项目管理机构", "max_score": "10", "kind": "technical"},
            {"name": "商务及信誉", "max_score": "10", "kind": "commercial"},
            {"name": "投标报价", "max_score": "40", "kind": "price"}]


@pytest.fixture(autouse=True)
def _urls(settings, monkeypatch):
    settings.ROOT_URLCONF = "tests.experts.test_experts_urls"
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between Playwright steps


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def opened_section_with_committee(api):
    opening = prepare(api, 3)
    section = opening.section
    Section.objects.filter(pk=section.pk).update(criteria=CRITERIA)
    make_experts(8, with_users=True)
    supervisor = supervisor_user()
    starts = section.bid_deadline + timedelta(days=1)
    draw = draws.draw_request(user=agency_of(section), section_id=section.pk, evaluation_starts_at=starts,
                              evaluation_ends_at=starts + timedelta(hours=6),
                              groups=[{"specialty": "土建", "count": 5, "backups": 2}])
    draw = draws.draw_add_entropy(user=supervisor, draw_id=draw.public_id, entropy="掷骰 5-2-6-1-3-4")
    members = list(Pick.objects.filter(draw=draw, primary=True).select_related("expert__user").order_by("seat"))
    for pick in members:
        draws.pick_confirm(user=pick.expert.user, pick_id=pick.public_id)
    with time_machine.travel(section.bid_deadline, tick=False):
        run_sweeps()
        for i, bid_id in enumerate(opening.bids):
            room_decrypt(user=opening.kits[i].user, bid_id=bid_id, k2=opening.k2(i))
    with time_machine.travel(section.bid_deadline + timedelta(minutes=11), tick=False):
        run_sweeps()
        section.refresh_from_db()
        assert section.status == Section.Status.OPENED
        evaluation_start(user=agency_of(section), section_id=section.pk)  # R10: keys only after the deadline
    return section, draw, members, supervisor


@pytest.mark.django_db(transaction=True)
def test_five_experts_evaluate_remotely_in_chromium_and_the_sealed_report_comes_out(live_server, api):
    from playwright.sync_api import expect, sync_playwright

    from timestamps.docsign import verify_pdf

    require_chromium()
    section, draw, members, supervisor = opened_section_with_committee(api)
    documents = EvaluationDocument.objects.filter(evaluation__section=section)
    assert documents.count() == 3 and all(d.sha256 and not d.error for d in documents), [d.error for d in documents]
    SHOTS.mkdir(parents=True, exist_ok=True)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    room = f"{live_server.url}/expert/evaluations/{section.public_id}/"
    bids = list(Bid.objects.filter(section=section, status=Bid.Status.DECRYPTED).order_by("received_at"))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())

        def context_for(user):
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_of(user),
                                  "domain": host, "path": "/"},
                                 {"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "domain": host,
                                  "path": "/"}])
            return context

        try:
            pages = []
            for n, pick in enumerate(members):
                context = context_for(pick.expert.user)
                page = context.new_page()
                page.goto(f"{live_server.url}/expert/")
                page.click("a.enter-evaluation")
                page.click("#declare")
                if page.locator("#seat").count():  # the form goes once a majority has elected
                    page.select_option("#seat", str(members[0].seat))
                    page.click("#vote")
                for b, bid in enumerate(bids):
                    card = page.locator(f"#bid-{bid.public_id}")
                    if n == 0 and b == 0:  # a member reads the decrypted bid documents
                        with page.expect_download() as download:
                            card.locator("a.doc-link").click()
                        assert Path(download.value.path()).read_bytes() == f"技术标 {b}".encode()
                    card.locator("input[name=score_0]").fill(str(30 + b + n % 2))
                    card.locator("input[name=score_1]").fill("8")
                    card.locator("input[name=score_2]").fill(str(7 + b))
                    card.locator("button.save-bid").click()
                    expect(page.locator(f"#bid-{bid.public_id} .tag-ok")).to_be_visible()
                if n == 0:
                    page.screenshot(path=str(SHOTS / "experts-evaluation.png"), full_page=True)
                page.click("#submit-scores")
                expect(page.locator(".flash-success")).to_be_visible()
                pages.append(page)
            leader = pages[0]
            leader.goto(room)
            expect(leader.locator(".seats .tag-ok")).to_have_count(1)
            leader.click("#conclude")
            expect(leader.locator("#report")).to_be_visible()
            for n, page in enumerate(pages):
                page.goto(room)
                if n == 4:  # one written dissent (R26)
                    page.check("input[name=agree][value=no]")
                    page.fill("#dissent", "第二名技术方案评分偏高，保留意见。")
                page.click("#sign")
                expect(page.locator(".flash-success")).to_be_visible()
            leader.goto(room)
            expect(leader.locator("#report-pdf")).to_be_visible()
            leader.screenshot(path=str(SHOTS / "experts-report.png"), full_page=True)
            pdf = leader.request.get(leader.locator("#report-pdf").get_attribute("href")
                                     if leader.locator("#report-pdf").get_attribute("href").startswith("http")
                                     else live_server.url + leader.locator("#report-pdf").get_attribute("href"))
            assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
            report = verify_pdf(pdf.body())
            assert report.valid and report.intact and report.timestamp_valid

            staff = context_for(supervisor).new_page()
            staff.goto(f"{live_server.url}/supervisor/draws/{draw.public_id}/?replay=1")
            expect(staff.locator(".replay-ok")).to_be_visible()
            staff.screenshot(path=str(SHOTS / "experts-draw-replay.png"), full_page=True)
            staff.goto(f"{live_server.url}/supervisor/experts/")
            staff.screenshot(path=str(SHOTS / "experts-pool.png"), full_page=True)
            agency = context_for(agency_of(section)).new_page()
            agency.goto(f"{live_server.url}/agency/sections/{section.public_id}/experts/")
            assert "ZJ0" not in agency.inner_text("body")  # R25: no expert codes or names for the agency
            agency.screenshot(path=str(SHOTS / "experts-agency.png"), full_page=True)
        finally:
            browser.close()
    evaluation = Evaluation.objects.get(section=section)
    assert evaluation.status == Evaluation.Status.REPORTED
    assert len(evaluation.result["candidates"]) == 3
    kinds = sorted(Pick.objects.filter(draw=draw, seat__isnull=False).values_list("signature_kind", flat=True))
    assert kinds == ["agree"] * 4 + ["dissent"]


@pytest.mark.django_db(transaction=True)
def test_the_pool_status_select_submits_itself_under_the_content_security_policy(live_server):
    """The select's onchange="..." became a site.js listener: CSP refuses inline handlers."""
    from playwright.sync_api import sync_playwright

    from experts.models import Expert

    require_chromium()
    expert = make_experts(1)[0]
    supervisor = supervisor_user()
    host = live_server.url.split("//", 1)[1].split(":")[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        try:
            context = browser.new_context()
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_of(supervisor),
                                  "domain": host, "path": "/"}])
            page = context.new_page()
            refusals = []
            page.on("console", lambda m: refusals.append(m.text) if "Content Security Policy" in m.text else None)
            response = page.goto(f"{live_server.url}/supervisor/experts/")
            assert "script-src 'self'" in response.headers["content-security-policy"]
            with page.expect_navigation():
                page.select_option(f"form:has(input[value='{expert.code}']) select[name=status]", "suspended")
        finally:
            browser.close()
    expert.refresh_from_db()
    assert expert.status == Expert.Status.SUSPENDED
    assert not refusals, refusals
