"""The bidder's pages: bidder keys (投标密钥) and the bid page (投标文件递交).

Everything cryptographic happens in the browser (static/js/bid-upload.js with sbe1.js and
keystore.js); these views only check access and hand the page what it needs. The private keys
never reach the server.

Texts go through gettext like the rest of the site: the templates use {% translate %}, and the
script gets its texts from Django's JavaScript catalogue (jsi18n/, djangojs domain). The Chinese
is in locale/zh_Hans/LC_MESSAGES/django.po and djangojs.po.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from bidding.models import BidderKey
from bidding.services.uploads import MAX_CHUNK
from trading import selectors
from trading.models import Section, User
from trading.services.errors import DomainError
from trading.services.registrations import require_registered

UPLOAD_CHUNK_SIZE = 4 * 1024 * 1024  # ≤ MAX_CHUNK (8 MiB): what the browser PUTs per request
SEAL_CHUNK_SIZE = 1024 * 1024  # plaintext bytes per SBE1 documents frame
assert UPLOAD_CHUNK_SIZE <= MAX_CHUNK


def _bidder_or_login(request):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.has_role(User.Role.BIDDER) or user.organization_id is None:
        raise PermissionDenied(gettext("This page is not available to your role."))
    return None


def _keys(organization) -> list[dict]:
    return [
        {
            "kid": k.kid,
            "use": k.use,
            "created_at": k.created_at,
            "active": k.retired_at is None,
            "retired_at": k.retired_at,
        }
        for k in BidderKey.objects.filter(organization=organization).order_by("-created_at", "use")
    ]


def bidder_keys(request):
    """投标密钥: generate or import the bidder's keys, and see which kids are registered."""
    denied = _bidder_or_login(request)
    if denied:
        return denied
    organization = request.user.organization
    keys = _keys(organization)
    config = {
        "organization": organization.credit_code,
        "api": {"keys": reverse("api-bidder-keys")},
        "registered": [{"kid": k["kid"], "use": k["use"], "active": k["active"]} for k in keys],
        "lang": translation.get_language(),
    }
    return render(
        request,
        "bidding/keys.html",
        {
            "organization": organization,
            "keys": keys,
            "config": config,
        },
    )


def _section_for_bidder(request, section_id: str) -> Section:
    section = selectors.section_get_visible(user=request.user, public_id=section_id)
    try:
        require_registered(user=request.user, section=section)
    except DomainError as exc:
        raise PermissionDenied(str(exc.message)) from None
    return section


def bid_page(request, section_id: str):
    """投标文件递交: seal in the browser, upload in chunks (断点续传), sign, get the receipt (R09)."""
    denied = _bidder_or_login(request)
    if denied:
        return denied
    section = _section_for_bidder(request, section_id)
    organization = request.user.organization
    now = timezone.now()
    active = {k["use"]: k["kid"] for k in _keys(organization) if k["active"]}
    fields = [
        {
            "key": str(f.get("key", "")),
            "label": str(f.get("label") or f.get("key", "")),
            "type": f.get("type") if f.get("type") in {"money", "integer", "text"} else "text",
        }
        for f in (section.opening_form_fields or [])
        if isinstance(f, dict) and f.get("key")
    ]
    if not any(f["key"] == "price" for f in fields):
        fields.insert(0, {"key": "price", "label": gettext("Bid price (CNY)"), "type": "money"})
    sid = section.public_id
    config = {
        "section": sid,
        "bidder": organization.credit_code,
        "deadline": section.bid_deadline.isoformat(),
        "server_now": now.isoformat(),  # the page's estimate of time left before the deadline (R06)
        "open": section.accepts_bids(now),
        "enc_kid": active.get(BidderKey.Use.ENCRYPTION, ""),
        "sign_kid": active.get(BidderKey.Use.SIGNING, ""),
        "fields": fields,
        "upload_chunk_size": UPLOAD_CHUNK_SIZE,
        "seal_chunk_size": SEAL_CHUNK_SIZE,
        "api": {
            "opening_key": reverse("api-opening-key", args=[sid]),
            "uploads": reverse("api-upload-create", args=[sid]),
            "mine": reverse("api-my-bids", args=[sid]),
            "upload": reverse("api-upload", args=["UPLOAD"]),
            "chunk": reverse("api-upload-chunk", args=["UPLOAD", 0]).rsplit("/", 1)[0] + "/",
            "submit": reverse("api-upload-submit", args=["UPLOAD"]),
            "bid": reverse("api-bid", args=["BID"]),
            "receipt_pdf": reverse("api-bid-receipt-pdf", args=["BID"]),
            "receipt_tsr": reverse("api-bid-receipt-tsr", args=["BID"]),
            "receipt_zip": reverse("api-bid-receipt-zip", args=["BID"]),
        },
        "lang": translation.get_language(),
    }
    return render(
        request,
        "bidding/bid.html",
        {
            "section": section,
            "project": section.project,
            "fields": fields,
            "accepts": config["open"],
            "has_server_keys": bool(config["enc_kid"] and config["sign_kid"]),
            "config": config,
        },
    )


urlpatterns = [
    path("sections/<str:section_id>/bid/", bid_page, name="bid_page"),
    path("keys/", bidder_keys, name="bidder_keys"),
]
