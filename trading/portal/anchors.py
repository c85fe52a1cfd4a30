"""Published ledger anchors (账本锚点公开), in the manner of Certificate Transparency.

Every RFC 3161 anchor of the audit ledger is listed publicly, by seq, on ``/portal/ledger/anchors/`` and at
``GET /api/v1/ledger/anchors?after=<seq>&limit=<n>``. Anyone can save the list and check with
``python -m timestamps.verify anchors`` that each token is good and that each anchor extends the one before.
"""

import base64

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from timestamps.models import LedgerAnchor
from timestamps.published import TSA_CERTS_PATH
from trading.api.errors import bad_request

PAGE_LIMIT = 100
MAX_LIMIT = 1000


def anchors_after(*, after: int, limit: int) -> list[LedgerAnchor]:
    return list(LedgerAnchor.objects.filter(seq__gt=after).order_by("seq")[:limit])


def anchor_json(anchor: LedgerAnchor) -> dict:
    return {"seq": anchor.seq, "head_hash": anchor.head_hash, "created_at": anchor.created_at.isoformat(),
            "token": base64.b64encode(bytes(anchor.token)).decode()}


def _int_param(raw: str | None, default: int) -> int | None:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


class LedgerAnchorsView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(parameters=[OpenApiParameter("after", int, description="list anchors after this seq"),
                               OpenApiParameter("limit", int, description=f"at most {MAX_LIMIT}")],
                   responses={200: dict}, summary="The published ledger anchors, by seq")
    def get(self, request):
        after = _int_param(request.query_params.get("after"), 0)
        limit = _int_param(request.query_params.get("limit"), PAGE_LIMIT)
        if after is None:
            return bad_request(_("Give 'after' as a whole number."), field="after")
        if not limit or limit > MAX_LIMIT:
            return bad_request(_("Give 'limit' between 1 and %(max)d.") % {"max": MAX_LIMIT}, field="limit")
        anchors = anchors_after(after=after, limit=limit + 1)
        more = len(anchors) > limit
        anchors = anchors[:limit]
        following = None
        if more:
            following = request.build_absolute_uri(f"{reverse('api-ledger-anchors')}?after={anchors[-1].seq}"
                                                   f"&limit={limit}")
        return Response({"anchors": [anchor_json(a) for a in anchors], "next": following,
                         "certificates": request.build_absolute_uri(TSA_CERTS_PATH)})


def portal_anchors(request):
    """The public list of ledger anchors, newest last, a page at a time."""
    after = _int_param(request.GET.get("after"), 0) or 0
    anchors = anchors_after(after=after, limit=PAGE_LIMIT + 1)
    more = len(anchors) > PAGE_LIMIT
    anchors = anchors[:PAGE_LIMIT]
    return render(request, "portal/anchors.html", {
        "anchors": anchors, "after": after, "next_after": anchors[-1].seq if more else None,
        "certs_path": TSA_CERTS_PATH})
