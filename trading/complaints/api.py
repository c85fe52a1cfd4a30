"""Complaints API (read): the cases a user may see, and the published decisions. Thin views over the selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.complaints import selectors
from trading.complaints.models import Complaint


def _iso(moment):
    return moment.isoformat() if moment else None


def complaint_out(c: Complaint) -> dict:
    return {"id": c.public_id, "section": c.section.public_id, "complainant": c.complainant.name,
            "matter": c.matter, "status": c.status, "request": c.request, "received_at": _iso(c.received_at),
            "accept_due": _iso(c.accept_due), "decision_due": _iso(c.decision_due), "clock_stopped": c.pause or None,
            "reject_reason": c.reject_reason or None, "outcome": c.outcome or None, "decision": c.decision or None,
            "decided_at": _iso(c.decided_at)}


def decision_out(c: Complaint) -> dict:
    """The public form: the complainant is not named."""
    return {"id": c.public_id, "section": c.section.public_id, "project": c.section.project.name,
            "tenderer_agency": c.section.project.agency.name, "matter": c.matter, "outcome": c.outcome,
            "decision": c.decision, "decided_at": _iso(c.decided_at)}


class ComplaintListView(APIView):
    @extend_schema(operation_id="complaints_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response([complaint_out(c) for c in selectors.complaints_visible_to(user=request.user)[:200]])


class ComplaintView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, complaint_id: str):
        return Response(complaint_out(selectors.complaint_get_visible(user=request.user, public_id=complaint_id)))


class DecisionListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="complaints_decisions_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response([decision_out(c) for c in selectors.complaints_decided_public()[:200]])
