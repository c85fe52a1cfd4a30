"""The experts API (DESIGN.md §11): thin views that authenticate, call one service or selector, and answer."""

from decimal import Decimal, InvalidOperation

from django.http import FileResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from experts import selectors
from experts.actions import EvaluationAction, evaluation_act
from experts.models import Evaluation, Expert, Publicity
from experts.services import accounts, confirmations, draws, evaluation, pool
from experts.services import award as award_services
from experts.services.access import (
    is_section_agency,
    is_supervisor,
    require_section_agency,
    require_supervisor,
)
from experts.services.errors import ExpertError
from trading.files import open_stored
from trading.selectors import section_get_visible
from trading.services.errors import NotFound, PermissionDenied


def _when(request, name: str, *, required: bool = True):
    raw = request.data.get(name)
    value = parse_datetime(raw) if isinstance(raw, str) else None
    if value is None and (required or raw):
        raise ExpertError(_("Give a date and time with its time zone (ISO 8601)."), field=name)
    return value


def expert_json(expert: Expert, *, sealed: bool = False) -> dict:
    """An expert of the pool; a sealed one (R25) shows its code, specialties and status, never who it is."""
    if sealed:
        return {"code": expert.code, "sealed": True, "name": None, "specialties": expert.specialties,
                "region": None, "employer": None, "title": None, "years_experience": None, "relationships": None,
                "status": expert.status, "user": None, "unavailable": []}
    return {"code": expert.code, "name": expert.name, "specialties": expert.specialties, "region": expert.region,
            "employer": {"name": expert.employer_name, "credit_code": expert.employer_credit_code},
            "title": expert.title, "years_experience": expert.years_experience,
            "relationships": expert.relationships, "status": expert.status, "phone": expert.phone,
            "email": expert.email,
            "account_invited_at": expert.account_invited_at.isoformat() if expert.account_invited_at else None,
            "user": expert.user.username if expert.user_id else None,
            "unavailable": [{"starts_at": u.starts_at.isoformat(), "ends_at": u.ends_at.isoformat(),
                             "reason": u.reason} for u in expert.unavailable.all()]}


class ExpertListView(APIView):
    @extend_schema(responses=dict, operation_id="experts_list")
    def get(self, request):
        require_supervisor(request.user)
        qs = selectors.experts_for_supervisor(user=request.user, q=request.GET.get("q", ""),
                                              specialty=request.GET.get("specialty", ""),
                                              status=request.GET.get("status", ""))
        sealed = selectors.sealed_codes_for(user=request.user)
        return Response([expert_json(e, sealed=e.code in sealed)
                         for e in qs.prefetch_related("unavailable").select_related("user")[:1000]])

    @extend_schema(request=dict, responses={201: dict})
    def post(self, request):
        fields = {k: request.data.get(k, "") for k in pool.CSV_COLUMNS}
        expert = pool.expert_save(actor=request.user, **fields)
        return Response(expert_json(expert), status=status.HTTP_201_CREATED)


class ExpertDetailView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, code):
        return Response(expert_json(selectors.expert_lookup(user=request.user, code=code)))


class ExpertStatusView(APIView):
    @extend_schema(request=dict, responses=dict)
    def post(self, request, code):
        expert = pool.expert_set_status(actor=request.user, code=code, status=request.data.get("status", ""),
                                        reason=request.data.get("reason", ""))
        return Response(expert_json(expert, sealed=expert.code in selectors.sealed_codes_for(user=request.user)))


class ExpertUnavailableView(APIView):
    @extend_schema(request=dict, responses={201: dict})
    def post(self, request, code):
        pool.require_unavailability_actor(actor=request.user, code=code)
        pool.expert_unavailable_add(actor=request.user, code=code, starts_at=_when(request, "starts_at"),
                                    ends_at=_when(request, "ends_at"), reason=request.data.get("reason", ""))
        expert = pool.expert_get(code)
        sealed = expert.code in selectors.sealed_codes_for(user=request.user)
        return Response(expert_json(expert, sealed=sealed), status=status.HTTP_201_CREATED)


class ExpertImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}}, responses=dict)
    def post(self, request):
        require_supervisor(request.user)
        upload = request.FILES.get("file")
        if upload is None or upload.size > 5 * 1024 * 1024:
            raise ExpertError(_("Upload a CSV file of at most 5 MB."), field="file")
        report = pool.experts_import_csv(actor=request.user, data=upload.read())
        body = {"created": report.created, "updated": report.updated, "errors": report.errors}
        return Response(body, status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


class DrawListView(APIView):
    @extend_schema(responses=dict, operation_id="draws_list")
    def get(self, request):
        require_supervisor(request.user)
        qs = selectors.draws_visible_to(user=request.user, status=request.GET.get("status", ""))
        return Response([selectors.draw_summary(d, user=request.user) for d in qs.prefetch_related("picks")])


class DrawDetailView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, draw_id):
        draw = draws.draw_for(user=request.user, draw_id=draw_id)
        return Response(selectors.draw_summary(draw, user=request.user))


class DrawAuditView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, draw_id):
        require_supervisor(request.user)
        return Response(draws.draw_audit_of(draws.draw_for(user=request.user, draw_id=draw_id)))


class DrawReplayView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, draw_id):
        require_supervisor(request.user)
        result = draws.draw_replay_of(draws.draw_for(user=request.user, draw_id=draw_id))
        return Response({"ok": result.ok, "mismatches": [str(m) for m in result.mismatches]})


class DrawEntropyView(APIView):
    @extend_schema(request=dict, responses=dict)
    def post(self, request, draw_id):
        draw = draws.draw_add_entropy(user=request.user, draw_id=draw_id, entropy=request.data.get("entropy"))
        return Response(selectors.draw_summary(draw, user=request.user))


class ExpertInviteView(APIView):
    """Send the expert its one-time account activation link (supervisors and platform staff)."""

    @extend_schema(request=None, responses={201: dict})
    def post(self, request, code):
        expert = accounts.expert_account_invite(
            user=request.user, code=code,
            activation_url=lambda token: request.build_absolute_uri(reverse("expert_activate", args=[token])))
        return Response({"code": expert.code, "account_invited_at": expert.account_invited_at.isoformat()},
                        status=status.HTTP_201_CREATED)


class PickPhoneAnswerView(APIView):
    """电话确认: platform staff record what a drawn expert answered on the telephone."""

    @extend_schema(request=dict, responses=dict)
    def post(self, request, pick_id, answer):
        if answer not in ("confirm", "decline"):
            raise NotFound(_("Not found."))
        if not confirmations.can_record_phone(request.user):  # refused before the body is read
            raise PermissionDenied(_("Only platform staff record a telephone answer."))
        pick = confirmations.pick_phone_answer(user=request.user, pick_id=pick_id, confirmed=answer == "confirm",
                                               reason=str(request.data.get("reason", "")))
        return Response({"id": pick.public_id, "seat": pick.seat, "status": pick.status,
                         "status_label": str(pick.get_status_display())})


class SectionDrawsView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        if not (is_supervisor(request.user) or is_section_agency(request.user, section)):
            raise PermissionDenied(_("Only supervisors and the section's agency see its draws."))
        qs = selectors.section_draws_for(user=request.user, section=section)
        return Response([selectors.draw_summary(d, user=request.user) for d in qs])

    @extend_schema(request=dict, responses={201: dict})
    def post(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        require_section_agency(request.user, section)
        draw = draws.draw_request(
            user=request.user, section_id=section.pk, groups=request.data.get("groups"),
            owner_representatives=request.data.get("owner_representatives", 0),
            evaluation_starts_at=_when(request, "evaluation_starts_at"),
            evaluation_ends_at=_when(request, "evaluation_ends_at"),
            place=request.data.get("place", ""), remote=bool(request.data.get("remote", True)))
        return Response(selectors.draw_summary(draw, user=request.user), status=status.HTTP_201_CREATED)


def invitation_json(pick) -> dict:
    draw = pick.draw
    return {"id": pick.public_id, "status": pick.status, "specialty": pick.specialty, "seat": pick.seat,
            "section": draw.section.public_id, "section_title": str(draw.section),
            "evaluation_starts_at": draw.evaluation_starts_at.isoformat(),
            "evaluation_ends_at": draw.evaluation_ends_at.isoformat(), "remote": draw.remote, "place": draw.place}


class InvitationsView(APIView):
    @extend_schema(responses=dict)
    def get(self, request):
        return Response([invitation_json(p) for p in selectors.invitations_of(user=request.user)])


class InvitationAnswerView(APIView):
    @extend_schema(request=dict, responses=dict)
    def post(self, request, pick_id, answer):
        if answer == "confirm":
            pick = draws.pick_confirm(user=request.user, pick_id=pick_id)
        elif answer == "decline":
            pick = draws.pick_decline(user=request.user, pick_id=pick_id, reason=request.data.get("reason", ""))
        else:
            raise NotFound(_("Not found."))
        return Response(invitation_json(pick))


class EvaluationView(APIView):
    @extend_schema(responses=dict)
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        return Response(selectors.evaluation_state_for(user=request.user, section=section))


def _action_arguments(action: EvaluationAction, data) -> dict:
    arguments = {"conflict": bool(data.get("conflict")), "text": data.get("text", ""),
                 "bid_id": str(data.get("bid", "")), "reason": data.get("reason", ""),
                 "passes": data.get("passes", True) not in (False, "false", "0", 0),
                 "agree": data.get("agree", True) not in (False, "false", "0"),
                 "price_settings": data.get("price_settings")}
    if action == EvaluationAction.LEADER_VOTE:
        try:
            arguments["seat"] = int(data.get("seat"))
        except (TypeError, ValueError):
            raise ExpertError(_("Give the seat number."), field="seat") from None
    if action == EvaluationAction.SCORES:
        arguments["scores"] = data.get("scores") or {}
        if not isinstance(arguments["scores"], dict):
            raise ExpertError(_("scores maps criterion numbers to scores."), field="scores")
    return arguments


class EvaluationActionView(APIView):
    """POST sections/<id>/evaluation/<action>, one of EvaluationAction."""

    @extend_schema(request=dict, responses=dict)
    def post(self, request, section_id, action):
        section = section_get_visible(user=request.user, public_id=section_id)
        action = EvaluationAction.parse(action)
        evaluation_act(user=request.user, section_id=section.pk, action=action,
                       **_action_arguments(action, request.data))
        if action == EvaluationAction.START:
            return Response({"status": "evaluating"}, status=status.HTTP_201_CREATED)
        return Response(selectors.evaluation_state_for(user=request.user, section=section))


class ReportPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        record = Evaluation.objects.filter(section=section, status=Evaluation.Status.REPORTED).first()
        if not selectors.report_readable_by(user=request.user, section=section):
            raise PermissionDenied(_("Only the committee, the agency and supervisors read the report."))
        if record is None:
            raise NotFound(_("The report is not final."))
        return FileResponse(open_stored(record.report_path), content_type="application/pdf",
                            filename=f"evaluation-report-{section.public_id}.pdf")


class BidDocumentsView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, section_id, bid_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        document = evaluation.document_for(user=request.user, section=section, bid_id=bid_id)
        return FileResponse(open_stored(document.storage_path), as_attachment=True,
                            filename=f"bid-{bid_id}.zip", content_type="application/octet-stream")


def publicity_json(publicity: Publicity) -> dict:
    return {"starts_at": publicity.starts_at.isoformat(), "ends_at": publicity.ends_at.isoformat(),
            "candidates": [{k: c[k] for k in ("rank", "bidder", "price", "total")} for c in publicity.candidates],
            "objections": [{"id": o.public_id, "text": o.text, "submitted_at": o.submitted_at.isoformat(),
                            "answer_due": o.answer_due.isoformat(), "answer": o.answer,
                            "answered_at": o.answered_at.isoformat() if o.answered_at else None}
                           for o in publicity.objections.all()]}


class PublicityView(APIView):
    permission_classes: list = []

    @extend_schema(responses=dict)
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        publicity = Publicity.objects.filter(section=section).first()
        if publicity is None:
            raise NotFound(_("The candidates are not public."))
        return Response(publicity_json(publicity))

    @extend_schema(request=dict, responses={201: dict})
    def post(self, request, section_id):
        if not request.user.is_authenticated:
            raise PermissionDenied(_("Log in first."))
        section = section_get_visible(user=request.user, public_id=section_id)
        require_section_agency(request.user, section)
        publicity = award_services.publicity_publish(user=request.user, section_id=section.pk,
                                                     ends_at=_when(request, "ends_at"))
        return Response(publicity_json(publicity), status=status.HTTP_201_CREATED)


class PublicityObjectionView(APIView):
    @extend_schema(request=dict, responses={201: dict})
    def post(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        objection = award_services.publicity_objection_raise(user=request.user, section_id=section.pk,
                                                             text=request.data.get("text", ""))
        return Response({"id": objection.public_id, "answer_due": objection.answer_due.isoformat()},
                        status=status.HTTP_201_CREATED)


class PublicityAnswerView(APIView):
    @extend_schema(request=dict, responses=dict)
    def post(self, request, objection_id):
        objection = award_services.publicity_objection_answer(user=request.user, objection_id=objection_id,
                                                              answer=request.data.get("answer", ""))
        return Response({"id": objection.public_id, "answered_at": objection.answered_at.isoformat()})


class AwardView(APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=dict, responses={201: dict})
    def post(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        award = award_services.award_make(user=request.user, section_id=section.pk,
                                          bid_id=request.data.get("bid") or None)
        return Response({"winner": award.bid.organization.name, "bid": award.bid.public_id, "rank": award.rank,
                         "awarded_at": award.awarded_at.isoformat(), "notice_sha256": award.notice_sha256,
                         "result_notices": award.result_notices.count()}, status=status.HTTP_201_CREATED)


class ContractView(APIView):
    @extend_schema(request=dict, responses={201: dict})
    def post(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        require_section_agency(request.user, section)
        amount = request.data.get("amount")
        try:
            amount = Decimal(str(amount)) if amount not in (None, "") else None
        except (InvalidOperation, ValueError):
            raise ExpertError(_("The amount must be a number."), field="amount") from None
        award = award_services.contract_record(user=request.user, section_id=section.pk,
                                               signed_at=_when(request, "signed_at"), amount=amount)
        return Response({"signed_at": award.contract_signed_at.isoformat()}, status=status.HTTP_201_CREATED)


class AwardNoticeView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, section_id):
        section = section_get_visible(user=request.user, public_id=section_id)
        award = getattr(section, "award", None) if hasattr(section, "award") else None
        if award is None:
            raise NotFound(_("The section is not awarded."))
        user = request.user
        if is_supervisor(user) or is_section_agency(user, section) or user.organization_id == award.bid.organization_id:
            path = award.notice_path
        else:
            notice = award.result_notices.filter(bid__organization=user.organization_id).first() \
                if user.organization_id else None
            if notice is None:
                raise PermissionDenied(_("Only the agency, supervisors and the section's bidders read the notices."))
            path = notice.path
        return FileResponse(open_stored(path), content_type="application/pdf",
                            filename=f"notice-{section.public_id}.pdf")
