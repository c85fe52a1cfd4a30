"""The public transparency portal: search over everything public, the blacklist pages, opening results only
after the opening (R14), feeds, and the service rating page."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
import time_machine
from django.utils import timezone

from bidding.room.decrypt import room_decrypt
from tests.credit.test_blacklist import bar, urlpatterns  # noqa: F401  (this module is its own urlconf)
from tests.factories import (
    OrganizationFactory,
    SectionFactory,
    agency_user,
    bidder_user,
    published_section,
    register,
    supervisor_user,
)
from tests.roomkit import prepare
from trading.credit.models import CreditAppeal
from trading.credit.services.blacklist import add_years
from trading.models import Clarification, Section
from trading.sweeps import run_sweeps

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
XSS = "<script>alert(1)</script>"


def test_portal_searches_announcements_and_hides_drafts(client):
    published_section(title="第一标段 桥梁施工")
    SectionFactory(title="第二标段 草稿")
    html = client.get("/portal/?q=桥梁").content.decode()
    assert "第一标段 桥梁施工" in html
    assert "第二标段 草稿" not in client.get("/portal/?q=草稿").content.decode()


def test_portal_searches_clarifications(client):
    section = published_section()
    now = timezone.now()
    Clarification.objects.create(section=section, number=1, text="关于钢筋规格的澄清", deadline_before=now,
                                 deadline_after=now)
    html = client.get("/portal/?type=clarifications&q=钢筋").content.decode()
    assert "关于钢筋规格的澄清" in html


def test_r14_opening_results_are_public_only_after_the_record(client, api):
    opening = prepare(api, 3)
    url = f"/portal/sections/{opening.section.public_id}/opening/"
    names = [k.user.organization.name for k in opening.kits]
    assert client.get(url).status_code == 404
    with time_machine.travel(opening.section.bid_deadline, tick=False):
        run_sweeps()
        assert client.get(url).status_code == 404  # decrypting: still nothing public
        for i, bid_id in enumerate(opening.bids):
            room_decrypt(user=opening.kits[i].user, bid_id=bid_id, k2=opening.k2(i))
    with time_machine.travel(opening.section.bid_deadline + timedelta(minutes=11), tick=False):
        run_sweeps()
    html = client.get(url).content.decode()
    assert all(name in html for name in names) and "9650000.50" in html
    listing = client.get("/portal/?type=openings").content.decode()
    assert opening.section.project.name in listing
    feed = client.get("/portal/feeds/results.rss")
    assert feed.status_code == 200 and opening.section.title in feed.content.decode()


def test_candidates_and_awards_appear_in_the_portal(client):
    from experts.models import Publicity
    from tests.credit.test_collusion import make_bid

    section = SectionFactory(status=Section.Status.PUBLICIZING, title="第三标段 监理")
    now = timezone.now()
    bid = make_bid(section)
    Publicity.objects.create(section=section, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3),
                             published_by=agency_user(),
                             candidates=[{"bid": bid.public_id, "bidder": bid.organization.name, "price": "9800000.00",
                                          "rank": 1, "credit_code": bid.organization.credit_code}])
    html = client.get("/portal/?type=candidates").content.decode()
    assert "第三标段 监理" in html and bid.organization.name in html


def test_the_public_blacklist_page_shows_records_in_force_and_all_on_request(client):
    current = bar(OrganizationFactory(name="甲建设有限公司"))
    start = timezone.localdate() - timedelta(days=800)
    bar(OrganizationFactory(name="乙建设有限公司"), starts_on=start, ends_on=add_years(start, 2) - timedelta(days=1))
    html = client.get("/portal/blacklist/").content.decode()
    assert "甲建设有限公司" in html and "乙建设有限公司" not in html
    assert "乙建设有限公司" in client.get("/portal/blacklist/?scope=all").content.decode()
    assert "甲建设有限公司" in client.get("/portal/?type=blacklist&q=甲建设").content.decode()
    detail = client.get(f"/portal/blacklist/{current.public_id}/").content.decode()
    assert current.document_sha256 in detail and current.decision_number in detail
    document = client.get(f"/portal/blacklist/{current.public_id}/document/")
    assert document.status_code == 200 and b"".join(document.streaming_content) == b"%PDF-1.4 decision"
    assert client.get("/portal/blacklist/nope/").status_code == 404


def test_record_text_is_escaped(client):
    org = OrganizationFactory(name=f"恶意公司{XSS}")
    record = bar(org)
    html = client.get(f"/portal/blacklist/{record.public_id}/").content.decode()
    assert XSS not in html and "&lt;script&gt;" in html


def test_only_the_party_appeals_from_the_record_page(client):
    bidder = bidder_user()
    record = bar(bidder.organization)
    url = f"/portal/blacklist/{record.public_id}/appeal/"
    assert client.post(url, {"text": "申诉"}).status_code == 302 and not CreditAppeal.objects.exists()
    client.force_login(bidder_user())
    assert 'name="text"' not in client.get(f"/portal/blacklist/{record.public_id}/").content.decode()
    client.post(url, {"text": "他人申诉"})
    assert not CreditAppeal.objects.exists()
    client.force_login(bidder)
    assert 'name="text"' in client.get(f"/portal/blacklist/{record.public_id}/").content.decode()
    client.post(url, {"text": "我公司申诉"})
    assert CreditAppeal.objects.get().text == "我公司申诉"


def test_feeds_are_valid_xml_and_list_announcements_and_the_blacklist(client):
    section = published_section(title="第五标段 绿化")
    record = bar(OrganizationFactory(name="戊建设有限公司"))
    for url, expected in (("/portal/feeds/announcements.rss", section.title),
                          ("/portal/feeds/announcements.atom", section.title),
                          ("/portal/feeds/blacklist.rss", record.public_id),
                          ("/portal/feeds/results.rss", "")):
        response = client.get(url)
        assert response.status_code == 200
        ElementTree.fromstring(response.content)
        assert expected in response.content.decode()
    assert "application/atom+xml" in client.get("/portal/feeds/announcements.atom")["Content-Type"]


def test_the_rating_page_is_for_participants(client):
    section = published_section()
    bidder = bidder_user()
    register(section, bidder)
    url = f"/portal/sections/{section.public_id}/rate/"
    assert client.get(url).status_code == 302
    client.force_login(bidder_user())
    assert client.get(url).status_code == 404
    client.force_login(supervisor_user())
    assert client.get(url).status_code == 404
    client.force_login(bidder)
    assert client.get(url).status_code == 200
    page = client.post(url, {"stage": "registration", "score": "2", "comment": ""})
    assert page.status_code == 200 and "comment" in page.content.decode()
    page = client.post(url, {"stage": "registration", "score": "5", "comment": "顺利"})
    assert page.status_code == 302
    assert section.service_ratings.get().score == 5


def test_portal_pages_render_in_english_too(client):
    client.cookies["django_language"] = "en"
    bar(OrganizationFactory(name="己建设有限公司"))
    assert client.get("/portal/blacklist/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert client.get("/portal/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
