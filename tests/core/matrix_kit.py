"""The access matrix's machinery (tests/core/test_access_matrix.py): walk the URLconf, fill a route, name an outcome."""

import re
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ("anonymous", "bidder_own", "bidder_other", "agency_own", "agency_other", "expert", "expert_other",
         "supervisor", "admin")
OUTCOMES = {
    "ok": "2xx, or a redirect that is not to a login page",
    "login": "401, or a redirect to a login page",
    "deny": "403",
    "hidden": "404: the object's existence is not told",
    "bad": "400 or 415: the role may act, and the empty body is refused",
    "method": "405: the method is not served (no row is written for that)",
    "conflict": "409: the role may act, but not in the object's present state",
}


def url_patterns() -> dict[str, str]:
    """Every URL pattern of the root URLconf: its name (namespaced) or, unnamed, its route, mapped to the route."""
    found: dict[str, str] = {}

    def walk(resolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                key = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or route
                assert key not in found, f"two URL patterns are named {key}"
                found[key] = route

    walk(get_resolver(), "", "")
    return found


def fill(route: str, values: dict[str, str]) -> str:
    """The path of ``route`` with each parameter (route or regex syntax) replaced by its value."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), path)
    return "/" + path.lstrip("^").rstrip("$")


def admin_object_values() -> dict[str, str]:
    from trading.models import User

    return {"object_id": str(User.objects.order_by("pk").first().pk),
            "content_type_id": str(ContentType.objects.get_for_model(User).pk), "url": "no-such-admin-page/", "app_label": "trading"}


def outcome_of(response) -> str:
    code = response.status_code
    if 300 <= code < 400:
        target = urlparse(response["Location"]).path
        return "login" if target in (reverse("login"), reverse("admin:login")) else "ok"
    if 200 <= code < 300:
        return "ok"
    named = {400: "bad", 401: "login", 403: "deny", 404: "hidden", 405: "method", 409: "conflict", 415: "bad"}
    return named.get(code, f"http{code}")


def request_as(client: Client, method: str, path: str, user=None):
    """One request, rolled back afterwards, so that a permitted POST changes nothing for the next cell.

    A logout (or a login) changes the session cookie: the role is logged in again for the next cell."""
    session = client.cookies.get(settings.SESSION_COOKIE_NAME)
    session = session.value if session else None
    with transaction.atomic():
        if method == "GET":
            response = client.get(path)
        elif method == "PUT":
            response = client.put(path, data=b"", content_type="application/octet-stream")
        else:
            response = client.post(path, data=b"", content_type="application/json")
        transaction.set_rollback(True)
    after = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if (after.value if after else None) != session:
        client.cookies.pop(settings.SESSION_COOKIE_NAME, None)
        if user is not None:
            client.force_login(user)
    return response


def body_of(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", "replace")
