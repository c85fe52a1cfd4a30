"""The foundation API: tokens, sign-up, projects, sections, documents, questions, objections.

Every endpoint has an access test: anonymous, a role without the right, or another party is refused.
"""

import json
from datetime import timedelta

import pyotp
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import (
    PASSWORD,
    SectionFactory,
    add_document,
    agency_user,
    bidder_user,
    expert_user,
    published_section,
    register,
    supervisor_user,
)
from trading.models import ApiToken, Organization, Project, Registration, Section, User
from trading.social_credit_code import credit_code_make

pytestmark = pytest.mark.django_db


def client_for(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)}")
    return api


def error_of(response) -> dict:
    return response.json()["error"]


# --- tokens and identity -------------------------------------------------------------------

def test_token_login_returns_a_bearer_token_that_works(api):
    user = bidder_user()
    response = api.post("/api/v1/auth/token", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    me = api.get("/api/v1/me").json()
    assert me["username"] == user.username and me["role"] == "bidder"
    assert me["organization"]["credit_code"] == user.organization.credit_code


def test_token_login_with_wrong_password_is_refused_in_chinese_by_default(api):
    user = bidder_user()
    response = api.post("/api/v1/auth/token", {"username": user.username, "password": "nope"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_credentials"
    assert "密码" in error_of(response)["message"]


def test_error_messages_follow_accept_language(api):
    response = api.post("/api/v1/auth/token", {"username": "x", "password": "y"}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert error_of(response)["message"] == "Wrong user name or password."


def test_staff_with_totp_needs_the_code(api):
    user = agency_user()
    user.totp_secret, user.totp_enabled = pyotp.random_base32(), True
    user.save()
    body = {"username": user.username, "password": PASSWORD}
    assert error_of(api.post("/api/v1/auth/token", body, format="json"))["code"] == "otp_required"
    body["otp"] = pyotp.TOTP(user.totp_secret).now()
    assert api.post("/api/v1/auth/token", body, format="json").status_code == 200


def test_me_refuses_anonymous_and_bad_tokens(api):
    assert api.get("/api/v1/me").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api.get("/api/v1/me").status_code == 401


def test_malformed_json_gets_a_clear_400(api):
    response = api.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed"


# --- bidder sign-up --------------------------------------------------------------------------

def signup_body(**overrides) -> dict:
    body = {"username": "zhongjian", "password": "Strong-pass-2026!", "name": "中建某局第一建设有限公司",
            "credit_code": credit_code_make("91330100MA2H3K4L5"), "legal_representative": "李四",
            "basic_account_bank": "中国建设银行杭州分行", "basic_account_number": "33050161000000001234"}
    body.update(overrides)
    return body


def test_bidder_company_registers_with_a_valid_credit_code(api):
    response = api.post("/api/v1/organizations", signup_body(), format="json")
    assert response.status_code == 201, response.content
    org = Organization.objects.get(credit_code=signup_body()["credit_code"])
    assert org.kind == "bidder" and org.users.get().role == "bidder"


def test_bad_credit_code_check_character_is_refused_and_nothing_is_stored(api):
    good = signup_body()["credit_code"]
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    response = api.post("/api/v1/organizations", signup_body(credit_code=bad), format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "credit_code"
    assert "校验" in error_of(response)["message"]
    assert not Organization.objects.exists() and not User.objects.exists()


def test_credit_code_with_forbidden_letters_is_refused_in_english(api):
    response = api.post("/api/v1/organizations", signup_body(credit_code="91330100MA2H3K4LOI"), format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "not allowed: I O" in error_of(response)["message"]


def test_duplicate_company_is_a_409_and_the_first_is_kept(api):
    api.post("/api/v1/organizations", signup_body(), format="json")
    response = api.post("/api/v1/organizations", signup_body(username="other"), format="json")
    assert response.status_code == 409
    assert Organization.objects.count() == 1


# --- projects and sections ------------------------------------------------------------------

def project_body(**overrides) -> dict:
    body = {"code": "HZ-2026-0999", "name": "钱塘区学校建设工程", "owner_name": "钱塘区教育局",
            "category": "construction", "funding": "state", "estimated_price": "30000000.00"}
    body.update(overrides)
    return body


def section_body(**overrides) -> dict:
    now = timezone.now()
    body = {"title": "施工标段", "estimated_price": "30000000.00", "deposit_amount": "600000.00",
            "bid_deadline": (now + timedelta(days=25)).isoformat(),
            "documents_from": (now + timedelta(minutes=1)).isoformat(),
            "documents_until": (now + timedelta(days=8)).isoformat(), "evaluation_method": "comprehensive",
            "announcement": "招标公告正文"}
    body.update(overrides)
    return body


def test_agency_registers_a_project_adds_a_section_uploads_and_publishes(api):
    agency = agency_user()
    client_for(api, agency)
    project = api.post("/api/v1/projects/", project_body(), format="json").json()
    section = api.post(f"/api/v1/projects/{project['id']}/sections", section_body(), format="json")
    assert section.status_code == 201, section.content
    sid = section.json()["id"]
    upload = SimpleUploadedFile("招标文件.pdf", b"%PDF-1.4 " + b"x" * 1000)
    doc = api.post(f"/api/v1/sections/{sid}/documents", {"file": upload}, format="multipart")
    assert doc.status_code == 201, doc.content
    assert len(doc.json()["sha256"]) == 64
    published = api.post(f"/api/v1/sections/{sid}/publish")
    assert published.status_code == 200, published.content
    assert published.json()["status"] == "published"


def test_script_in_text_fields_is_stored_as_text_and_escaped_in_pages(api, client):
    agency = agency_user()
    client_for(api, agency)
    project = api.post("/api/v1/projects/", project_body(name="<script>alert(1)</script>"), format="json").json()
    assert Project.objects.get(public_id=project["id"]).name == "<script>alert(1)</script>"
    section = Section.objects.create(project=Project.objects.get(public_id=project["id"]), title="<b>x</b>",
                                     estimated_price=1, bid_deadline=timezone.now() + timedelta(days=30),
                                     evaluation_method="comprehensive", status="published",
                                     announcement="<script>alert(2)</script>")
    html = client.get(f"/sections/{section.public_id}/").content.decode()
    assert "<script>alert(2)</script>" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_section_with_deadline_in_the_past_is_refused(api):
    agency = agency_user()
    client_for(api, agency)
    project = api.post("/api/v1/projects/", project_body(), format="json").json()
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = api.post(f"/api/v1/projects/{project['id']}/sections", section_body(bid_deadline=past),
                        format="json")
    assert response.status_code == 400 and error_of(response)["field"] == "bid_deadline"
    assert not Section.objects.exists()


def test_r15_deposit_over_the_cap_is_refused_through_the_api(api):
    agency = agency_user()
    client_for(api, agency)
    project = api.post("/api/v1/projects/", project_body(), format="json").json()
    response = api.post(f"/api/v1/projects/{project['id']}/sections",
                        section_body(deposit_amount="600000.01"), format="json")
    assert response.status_code == 400 and "R15" in error_of(response)["message"]
    assert not Section.objects.exists()


def test_amount_with_three_decimals_is_refused(api):
    client_for(api, agency_user())
    response = api.post("/api/v1/projects/", project_body(estimated_price="100.001"), format="json")
    assert response.status_code == 400 and error_of(response)["field"] == "estimated_price"


def test_empty_document_is_refused_and_nothing_is_stored(api, settings):
    section = SectionFactory()
    client_for(api, section.project.created_by)
    upload = SimpleUploadedFile("empty.pdf", b"")
    response = api.post(f"/api/v1/sections/{section.public_id}/documents", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert not section.documents.exists()


def test_oversized_document_is_refused_and_leaves_no_file(api, settings):
    settings.TENDER_DOCUMENT_MAX_BYTES = 1024
    section = SectionFactory()
    client_for(api, section.project.created_by)
    upload = SimpleUploadedFile("big.pdf", b"x" * 1025)
    response = api.post(f"/api/v1/sections/{section.public_id}/documents", {"file": upload}, format="multipart")
    assert response.status_code == 400 and error_of(response)["code"] == "too_large"
    assert not section.documents.exists()
    leftovers = [p for p in settings.FILE_STORE_DIR.rglob("*") if p.is_file()]
    assert leftovers == []


# --- access: each endpoint refuses the wrong party -------------------------------------------

def test_project_endpoints_refuse_bidders_and_other_agencies(api):
    section = SectionFactory()
    project = section.project
    client_for(api, bidder_user())
    assert api.post("/api/v1/projects/", project_body(), format="json").status_code == 403
    assert api.get("/api/v1/projects/").status_code == 403
    client_for(api, agency_user())
    assert api.get(f"/api/v1/projects/{project.public_id}").status_code == 404
    assert api.post(f"/api/v1/projects/{project.public_id}/sections", section_body(),
                    format="json").status_code == 404


def test_drafts_are_invisible_to_the_public_and_other_agencies(api):
    section = SectionFactory()
    assert api.get(f"/api/v1/sections/{section.public_id}").status_code == 404
    client_for(api, agency_user())
    assert api.get(f"/api/v1/sections/{section.public_id}").status_code == 404
    client_for(api, supervisor_user())
    assert api.get(f"/api/v1/sections/{section.public_id}").status_code == 200


def test_publish_cancel_and_edit_refuse_another_agency_and_bidders(api):
    section = published_section()
    for user in (agency_user(), bidder_user(), expert_user()):
        client_for(api, user)
        assert api.post(f"/api/v1/sections/{section.public_id}/publish").status_code == 403
        assert api.post(f"/api/v1/sections/{section.public_id}/cancel", {"reason": "x"},
                        format="json").status_code == 403
        assert api.patch(f"/api/v1/sections/{section.public_id}", {"title": "x"},
                         format="json").status_code == 403
    section.refresh_from_db()
    assert section.status == "published"


def test_document_upload_refuses_other_agency_and_bidders(api):
    section = SectionFactory()
    for user in (agency_user(), bidder_user()):
        client_for(api, user)
        upload = SimpleUploadedFile("a.pdf", b"data")
        response = api.post(f"/api/v1/sections/{section.public_id}/documents", {"file": upload},
                            format="multipart")
        assert response.status_code in (403, 404)
    assert not section.documents.exists()


def test_documents_need_a_sign_up_to_download(api):
    section = published_section()
    doc = add_document(section)
    bidder = bidder_user()
    client_for(api, bidder)
    url = f"/api/v1/sections/{section.public_id}/documents/{doc.public_id}"
    assert api.get(url).status_code == 403
    register(section, bidder)
    response = api.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 tender"
    api.credentials()
    assert api.get(url).status_code == 401


def test_registration_is_only_for_bidders_and_only_once(api):
    section = published_section()
    for user in (agency_user(), supervisor_user(), expert_user()):
        client_for(api, user)
        assert api.post(f"/api/v1/sections/{section.public_id}/registrations", {}, format="json").status_code == 403
    bidder = bidder_user()
    client_for(api, bidder)
    assert api.post(f"/api/v1/sections/{section.public_id}/registrations", {}, format="json").status_code == 201
    assert api.post(f"/api/v1/sections/{section.public_id}/registrations", {}, format="json").status_code == 409
    assert Registration.objects.filter(section=section).count() == 1


def test_registration_after_the_deadline_is_refused(api):
    section = published_section(bid_deadline=timezone.now() - timedelta(seconds=1))
    client_for(api, bidder_user())
    response = api.post(f"/api/v1/sections/{section.public_id}/registrations", {}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "closed"


def test_questions_need_a_sign_up_and_the_agency_never_sees_the_asker(api):
    section = published_section()
    bidder, other = bidder_user(), bidder_user()
    register(section, bidder)
    client_for(api, other)
    assert api.post(f"/api/v1/sections/{section.public_id}/questions", {"text": "?"},
                    format="json").status_code == 403
    client_for(api, bidder)
    assert api.post(f"/api/v1/sections/{section.public_id}/questions", {"text": "工期能否延长？"},
                    format="json").status_code == 201
    client_for(api, other)
    assert api.get(f"/api/v1/sections/{section.public_id}/questions").json() == []
    client_for(api, section.project.created_by)
    listed = api.get(f"/api/v1/sections/{section.public_id}/questions").json()
    assert listed[0]["text"] == "工期能否延长？"
    assert bidder.organization.name not in json.dumps(listed, ensure_ascii=False)


def test_clarifications_only_by_the_sections_agency(api):
    section = published_section()
    for user in (agency_user(), bidder_user(), supervisor_user()):
        client_for(api, user)
        assert api.post(f"/api/v1/sections/{section.public_id}/clarifications", {"text": "x"},
                        format="json").status_code == 403
    client_for(api, section.project.created_by)
    assert api.post(f"/api/v1/sections/{section.public_id}/clarifications", {"text": "澄清一"},
                    format="json").status_code == 201
    api.credentials()
    assert api.get(f"/api/v1/sections/{section.public_id}/clarifications").json()[0]["text"] == "澄清一"


def test_objections_are_seen_by_their_author_and_answered_only_by_the_agency(api):
    section = published_section()
    bidder, other = bidder_user(), bidder_user()
    register(section, bidder)
    register(section, other)
    client_for(api, bidder)
    objection = api.post(f"/api/v1/sections/{section.public_id}/objections", {"text": "资格条件过高"},
                         format="json").json()
    client_for(api, other)
    assert api.get(f"/api/v1/sections/{section.public_id}/objections").json() == []
    assert api.post(f"/api/v1/objections/{objection['id']}/answer", {"answer": "x"},
                    format="json").status_code == 404
    client_for(api, agency_user())
    assert api.post(f"/api/v1/objections/{objection['id']}/answer", {"answer": "x"},
                    format="json").status_code == 404
    client_for(api, section.project.created_by)
    response = api.post(f"/api/v1/objections/{objection['id']}/answer", {"answer": "已答复"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "answered"


def test_notifications_are_per_organization(api):
    section = published_section()
    bidder, other = bidder_user(), bidder_user()
    register(section, bidder)
    client_for(api, section.project.created_by)
    api.post(f"/api/v1/sections/{section.public_id}/clarifications", {"text": "澄清"}, format="json")
    client_for(api, bidder)
    assert len(api.get("/api/v1/notifications").json()) == 1
    client_for(api, other)
    assert api.get("/api/v1/notifications").json() == []
    api.credentials()
    assert api.get("/api/v1/notifications").status_code == 401


# --- R14 ------------------------------------------------------------------------------------

def test_r14_nobody_learns_who_or_how_many_signed_up(api):
    section = published_section()
    bidders = [bidder_user() for _ in range(3)]
    for b in bidders:
        register(section, b)
    names = [b.organization.name for b in bidders]
    viewers = [None, section.project.created_by, agency_user(), bidder_user(), bidders[0]]
    for viewer in viewers:
        if viewer is None:
            api.credentials()
        else:
            client_for(api, viewer)
        for url in (f"/api/v1/sections/{section.public_id}", "/api/v1/sections/?status=published",
                    f"/api/v1/sections/{section.public_id}/clarifications"):
            text = api.get(url).content.decode()
            assert not any(name in text for name in names[1:]), (viewer, url)
            assert "registrations" not in text and "bidder_count" not in text
    client_for(api, section.project.created_by)
    text = api.get(f"/api/v1/projects/{section.project.public_id}").content.decode()
    assert not any(name in text for name in names) and "registration" not in text


def test_r14_the_agency_cannot_tell_which_bidder_objected(api):
    section = published_section()
    bidder = bidder_user()
    register(section, bidder)
    client_for(api, bidder)
    api.post(f"/api/v1/sections/{section.public_id}/objections", {"text": "异议"}, format="json")
    client_for(api, section.project.created_by)
    text = api.get(f"/api/v1/sections/{section.public_id}/objections").content.decode()
    assert bidder.organization.name not in text and bidder.organization.credit_code not in text


def test_openapi_schema_and_local_swagger_ui(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/auth/token" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
    # The init script is its own URL (no inline script under the Content-Security-Policy).
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "<script>" not in docs
