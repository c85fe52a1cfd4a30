"""Credit and supervision API: the public blacklist, records and appeals, collusion signals, deadline alerts
and service ratings. Thin views: authenticate, call one service or selector, answer."""

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.credit import selectors as credit_selectors
from trading.credit.models import CreditAppeal, CreditRecord
from trading.credit.services import blacklist
from trading.files import open_stored
from trading.models import Organization
from trading.selectors import section_get_visible
from trading.services.errors import NotFound
from trading.supervision.models import DeadlineAlert, ServiceRating
from trading.supervision.services import alerts as supervision
from trading.supervision.services import ratings


def record_out(record: CreditRecord, *, now) -> dict:
    return {
        "id": record.public_id, "party_kind": record.party_kind, "party": record.party_name,
        "party_identifier": record.party_identifier, "conduct": record.conduct, "basis": record.basis,
        "basis_label": record.get_basis_display(), "legal_basis": record.legal_basis, "measure": record.measure,
        "authority": record.authority, "decision_number": record.decision_number,
        "decision_date": record.decision_date.isoformat(), "starts_on": record.starts_on.isoformat(),
        "ends_on": record.ends_on.isoformat() if record.ends_on else None, "status": record.status,
        "in_force": record.in_force(blacklist.local_today(now)),
        "document": {"name": record.document_name, "sha256": record.document_sha256, "size": record.document_size,
                     "url": f"/api/v1/credit/records/{record.public_id}/document"},
    }


def appeal_out(appeal: CreditAppeal) -> dict:
    return {"id": appeal.public_id, "record": appeal.record.public_id, "text": appeal.text,
            "submitted_at": appeal.submitted_at.isoformat(), "status": appeal.status, "decision": appeal.decision,
            "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None}


class RecordIn(serializers.Serializer):
    party_kind = serializers.ChoiceField(choices=CreditRecord.PartyKind.choices)
    organization = serializers.CharField(max_length=24, required=False, allow_blank=True,
                                         help_text="the organization's credit code or public id")
    expert_code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    conduct = serializers.CharField(max_length=5000)
    basis = serializers.ChoiceField(choices=CreditRecord.Basis.choices)
    legal_basis = serializers.CharField(max_length=300)
    measure = serializers.ChoiceField(choices=CreditRecord.Measure.choices, default=CreditRecord.Measure.BAR)
    authority = serializers.CharField(max_length=200)
    decision_number = serializers.CharField(max_length=100)
    decision_date = serializers.DateField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    document = serializers.FileField()


def parsed(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class BlacklistView(APIView):
    """GET (public): the blacklist in force; ``?scope=all`` adds expired and revoked records. POST: supervisors."""

    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        now = timezone.now()
        records = blacklist.blacklist_public(q=request.query_params.get("q", "")[:100],
                                             party_kind=request.query_params.get("party_kind", ""),
                                             scope=request.query_params.get("scope", "active"), now=now)[:500]
        return Response([record_out(r, now=now) for r in records])

    @extend_schema(request={"multipart/form-data": RecordIn}, responses={201: dict})
    def post(self, request):
        supervision.require_supervisor(request.user)
        data = dict(parsed(RecordIn, request.data))
        code = data.pop("organization", "")
        organization = None
        if code:
            organization = Organization.objects.filter(credit_code=code).first() or \
                Organization.objects.filter(public_id=code).first()
            if organization is None:
                raise NotFound(_("No such organization."))
        document = data.pop("document")
        record = blacklist.credit_record_create(user=request.user, organization=organization,
                                                ends_on=data.pop("ends_on", None), document_name=document.name,
                                                document_chunks=document.chunks(), **data)
        return Response(record_out(record, now=timezone.now()), status=status.HTTP_201_CREATED)


class RecordView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, record_id: str):
        return Response(record_out(blacklist.record_public(public_id=record_id), now=timezone.now()))


class RecordDocumentView(APIView):
    """The decision document is public with the record (R30: penalty decisions are published)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, record_id: str):
        record = blacklist.record_public(public_id=record_id)
        return FileResponse(open_stored(record.document_path), as_attachment=True, filename=record.document_name)


class AppealIn(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class AppealDecisionIn(serializers.Serializer):
    upheld = serializers.BooleanField()
    decision = serializers.CharField(max_length=5000)


class RecordAppealsView(APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=AppealIn, responses={201: dict})
    def post(self, request, record_id: str):
        blacklist.require_party(user=request.user, record_id=record_id)
        data = parsed(AppealIn, request.data)
        appeal = blacklist.credit_appeal_submit(user=request.user, record_id=record_id, text=data["text"])
        return Response(appeal_out(appeal), status=status.HTTP_201_CREATED)


class AppealListView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response([appeal_out(a) for a in blacklist.appeals_visible_to(user=request.user)[:500]])


class AppealDecisionView(APIView):
    @extend_schema(request=AppealDecisionIn, responses={200: dict})
    def post(self, request, appeal_id: str):
        supervision.require_supervisor(request.user)
        data = parsed(AppealDecisionIn, request.data)
        appeal = blacklist.credit_appeal_decide(user=request.user, appeal_id=appeal_id, upheld=data["upheld"],
                                                decision=data["decision"])
        return Response(appeal_out(appeal))


class CollusionSignalsView(APIView):
    """R17/R32 evidence: ``sections/<id>/collusion-signals`` for one section (supervisors and its committee),
    ``deposits/collusion-signals`` for every section (supervisors only)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, section_id: str | None = None):
        section = section_get_visible(user=request.user, public_id=section_id) if section_id else None
        signals = credit_selectors.collusion_signals_visible_to(user=request.user, section=section)
        return Response([credit_selectors.signal_as_dict(s) for s in signals[:500]])


def alert_out(alert: DeadlineAlert) -> dict:
    return {"id": alert.public_id, "kind": alert.kind, "level": alert.level, "message": alert.message,
            "section": alert.section.public_id if alert.section else None, "due_at": alert.due_at.isoformat(),
            "raised_at": alert.raised_at.isoformat(),
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None}


class AlertListView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        supervision.require_supervisor(request.user)
        return Response([alert_out(a) for a in supervision.alerts_open()])


class AlertAcknowledgeView(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, alert_id: str):
        return Response(alert_out(supervision.alert_acknowledge(user=request.user, alert_id=alert_id)))


class RatingIn(serializers.Serializer):
    stage = serializers.CharField(max_length=16)
    score = serializers.IntegerField()
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


def rating_out(rating: ServiceRating) -> dict:
    follow_up = getattr(rating, "follow_up", None)
    return {"id": rating.public_id, "section": rating.section.public_id, "stage": rating.stage, "score": rating.score,
            "comment": rating.comment, "created_at": rating.created_at.isoformat(),
            "follow_up": {"id": follow_up.public_id, "status": follow_up.status, "due_at": follow_up.due_at.isoformat()}
            if follow_up else None}


class SectionRatingsView(APIView):
    @extend_schema(request=RatingIn, responses={201: dict})
    def post(self, request, section_id: str):
        section = section_get_visible(user=request.user, public_id=section_id)
        ratings.require_participant(request.user, section)
        data = parsed(RatingIn, request.data)
        rating = ratings.rating_submit(user=request.user, section=section, **data)
        return Response(rating_out(rating), status=status.HTTP_201_CREATED)


class RatingListView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        supervision.require_supervisor(request.user)
        qs = ServiceRating.objects.select_related("section", "follow_up")[:500]
        return Response([rating_out(r) for r in qs])


class FollowUpCloseIn(serializers.Serializer):
    resolution = serializers.CharField(max_length=5000)


class FollowUpCloseView(APIView):
    @extend_schema(request=FollowUpCloseIn, responses={200: dict})
    def post(self, request, follow_up_id: str):
        supervision.require_supervisor(request.user)
        data = parsed(FollowUpCloseIn, request.data)
        follow_up = ratings.follow_up_close(user=request.user, follow_up_id=follow_up_id,
                                            resolution=data["resolution"])
        return Response({"id": follow_up.public_id, "status": follow_up.status, "resolution": follow_up.resolution})

