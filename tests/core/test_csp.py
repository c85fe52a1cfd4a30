"""Content-Security-Policy (docs/decisions/0023-csp.md): every page carries it and runs no inline script.

A crawl follows the links of every role's pages, as tests/core/test_pages.py renders them, and checks each
HTML page: the header is there, no <script> runs inline (json_script blocks are data), no on* handler, no
style attribute and no <style> element. tests/bidding/test_bid_page.py, test_room_browser.py and
tests/experts/test_experts_browser.py prove the pages work under it in Chromium.
"""

from html.parser import HTMLParser
from urllib.parse import urldefrag, urlparse

import pytest
from django.test import override_settings

from bidding.models import OpeningRoom
from tests.core.test_pages import world  # noqa: F401  (the pages' fixture)
from tests.experts.test_experts_kit import make_experts
from trading.csp import csp_header

pytestmark = pytest.mark.django_db
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class PageAudit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag == "script":
            executable = (values.get("type") or "text/javascript").lower() not in DATA_SCRIPT_TYPES
            self._inline_script = executable and not values.get("src") and not values.get("nonce")
        if tag == "a" and (values.get("href") or "").lower().startswith("javascript:"):
            self.problems.append("javascript: link")

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False


def audit(response) -> PageAudit:
    page = PageAudit()
    page.feed(response.content.decode())
    return page


def crawl(client, starts: list[str], limit: int = 120) -> dict[str, PageAudit]:
    """GET same-site pages breadth-first from ``starts``; return the audit of every HTML page."""
    seen, queue, pages = set(), list(starts), {}
    while queue and len(seen) < limit:
        url = urldefrag(queue.pop(0))[0]
        parsed = urlparse(url)
        if url in seen or parsed.netloc or not parsed.path.startswith("/") or "logout" in url:
            continue
        seen.add(url)
        response = client.get(url)
        assert "Content-Security-Policy" in response, url
        if "text/html" not in response.get("Content-Type", ""):
            continue
        pages[url] = page = audit(response)
        queue.extend(link for link in page.links if link not in seen)
    return pages


@pytest.mark.parametrize("role", [None, "agency", "bidder", "supervisor", "expert"])
def test_every_crawled_page_has_the_policy_and_no_inline_script(client, world, role):  # noqa: F811
    make_experts(2)  # the pool page's rows carry the self-submitting status select
    OpeningRoom.objects.create(section=world["published"])  # the room page renders in its sign-in phase
    if role:
        client.force_login(world[role])
    published = world["published"].public_id
    starts = ["/", "/workspace/", f"/sections/{published}/opening/", f"/sections/{published}/bid/",
              "/keys/", "/openings/", "/login/", "/django-admin/login/", "/api/v1/docs/", "/no/such/page/"]

    pages = crawl(client, starts)

    assert len(pages) >= 8, sorted(pages)
    assert f"/sections/{published}/opening/" in pages
    if role == "bidder":
        assert f"/sections/{published}/bid/" in pages and "/keys/" in pages
    problems = {url: page.problems for url, page in pages.items() if page.problems}
    assert not problems


@override_settings(ALLOWED_HOSTS=["jiaoyi.example.gov.cn"])
def test_the_policy_allows_only_our_own_scripts_and_webassembly(rf):
    request = rf.get("/", HTTP_HOST="jiaoyi.example.gov.cn")
    policy = dict(part.split(" ", 1) for part in csp_header(request).split("; "))

    assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert "'unsafe-inline'" not in csp_header(request) and "'unsafe-eval'" not in csp_header(request)
    assert policy["connect-src"] == "'self' ws://jiaoyi.example.gov.cn"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"


def test_an_inline_script_or_handler_is_caught_by_the_audit():
    page = PageAudit()
    page.feed('<script type="application/json" id="c">{"a": 1}</script><script src="/static/x.js"></script>'
              '<script>alert(1)</script><button onclick="go()">x</button><p style="color:red">y</p><style>p{}</style>')

    assert len(page.problems) == 4


def test_a_request_with_a_bad_host_still_gets_the_policy(client):
    response = client.get("/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    assert response["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")
