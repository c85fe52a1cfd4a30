"""API shapes. Input serializers only parse types; the services enforce the rules."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from trading.models import (
    Clarification,
    DocumentObjection,
    Notification,
    Project,
    Question,
    Section,
    TenderDocument,
)


class TokenRequest(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, trim_whitespace=False)
    otp = serializers.CharField(max_length=32, required=False, allow_blank=True)  # TOTP or recovery code


class OrganizationOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    credit_code = serializers.CharField()
    kind = serializers.CharField()


class MeOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    organization = OrganizationOut(allow_null=True)
    totp_enabled = serializers.BooleanField()


class BidderSignup(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, trim_whitespace=False)
    name = serializers.CharField(max_length=200)
    credit_code = serializers.CharField(max_length=40)
    legal_representative = serializers.CharField(max_length=100)
    basic_account_bank = serializers.CharField(max_length=200)
    basic_account_number = serializers.CharField(max_length=40)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ProjectIn(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    owner_name = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Project.Category.choices)
    funding = serializers.ChoiceField(choices=Project.Funding.choices)
    estimated_price = serializers.CharField(max_length=32)
    must_tender = serializers.BooleanField(default=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)


class SectionIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    estimated_price = serializers.CharField(max_length=32, required=False)
    deposit_amount = serializers.CharField(max_length=32, required=False)
    bid_deadline = serializers.DateTimeField(required=False)
    documents_from = serializers.DateTimeField(required=False, allow_null=True)
    documents_until = serializers.DateTimeField(required=False, allow_null=True)
    bid_validity_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    evaluation_method = serializers.ChoiceField(choices=Section.EvaluationMethod.choices, required=False)
    criteria = serializers.JSONField(required=False)
    opening_form_fields = serializers.JSONField(required=False)
    opening_config = serializers.JSONField(required=False)
    announcement = serializers.CharField(max_length=50000, required=False, allow_blank=True)


class TextIn(serializers.Serializer):
    text = serializers.CharField(max_length=50000)


class ClarificationIn(TextIn):
    affects_preparation = serializers.BooleanField(default=True)
    answers = serializers.ListField(child=serializers.CharField(max_length=24), required=False)


class AnswerIn(serializers.Serializer):
    answer = serializers.CharField(max_length=20000)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class DocumentOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    class Meta:
        model = TenderDocument
        fields = ["id", "kind", "name", "size", "sha256", "uploaded_at"]


class SectionOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    project = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Section
        fields = ["id", "title", "status", "status_label", "bid_deadline", "number", "project",
                  "estimated_price", "deposit_amount", "bid_validity_days", "evaluation_method",
                  "criteria", "opening_form_fields", "documents_from", "documents_until",
                  "published_at", "announcement"]

    def get_project(self, section) -> dict:
        p = section.project
        return {"id": p.public_id, "code": p.code, "name": p.name, "owner": p.owner_name,
                "category": p.category, "funding": p.funding, "region": p.region}


class ProjectOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    sections = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "code", "name", "owner_name", "category", "funding", "estimated_price",
                  "must_tender", "region", "description", "created_at", "sections"]

    def get_sections(self, project) -> list:
        return [{"id": s.public_id, "title": s.title, "status": s.status} for s in project.sections.all()]


class QuestionOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    clarification = serializers.IntegerField(source="clarification.number", allow_null=True, default=None)

    class Meta:
        model = Question
        fields = ["id", "text", "asked_at", "clarification"]


class ClarificationOut(serializers.ModelSerializer):
    class Meta:
        model = Clarification
        fields = ["number", "text", "affects_preparation", "published_at", "deadline_before", "deadline_after"]


class ObjectionOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    class Meta:
        model = DocumentObjection
        fields = ["id", "text", "submitted_at", "answer_due", "status", "answer", "answered_at"]


class NotificationOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    section = serializers.CharField(source="section.public_id", allow_null=True, default=None)

    class Meta:
        model = Notification
        fields = ["id", "subject", "body", "created_at", "read_at", "section"]


ERROR_HELP = _("Errors are {'error': {'code', 'message', 'field'}} with the message in the user's language.")
