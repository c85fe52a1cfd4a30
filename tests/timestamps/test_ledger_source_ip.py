"""R33: every ledger entry made for a request carries the client's IP, read behind trusted proxies only."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, RequestFactory

from tests.factories import SectionFactory, add_document, supervisor_user
from timestamps.ledger import current_ip, ledger_append
from timestamps.models import LedgerEntry
from trading.clientip import client_ip, client_ip_from_scope, client_ip_resolve
from trading.middleware import ClientIPMiddleware

pytestmark = pytest.mark.django_db
LOOPBACK = ["127.0.0.1/32", "::1/128"]


@pytest.fixture
def behind_nginx(settings):
    settings.TRUSTED_PROXIES = LOOPBACK


def test_r33_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip_resolve(peer="127.0.0.1", forwarded_for="198.51.100.9") == "127.0.0.1"


def test_r33_behind_the_proxy_the_address_it_appended_is_the_client(behind_nginx):
    # nginx's $proxy_add_x_forwarded_for keeps what the client sent and appends the address it saw
    assert client_ip_resolve(peer="127.0.0.1", forwarded_for="10.0.0.1, 198.51.100.9") == "198.51.100.9"
    assert client_ip_resolve(peer="127.0.0.1", forwarded_for="") == "127.0.0.1"
    assert client_ip_resolve(peer="::ffff:127.0.0.1", forwarded_for="2001:db8::7") == "2001:db8::7"


def test_r33_a_forged_forwarded_for_from_an_untrusted_client_is_ignored(behind_nginx):
    assert client_ip_resolve(peer="203.0.113.5", forwarded_for="198.51.100.9") == "203.0.113.5"
    assert client_ip_resolve(peer="127.0.0.2", forwarded_for="127.0.0.1, 198.51.100.9") == "127.0.0.2"


def test_r33_only_the_trusted_hops_are_walked_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "10.1.0.0/16"]  # nginx, and a load balancer in front of it
    assert client_ip_resolve(peer="127.0.0.1", forwarded_for="192.0.2.66, 198.51.100.9, 10.1.2.3") == "198.51.100.9"
    # garbage written by a trusted proxy stops the walk at the last address we can vouch for
    assert client_ip_resolve(peer="127.0.0.1", forwarded_for="not-an-ip") == "127.0.0.1"
    assert client_ip_resolve(peer="", forwarded_for="198.51.100.9") == ""


def test_r33_client_ip_reads_requests_and_asgi_scopes(behind_nginx):
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")
    assert client_ip(request) == "198.51.100.9"
    forged = RequestFactory().get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert client_ip(forged) == "203.0.113.5"
    scope = {"client": ["127.0.0.1", 5000], "headers": [(b"x-forwarded-for", b"198.51.100.9")]}
    assert client_ip_from_scope(scope) == "198.51.100.9"
    assert client_ip_from_scope({**scope, "client": ["203.0.113.5", 5000]}) == "203.0.113.5"
    assert client_ip_from_scope({"headers": []}) == ""


def test_r33_the_middleware_sets_the_ip_for_the_request_and_clears_it_after(behind_nginx):
    seen = []

    def view(request):
        seen.append(ledger_append(action="test.request").ip)
        return "response"

    middleware = ClientIPMiddleware(view)
    middleware(RequestFactory().post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9"))
    middleware(RequestFactory().post("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.9"))
    assert seen == ["198.51.100.9", "203.0.113.5"]
    assert current_ip.get() == "" and ledger_append(action="test.sweep").ip == ""


def published_by_post(post) -> LedgerEntry:
    section = SectionFactory()
    add_document(section)
    agency = section.project.created_by
    response = post(agency, f"/agency/sections/{section.public_id}/publish/")
    assert response.status_code == 302
    return LedgerEntry.objects.get(action="section.published", object_id=section.public_id)


def test_r33_a_page_action_is_logged_with_the_client_ip(client, behind_nginx):
    def post(user, url):
        client.force_login(user)
        return client.post(url, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.77")

    assert published_by_post(post).ip == "198.51.100.77"


class AsyncClientFrom(AsyncClient):
    """The test client for the ASGI handler, connecting from the given address as daphne reports it."""

    def __init__(self, peer: str, **kwargs):
        super().__init__(**kwargs)
        self.peer = peer

    def _base_scope(self, **request):
        return {**super()._base_scope(**request), "client": [self.peer, 40000]}


def test_r33_an_action_through_the_asgi_handler_is_logged_with_the_client_ip(client, behind_nginx):
    def post(user, url):
        client.force_login(user)
        asgi = AsyncClientFrom(peer)
        asgi.cookies = client.cookies
        return async_to_sync(asgi.post)(url, headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.77"})

    peer = "127.0.0.1"  # through nginx: the address it appended
    assert published_by_post(post).ip == "198.51.100.77"
    peer = "203.0.113.61"  # a direct client: its X-Forwarded-For is ignored
    assert published_by_post(post).ip == "203.0.113.61"


def test_r33_the_ledger_page_shows_the_ip_and_background_entries_as_system(client):
    ledger_append(action="test.request", actor="agency1", ip="198.51.100.77")
    ledger_append(action="test.sweep")
    client.force_login(supervisor_user())
    html = client.get("/supervisor/ledger/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<td class="mono">198.51.100.77</td>' in html and '<td class="mono">system</td>' in html
