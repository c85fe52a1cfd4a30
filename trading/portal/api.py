"""OCDS open data API (DESIGN.md §11, fixed): ``GET /api/v1/ocds/sections/<id>/release-package`` and the bulk
``GET /api/v1/ocds/release-packages?from=&to=``. Public, read-only, built by ``trading.portal.ocds``."""

from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.api.errors import bad_request, error_response
from trading.portal import ocds
from trading.selectors import section_get_visible

MAX_RANGE_DAYS = 366


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


class SectionReleasePackageView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict}, summary="OCDS release package of one section")
    def get(self, request, section_id: str):
        section = section_get_visible(user=request.user, public_id=section_id)
        releases = ocds.section_releases(section, base_url=_base_url(request))
        if not releases:
            return error_response(code="not_found", message=_("No such section."), http_status=404)
        return Response(ocds.release_package(releases, uri=request.build_absolute_uri()))


def _moment(raw: str, *, end: bool) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        # A bare date first: Python 3.11's fromisoformat (inside parse_datetime) would read "2026-12-02" as
        # that day's midnight, and "to" would then leave out the day it names.
        day = parse_date(raw) if len(raw) == 10 else None
        moment = None if day else parse_datetime(raw)
    except ValueError:
        return None
    if moment is None and day is None:
        return None
    if moment is None:  # a whole day, in Beijing time; "to" includes the day
        moment = datetime.combine(day, time.max if end else time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, ocds.SHANGHAI)
    return moment


class BulkReleasePackageView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("from", str, description="YYYY-MM-DD or RFC 3339", required=True),
                               OpenApiParameter("to", str, description="YYYY-MM-DD or RFC 3339", required=True)],
                   responses={200: dict}, summary="OCDS releases published in a date range")
    def get(self, request):
        start = _moment(request.query_params.get("from", ""), end=False)
        end = _moment(request.query_params.get("to", ""), end=True)
        if start is None:
            return bad_request(_("Give 'from' as a date (YYYY-MM-DD) or an RFC 3339 time."), field="from")
        if end is None:
            return bad_request(_("Give 'to' as a date (YYYY-MM-DD) or an RFC 3339 time."), field="to")
        if end < start:
            return bad_request(_("'to' must not be before 'from'."), field="to")
        if end - start > timedelta(days=MAX_RANGE_DAYS):
            return bad_request(_("Ask for at most %(days)d days at a time.") % {"days": MAX_RANGE_DAYS}, field="to")
        releases = ocds.releases_between(start=start, end=end, base_url=_base_url(request))
        if not releases:
            return error_response(code="no_releases", http_status=404,
                                  message=_("No release was published in this period."))
        return Response(ocds.release_package(releases, uri=request.build_absolute_uri()))
