"""Deposit API (DESIGN.md §9): the bidder's own deposit, the bank's notifications, and staff reads."""

import csv
import io
from datetime import date

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.api.views import parsed
from trading.deposits import selectors as sel
from trading.deposits.bank.webhook import MAX_BODY_BYTES, TooLarge
from trading.deposits.models import DepositForfeiture
from trading.deposits.services import deposits
from trading.selectors import section_get_visible
from trading.services.errors import DomainError, NotFound


class DepositOut(serializers.Serializer):
    virtual_account = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["unpaid", "partial", "paid", "refunding", "refunded", "forfeited"])
    paid_amount = serializers.CharField()
    due = serializers.DateTimeField()


class NotificationIn(serializers.Serializer):
    txn_id = serializers.CharField()
    virtual_account = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    payer_account = serializers.CharField()
    payer_name = serializers.CharField()
    paid_at = serializers.DateTimeField()


class NoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SectionDepositView(APIView):
    """GET /api/v1/sections/<id>/deposit: only the bidder itself."""

    @extend_schema(responses=DepositOut)
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        return Response(sel.deposit_view(sel.deposit_of_bidder(user=request.user, section=section)))


class BankNotificationView(APIView):
    """POST /api/v1/bank/notifications: authenticated by the bank's HMAC signature, not by a user."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=NotificationIn, responses={200: dict})
    def post(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise TooLarge(_("The notification is larger than 16 KiB."), code="too_large")
        body = request._request.read(MAX_BODY_BYTES + 1)  # never buffer more than the limit
        txn, created = deposits.bank_notification_receive(
            body=body, timestamp=request.headers.get("X-Bank-Timestamp"),
            signature=request.headers.get("X-Bank-Signature"), now=timezone.now())
        return Response({"txn_id": txn.txn_id, "outcome": txn.outcome, "duplicate": not created})


class SectionDepositsView(APIView):
    """GET /api/v1/sections/<id>/deposits: the agency after the opening (R14), supervisors and admins."""

    @extend_schema(responses={200: dict})
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        rows = sel.section_deposits(user=request.user, section=section)
        return Response({"section": section.public_id, "deposits": sel.section_deposits_json(rows)})


class ForfeituresView(APIView):
    @extend_schema(parameters=[OpenApiParameter("status", str)], responses={200: dict})
    def get(self, request):
        qs = sel.forfeitures_visible_to(user=request.user, status=request.query_params.get("status", ""))
        return Response([{"id": f.public_id, "section": f.account.section.public_id,
                          "organization": f.account.organization.name, "reason": f.reason, "status": f.status,
                          "detail": f.detail, "proposed_at": f.proposed_at,
                          "amount": f"{deposits.held_balance(f.account):.2f}"} for f in qs[:500]])


class ForfeitureDecisionView(APIView):
    decision = "confirm"

    @extend_schema(request=NoteIn, responses={200: dict})
    def post(self, request, forfeiture_id):
        if not DepositForfeiture.objects.filter(public_id=forfeiture_id).exists():
            raise NotFound(_("No such forfeiture."))
        note = parsed(NoteIn, request)["note"]
        service = deposits.deposit_forfeit_confirm if self.decision == "confirm" else deposits.deposit_forfeit_reject
        forfeiture = service(user=request.user, forfeiture_id=forfeiture_id, note=note)
        return Response({"id": forfeiture.public_id, "status": forfeiture.status})


class AlertsView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        qs = sel.alerts_visible_to(user=request.user)
        return Response([{"id": a.public_id, "kind": a.kind, "message": a.message, "data": a.data,
                          "section": a.section.public_id if a.section else None, "raised_at": a.raised_at}
                         for a in qs[:500]])


def _day(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError(_("Give the day as YYYY-MM-DD."), field=field) from None


def report_csv(rows: list[dict]) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(sel.REPORT_COLUMNS)
    for r in rows:
        writer.writerow([r["day"].isoformat(), r["section"]] + [f"{r[c]:.2f}" for c in sel.REPORT_COLUMNS[2:]])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="deposit-reconciliation.csv"'
    return response


def report_rows(request, params) -> list[dict]:
    section = None
    if params.get("section"):
        section = section_get_visible(user=request.user, public_id=params["section"])
    return sel.reconciliation(user=request.user, section=section, day_from=_day(params.get("from"), "from"),
                              day_to=_day(params.get("to"), "to"))


class ReconciliationView(APIView):
    """GET /api/v1/deposits/reconciliation[.csv]?section=&from=&to=: finance staff and supervisors."""

    as_csv = False

    @extend_schema(parameters=[OpenApiParameter("section", str), OpenApiParameter("from", str),
                               OpenApiParameter("to", str)], responses={200: dict})
    def get(self, request):
        rows = report_rows(request, request.query_params)
        if self.as_csv:
            return report_csv(rows)
        columns = sel.REPORT_COLUMNS[2:]
        return Response({"rows": [{"day": r["day"].isoformat(), "section": r["section"],
                                   **{c: f"{r[c]:.2f}" for c in columns}} for r in rows],
                         "totals": {c: f"{v:.2f}" for c, v in sel.reconciliation_totals(rows).items()}})
