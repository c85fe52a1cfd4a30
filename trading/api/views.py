"""The trading API (DESIGN.md §11): thin views that authenticate, call one service, and answer."""

from django.contrib.auth import authenticate
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from trading import selectors
from trading.api import serializers as s
from trading.api.errors import error_response
from trading.files import open_stored
from trading.lockout import (
    lockout_message,
    login_failure_record,
    login_locked_until,
    retry_after_seconds,
)
from trading.models import ApiToken, DocumentObjection, Project, User
from trading.services import (
    api_tokens,
    clarifications,
    lifecycle,
    organizations,
    projects,
    registrations,
    two_factor,
)
from trading.services.errors import NotFound, PermissionDenied


def parsed(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class LoginThrottle(AnonRateThrottle):
    rate = "30/min"


def locked_out_response(until) -> Response:
    """429 with Retry-After, in the user's language, while the account or the client IP is locked."""
    response = error_response(code="locked_out", message=lockout_message(until), http_status=429)
    response["Retry-After"] = str(retry_after_seconds(until))
    return response


class TokenView(APIView):
    """Token login. Failures count per account and per IP (trading/lockout.py); the answer stays {"token"}."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    @extend_schema(request=s.TokenRequest, responses={200: dict})
    def post(self, request):
        data = parsed(s.TokenRequest, request)
        if until := login_locked_until(request, data["username"]):
            return locked_out_response(until)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            if until := login_locked_until(request, data["username"]):
                return locked_out_response(until)
            return error_response(code="bad_credentials", message=_("Wrong user name or password."),
                                  http_status=400)
        if user.totp_enabled:
            otp = data.get("otp", "")
            if not otp or not two_factor.second_factor_verify(user=user, code=otp):
                if otp:
                    login_failure_record(request, user.username)
                return error_response(code="otp_required", field="otp", http_status=400,
                                      message=_("Enter the 6-digit code from your authenticator app."))
        elif two_factor.staff_2fa_required(user):
            return error_response(code="2fa_setup_required", http_status=403,
                                  message=_("Set up two-factor login on the account security page first."))
        return Response({"token": api_tokens.api_token_issue(user=user)})


class LogoutView(APIView):
    """Revoke the bearer token this request presents."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            api_tokens.api_token_revoke(user=request.user, token_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=s.MeOut)
    def get(self, request):
        return Response(s.MeOut(request.user).data)


class BidderSignupView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=s.BidderSignup, responses={201: s.MeOut})
    def post(self, request):
        data = dict(parsed(s.BidderSignup, request))
        user = organizations.bidder_signup(**data)
        return Response(s.MeOut(user).data, status=status.HTTP_201_CREATED)


class SectionListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.SectionOut(many=True))
    def get(self, request):
        qs = selectors.sections_public(q=request.query_params.get("q", ""),
                                       category=request.query_params.get("category", ""),
                                       status=request.query_params.get("status", ""),
                                       region=request.query_params.get("region", ""))
        return Response(s.SectionOut(qs[:500], many=True).data)


class SectionDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.SectionOut)
    def get(self, request, section_id):
        return Response(s.SectionOut(selectors.section_get_visible(user=request.user, public_id=section_id)).data)

    @extend_schema(request=s.SectionIn, responses=s.SectionOut)
    def patch(self, request, section_id):
        if not request.user.is_authenticated:
            raise PermissionDenied(_("Log in first."))
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        section = projects.section_update(user=request.user, section_id=section.pk, **parsed(s.SectionIn, request))
        return Response(s.SectionOut(section).data)


class ProjectListView(APIView):
    @extend_schema(responses=s.ProjectOut(many=True))
    def get(self, request):
        if not request.user.has_role(User.Role.AGENCY):
            raise PermissionDenied(_("Only an agency can do this."))
        return Response(s.ProjectOut(selectors.projects_of_agency(user=request.user), many=True).data)

    @extend_schema(request=s.ProjectIn, responses={201: s.ProjectOut})
    def post(self, request):
        if not request.user.has_role(User.Role.AGENCY):
            raise PermissionDenied(_("Only an agency can do this."))
        project = projects.project_register(user=request.user, **parsed(s.ProjectIn, request))
        return Response(s.ProjectOut(project).data, status=status.HTTP_201_CREATED)


def project_for(request, public_id: str) -> Project:
    project = Project.objects.filter(public_id=public_id).first()
    if project is None or not request.user.has_role(User.Role.AGENCY) \
            or project.agency_id != request.user.organization_id:
        raise NotFound(_("No such project."))
    return project


class ProjectDetailView(APIView):
    @extend_schema(responses=s.ProjectOut)
    def get(self, request, project_id):
        return Response(s.ProjectOut(project_for(request, project_id)).data)


class ProjectSectionsView(APIView):
    @extend_schema(request=s.SectionIn, responses={201: s.SectionOut})
    def post(self, request, project_id):
        project = project_for(request, project_id)
        section = projects.section_create(user=request.user, project=project, **parsed(s.SectionIn, request))
        return Response(s.SectionOut(section).data, status=status.HTTP_201_CREATED)


class SectionPublishView(APIView):
    @extend_schema(request=None, responses=s.SectionOut)
    def post(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        section = lifecycle.section_publish(user=request.user, section_id=section.pk)
        return Response(s.SectionOut(section).data)


class SectionCancelView(APIView):
    @extend_schema(request=s.ReasonIn, responses=s.SectionOut)
    def post(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        lifecycle.require_canceller(request.user, section)
        section = lifecycle.section_cancel(user=request.user, section_id=section.pk,
                                           reason=parsed(s.ReasonIn, request)["reason"])
        return Response(s.SectionOut(section).data)


class RegistrationView(APIView):
    @extend_schema(request=None, responses={201: dict})
    def post(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        registration = registrations.registration_create(user=request.user, section_id=section.pk)
        return Response({"section": section.public_id, "registered_at": registration.registered_at},
                        status=status.HTTP_201_CREATED)


class DocumentListView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=s.DocumentOut(many=True))
    def get(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        if not selectors.can_download_documents(user=request.user, section=section, now=timezone.now()):
            raise PermissionDenied(_("Sign up for this section to download its documents."))
        return Response(s.DocumentOut(section.documents.all(), many=True).data)

    @extend_schema(request={"multipart/form-data": {"type": "object",
                                                    "properties": {"file": {"type": "string",
                                                                            "format": "binary"}}}},
                   responses={201: s.DocumentOut})
    def post(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        projects.require_section_agency(request.user, section)
        upload = request.FILES.get("file")
        if upload is None:
            return error_response(code="required", field="file", http_status=400,
                                  message=_("Choose a file to upload."))
        doc = projects.document_add(user=request.user, section_id=section.pk, name=upload.name,
                                    chunks=upload.chunks(), kind=request.data.get("kind", "tender"))
        return Response(s.DocumentOut(doc).data, status=status.HTTP_201_CREATED)


class DocumentDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, section_id, document_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        if not selectors.can_download_documents(user=request.user, section=section, now=timezone.now()):
            raise PermissionDenied(_("Sign up for this section to download its documents."))
        doc = get_object_or_404(section.documents, public_id=document_id)
        return FileResponse(open_stored(doc.storage_path), as_attachment=True, filename=doc.name)


class QuestionsView(APIView):
    @extend_schema(responses=s.QuestionOut(many=True))
    def get(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        return Response(s.QuestionOut(selectors.questions_visible_to(user=request.user, section=section),
                                      many=True).data)

    @extend_schema(request=s.TextIn, responses={201: s.QuestionOut})
    def post(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        registrations.require_registered(user=request.user, section=section)
        question = clarifications.question_ask(user=request.user, section_id=section.pk,
                                               text=parsed(s.TextIn, request)["text"])
        return Response(s.QuestionOut(question).data, status=status.HTTP_201_CREATED)


class ClarificationsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.ClarificationOut(many=True))
    def get(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        return Response(s.ClarificationOut(selectors.clarifications_public(section=section), many=True).data)

    @extend_schema(request=s.ClarificationIn, responses={201: s.ClarificationOut})
    def post(self, request, section_id):
        if not request.user.is_authenticated:
            raise PermissionDenied(_("Log in first."))
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        projects.require_section_agency(request.user, section)
        data = parsed(s.ClarificationIn, request)
        clarification = clarifications.clarification_publish(
            user=request.user, section_id=section.pk, text=data["text"],
            affects_preparation=data["affects_preparation"], answers=data.get("answers"))
        return Response(s.ClarificationOut(clarification).data, status=status.HTTP_201_CREATED)


class ObjectionsView(APIView):
    @extend_schema(responses=s.ObjectionOut(many=True))
    def get(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        return Response(s.ObjectionOut(selectors.objections_visible_to(user=request.user, section=section),
                                       many=True).data)

    @extend_schema(request=s.TextIn, responses={201: s.ObjectionOut})
    def post(self, request, section_id):
        section = selectors.section_get_visible(user=request.user, public_id=section_id)
        registrations.require_registered(user=request.user, section=section)
        objection = clarifications.objection_submit(user=request.user, section_id=section.pk,
                                                    text=parsed(s.TextIn, request)["text"])
        return Response(s.ObjectionOut(objection).data, status=status.HTTP_201_CREATED)


class ObjectionAnswerView(APIView):
    @extend_schema(request=s.AnswerIn, responses=s.ObjectionOut)
    def post(self, request, objection_id):
        objection = DocumentObjection.objects.select_related("section__project").filter(public_id=objection_id).first()
        if objection is None or not clarifications.objection_visible_to(request.user, objection):
            raise NotFound(_("No such objection."))
        clarifications.require_answerable(request.user, objection)
        objection = clarifications.objection_answer(user=request.user, objection_id=objection.pk,
                                                    answer=parsed(s.AnswerIn, request)["answer"])
        return Response(s.ObjectionOut(objection).data)


class NotificationsView(APIView):
    @extend_schema(responses=s.NotificationOut(many=True))
    def get(self, request):
        return Response(s.NotificationOut(selectors.notifications_of(user=request.user)[:200], many=True).data)
