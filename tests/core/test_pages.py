"""Server-rendered pages: each renders for its role in Chinese and English and refuses everyone else."""

import re
from datetime import timedelta
from decimal import Decimal

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    PASSWORD,
    OrganizationFactory,
    ProjectFactory,
    SectionFactory,
    UserFactory,
    add_document,
    agency_user,
    bidder_user,
    expert_user,
    published_section,
    register,
    supervisor_user,
)
from trading.models import (
    DocumentObjection,
    Organization,
    Project,
    Question,
    Registration,
    Section,
    User,
)
from trading.social_credit_code import credit_code_make

pytestmark = pytest.mark.django_db
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def world():
    """An agency with a draft and a published section, a registered bidder, and the other roles."""
    agency = agency_user()
    project = ProjectFactory(agency=agency.organization, created_by=agency, name="市政道路改造工程")
    draft = SectionFactory(project=project, title="第二标段 绿化")
    published = published_section(project=project, title="第一标段 施工")
    add_document(published, agency)
    bidder = bidder_user()
    register(published, bidder)
    other_org = OrganizationFactory(kind=Organization.Kind.AGENCY, name="另一家招标代理公司")
    return {
        "agency": agency,
        "project": project,
        "draft": draft,
        "published": published,
        "bidder": bidder,
        "other_agency": UserFactory(role=User.Role.AGENCY, organization=other_org),
        "other_bidder": bidder_user(),
        "supervisor": supervisor_user(),
        "expert": expert_user(),
    }


def url_of(world, name: str) -> str:
    args = {
        "section_create": [world["project"].public_id],
        "agency_section": [world["published"].public_id],
        "section_edit": [world["draft"].public_id],
        "section_publish": [world["draft"].public_id],
    }.get(name, [])
    return reverse(name, args=args)


ROLE_PAGES = [
    ("agency_workspace", "agency", "招标代理工作台", "Agency workspace"),
    ("project_create", "agency", "登记项目", "Register a project"),
    ("section_create", "agency", "新增标段", "Add a section"),
    ("agency_section", "agency", "投标人提问", "Questions from bidders"),
    ("section_edit", "agency", "编辑标段草稿", "Edit draft section"),
    ("section_publish", "agency", "发布标段", "Publish section"),
    ("security", "agency", "账户安全", "Account security"),
    ("bidder_workspace", "bidder", "投标人工作台", "Bidder workspace"),
    ("supervisor_overview", "supervisor", "监督总览", "Supervision overview"),
]
OTHER_ROLES = {
    "agency": ["bidder", "supervisor", "expert"],
    "bidder": ["agency", "supervisor", "expert"],
    "supervisor": ["agency", "bidder", "expert"],
}


# --- every page renders in both languages ------------------------------------------------------


def test_home_renders_in_chinese_by_default(client, world):
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "交易公告" in html and "公共资源交易平台" in html
    assert world["published"].project.name in html
    assert world["draft"].title not in html  # drafts are never public


def test_home_renders_in_english_with_accept_language(client, world):
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert "Tender announcements" in html and "Public Resource Trading Platform" in html


def test_home_renders_in_english_with_language_cookie(client, world):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Tender announcements" in client.get(reverse("home")).content.decode()


def test_language_switcher_posts_to_set_language(client, world):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Tender announcements" in client.get("/").content.decode()


def test_home_filters_and_search(client, world):
    other = published_section(
        title="第三标段 监理",
        project=ProjectFactory(name="污水处理厂扩建", category=Project.Category.GOVERNMENT),
    )
    html = client.get(reverse("home"), {"q": "污水"}).content.decode()
    assert other.project.name in html and world["project"].name not in html
    html = client.get(reverse("home"), {"category": "construction"}).content.decode()
    assert world["project"].name in html and other.project.name not in html
    assert client.get(reverse("home"), {"status": "nonsense", "page": "x"}).status_code == 200


def test_home_paginates(client):
    project = ProjectFactory()
    for _ in range(25):
        published_section(project=project)
    first = client.get(reverse("home")).content.decode()
    assert "第 1 / 2 页" in first
    assert client.get(reverse("home"), {"page": 2}).status_code == 200


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_section_detail_renders_for_everyone(client, world, language):
    section = world["published"]
    url = reverse("section_detail", args=[section.public_id])
    for user in (
        None,
        world["bidder"],
        world["other_bidder"],
        world["agency"],
        world["supervisor"],
    ):
        client.logout()
        if user:
            client.force_login(user)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        html = response.content.decode()
        assert section.title in html
        assert ("招标公告" if language == "zh-hans" else "Tender announcement") in html
        assert "SHA-256" in html


def test_draft_section_detail_is_hidden_from_the_public_and_other_agencies(client, world):
    url = reverse("section_detail", args=[world["draft"].public_id])
    assert client.get(url).status_code == 404
    client.force_login(world["other_agency"])
    assert client.get(url).status_code == 404
    client.force_login(world["agency"])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(("name", "role", "zh", "en"), ROLE_PAGES)
def test_role_page_renders_in_chinese_and_english(client, world, name, role, zh, en):
    client.force_login(world[role])
    zh_html = client.get(url_of(world, name)).content.decode()
    assert zh in zh_html, zh
    response = client.get(url_of(world, name), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert en in response.content.decode()


@pytest.mark.parametrize(("name", "role", "zh", "en"), ROLE_PAGES)
def test_role_page_refuses_anonymous(client, world, name, role, zh, en):
    response = client.get(url_of(world, name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "role", "zh", "en"), ROLE_PAGES)
def test_role_page_refuses_other_roles(client, world, name, role, zh, en):
    others = ["bidder", "expert"] if name == "security" else OTHER_ROLES[role]
    for other in others:
        client.force_login(world[other])
        response = client.get(url_of(world, name))
        assert response.status_code == 403, other
        assert "拒绝访问" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["section_create", "agency_section", "section_edit", "section_publish"]
)
def test_agency_pages_refuse_another_agency(client, world, name):
    client.force_login(world["other_agency"])
    assert client.get(url_of(world, name)).status_code == 404


def test_agency_workspace_refuses_bidder(client, world):
    client.force_login(world["bidder"])
    assert client.get(reverse("agency_workspace")).status_code == 403


def test_bidder_workspace_refuses_agency(client, world):
    client.force_login(world["agency"])
    assert client.get(reverse("bidder_workspace")).status_code == 403


def test_supervisor_overview_refuses_agency_and_bidder(client, world):
    for role in ("agency", "bidder"):
        client.force_login(world[role])
        assert client.get(reverse("supervisor_overview")).status_code == 403


def test_agency_writes_refuse_another_agency(client, world):
    section = world["published"]
    client.force_login(world["other_agency"])
    for name in ("document_upload", "clarification_publish", "section_cancel"):
        assert (
            client.post(
                reverse(name, args=[section.public_id]), {"text": "x", "reason": "x"}
            ).status_code
            == 404
        )
    assert (
        client.post(reverse("section_publish", args=[world["draft"].public_id])).status_code == 404
    )
    section.refresh_from_db()
    assert section.status == Section.Status.PUBLISHED and not section.clarifications.exists()


def test_bidder_actions_refuse_agency_and_anonymous(client, world):
    url = reverse("section_sign_up", args=[world["published"].public_id])
    assert client.post(url).status_code == 302
    client.force_login(world["agency"])
    assert client.post(url).status_code == 403


def test_writes_need_post(client, world):
    client.force_login(world["bidder"])
    assert (
        client.get(reverse("section_sign_up", args=[world["published"].public_id])).status_code
        == 405
    )
    assert client.get(reverse("logout")).status_code == 405


def test_workspace_redirects_by_role(client, world):
    expected = {
        "agency": "agency_workspace",
        "bidder": "bidder_workspace",
        "supervisor": "supervision_dashboard",
        "expert": "expert_home",
    }
    for role, name in expected.items():
        client.force_login(world[role])
        assert client.get(reverse("workspace"))["Location"] == reverse(name)
    client.logout()
    assert client.get(reverse("workspace"))["Location"].startswith(reverse("login"))


# --- accounts -----------------------------------------------------------------------------------


def signup_data(**overrides) -> dict:
    data = {
        "name": "杭州新锐建设有限公司",
        "credit_code": credit_code_make("91330106MA2H3K4L5"),
        "legal_representative": "李四",
        "basic_account_bank": "中国建设银行杭州分行",
        "basic_account_number": "33050161234500001234",
        "contact_phone": "0571-88888888",
        "address": "杭州市西湖区",
        "username": "xinrui",
        "password": PASSWORD,
        "password_again": PASSWORD,
    }
    return {**data, **overrides}


def test_signup_page_renders(client):
    html = client.get(reverse("bidder_signup")).content.decode()
    assert "投标人注册" in html and "统一社会信用代码" in html


def test_signup_with_bad_credit_code_shows_chinese_error_and_stores_nothing(client):
    good = credit_code_make("91330106MA2H3K4L5")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    response = client.post(reverse("bidder_signup"), signup_data(credit_code=bad))
    html = response.content.decode()
    assert response.status_code == 400
    assert "统一社会信用代码的校验码不正确" in html
    assert not Organization.objects.filter(name="杭州新锐建设有限公司").exists()
    assert not User.objects.filter(username="xinrui").exists()


def test_signup_registers_company_and_logs_in(client):
    response = client.post(reverse("bidder_signup"), signup_data())
    assert response["Location"] == reverse("bidder_workspace")
    user = User.objects.get(username="xinrui")
    assert user.role == User.Role.BIDDER and user.organization.legal_representative == "李四"
    assert "杭州新锐建设有限公司" in client.get(reverse("bidder_workspace")).content.decode()


def test_signup_password_mismatch_and_weak_password(client):
    html = client.post(reverse("bidder_signup"), signup_data(password_again="x")).content.decode()
    assert "两次输入的密码不一致" in html
    response = client.post(
        reverse("bidder_signup"), signup_data(password="123", password_again="123")
    )
    assert response.status_code == 400 and not User.objects.filter(username="xinrui").exists()


def test_login_with_password(client, world):
    response = client.post(
        reverse("login"), {"username": world["bidder"].username, "password": PASSWORD}
    )
    assert response["Location"] == reverse("workspace")
    bad = client.post(reverse("login"), {"username": world["bidder"].username, "password": "wrong"})
    assert bad.status_code == 200 and "请输入一个正确的" in bad.content.decode()


def test_login_does_not_redirect_off_site(client, world):
    response = client.post(
        reverse("login"),
        {
            "username": world["bidder"].username,
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == reverse("workspace")


def test_totp_two_step_login(client, world):
    agency = world["agency"]
    agency.totp_secret = pyotp.random_base32()
    agency.totp_enabled = True
    agency.save()
    response = client.post(reverse("login"), {"username": agency.username, "password": PASSWORD})
    assert response["Location"] == reverse("login_verify")
    assert client.get(reverse("agency_workspace")).status_code == 302  # not logged in yet
    wrong = client.post(reverse("login_verify"), {"code": "000000"})
    assert "验证码错误或已过期" in wrong.content.decode()
    code = pyotp.TOTP(agency.totp_secret).now()
    response = client.post(reverse("login_verify"), {"code": code})
    assert response["Location"] == reverse("workspace")
    assert client.get(reverse("agency_workspace")).status_code == 200


def test_totp_step_without_password_step_sends_back_to_login(client):
    assert client.get(reverse("login_verify"))["Location"] == reverse("login")


def test_security_page_enables_totp(client, world):
    agency = world["agency"]
    client.force_login(agency)
    client.post(reverse("security"), {"action": "begin"})
    agency.refresh_from_db()
    html = client.get(reverse("security")).content.decode()
    assert agency.totp_pending_secret in html and "otpauth://totp/" in html
    bad = client.post(reverse("security"), {"action": "confirm", "code": "123"})
    assert "验证码错误或已过期" in bad.content.decode()
    client.post(
        reverse("security"), {"action": "confirm", "code": pyotp.TOTP(agency.totp_pending_secret).now()}
    )
    agency.refresh_from_db()
    assert agency.totp_enabled


def test_logout(client, world):
    client.force_login(world["bidder"])
    assert client.post(reverse("logout"))["Location"] == reverse("home")
    assert client.get(reverse("bidder_workspace")).status_code == 302


# --- agency forms -------------------------------------------------------------------------------


def test_project_create_through_the_form(client, world):
    client.force_login(world["agency"])
    response = client.post(
        reverse("project_create"),
        {
            "code": "HZ-2026-0999",
            "name": "城西污水管网改造工程",
            "owner_name": "杭州市排水有限公司",
            "category": "construction",
            "funding": "state",
            "estimated_price": "25000000.00",
            "must_tender": "on",
            "region": "西湖区",
            "description": "",
        },
    )
    project = Project.objects.get(code="HZ-2026-0999")
    assert response["Location"] == reverse("section_create", args=[project.public_id])
    assert project.agency == world["agency"].organization and project.must_tender


def test_project_create_shows_errors_next_to_fields(client, world):
    client.force_login(world["agency"])
    response = client.post(
        reverse("project_create"),
        {
            "code": world["project"].code,
            "name": "x",
            "owner_name": "y",
            "category": "construction",
            "funding": "state",
            "estimated_price": "10",
        },
    )
    assert response.status_code == 400
    assert "该编号的项目已经登记" in response.content.decode()


def section_post(**overrides) -> dict:
    data = {
        "title": "第三标段 设备采购",
        "estimated_price": "5000000",
        "deposit_amount": "100000",
        "bid_deadline": "2031-03-01T09:30",
        "documents_from": "2031-01-05T09:00",
        "documents_until": "2031-01-20T17:00",
        "bid_validity_days": "90",
        "evaluation_method": "comprehensive",
        "announcement": "招标公告正文",
        "opening_form": "price | 投标报价 | money\nduration_days | 工期 | integer",
        "criteria-TOTAL_FORMS": "3",
        "criteria-INITIAL_FORMS": "0",
        "criteria-0-name": "技术方案",
        "criteria-0-max_score": "60",
        "criteria-0-kind": "technical",
        "criteria-1-name": "投标报价",
        "criteria-1-max_score": "40",
        "criteria-1-kind": "price",
        "criteria-2-name": "",
        "criteria-2-max_score": "",
        "criteria-2-kind": "technical",
    }
    return {**data, **overrides}


def test_section_create_through_the_form_reads_beijing_time(client, world):
    client.force_login(world["agency"])
    response = client.post(
        reverse("section_create", args=[world["project"].public_id]), section_post()
    )
    section = Section.objects.get(title="第三标段 设备采购")
    assert response["Location"] == reverse("agency_section", args=[section.public_id])
    assert timezone.localtime(section.bid_deadline).strftime("%Y-%m-%d %H:%M") == "2031-03-01 09:30"
    assert section.bid_deadline.utcoffset() == timedelta(0) and section.bid_deadline.hour == 1
    assert [c["name"] for c in section.criteria] == ["技术方案", "投标报价"]
    assert section.opening_form_fields[1]["key"] == "duration_days"


def test_section_create_form_shows_r15_and_criteria_errors(client, world):
    client.force_login(world["agency"])
    url = reverse("section_create", args=[world["project"].public_id])
    html = client.post(url, section_post(deposit_amount="200000")).content.decode()
    assert "R15" in html
    html = client.post(url, section_post(**{"criteria-1-max_score": "30"})).content.decode()
    assert "评分项满分之和必须为 100" in html
    assert not Section.objects.filter(title="第三标段 设备采购").exists()


def test_section_edit_updates_the_draft(client, world):
    client.force_login(world["agency"])
    draft = world["draft"]
    html = client.get(reverse("section_edit", args=[draft.public_id])).content.decode()
    assert draft.title in html
    response = client.post(
        reverse("section_edit", args=[draft.public_id]), section_post(title="第二标段 景观绿化")
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "第二标段 景观绿化"


def test_publish_page_shows_r01_and_r15_problems(client, world):
    draft = world["draft"]
    draft.documents_from = timezone.now() + timedelta(hours=1)
    draft.bid_deadline = timezone.now() + timedelta(days=10)
    draft.deposit_amount = Decimal("500000.00")  # 5 % of 10 million
    draft.save()
    client.force_login(world["agency"])
    html = client.get(reverse("section_publish", args=[draft.public_id])).content.decode()
    assert "R01" in html and "R15" in html and "不得少于 20 日" in html
    assert "上传招标文件" in html  # no documents yet
    assert re.search(r'<button type="submit" class="btn btn-primary" disabled>', html)
    response = client.post(reverse("section_publish", args=[draft.public_id]))
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == Section.Status.DRAFT


def test_publish_button_publishes_a_valid_draft(client, world):
    draft = world["draft"]
    add_document(draft, world["agency"])
    client.force_login(world["agency"])
    html = client.get(reverse("section_publish", args=[draft.public_id])).content.decode()
    assert "所有发布条件均已满足" in html
    response = client.post(reverse("section_publish", args=[draft.public_id]))
    assert response["Location"] == reverse("agency_section", args=[draft.public_id])
    draft.refresh_from_db()
    assert draft.status == Section.Status.PUBLISHED


def test_document_upload_form(client, world):
    client.force_login(world["agency"])
    upload = SimpleUploadedFile("技术规范.pdf", b"%PDF-1.4 spec", content_type="application/pdf")
    response = client.post(
        reverse("document_upload", args=[world["draft"].public_id]), {"file": upload}
    )
    assert response.status_code == 302
    assert world["draft"].documents.get().name == "技术规范.pdf"
    empty = SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf")
    response = client.post(
        reverse("document_upload", args=[world["draft"].public_id]), {"file": empty}
    )
    assert response.status_code == 400


def test_clarification_form_answers_questions_and_moves_the_deadline_r03(client, world):
    section = world["published"]
    section.bid_deadline = timezone.now() + timedelta(days=8)
    section.save()
    question = Question.objects.create(
        section=section, organization=world["bidder"].organization, text="工期能否延长？"
    )
    client.force_login(world["agency"])
    html = client.get(reverse("agency_section", args=[section.public_id])).content.decode()
    assert "工期能否延长？" in html and "15 日" in html
    response = client.post(
        reverse("clarification_publish", args=[section.public_id]),
        {"text": "工期调整为 200 日历天。", "affects_preparation": "on", "answers": [question.public_id]},
    )
    assert response.status_code == 302
    section.refresh_from_db()
    question.refresh_from_db()
    assert question.clarification is not None
    assert section.bid_deadline - timezone.now() > timedelta(days=14, hours=23)
    html = client.get(reverse("section_detail", args=[section.public_id])).content.decode()
    assert "截止时间由" in html  # the moved deadline is highlighted


def test_objection_answer_form(client, world):
    section = world["published"]
    objection = DocumentObjection.objects.create(
        section=section,
        organization=world["bidder"].organization,
        text="评分标准有倾向性",
        answer_due=timezone.now() + timedelta(days=3),
    )
    client.force_login(world["agency"])
    html = client.get(reverse("agency_section", args=[section.public_id])).content.decode()
    assert "评分标准有倾向性" in html and "答复期限" in html
    response = client.post(
        reverse("objection_answer", args=[objection.public_id]),
        {f"objection-{objection.public_id}-answer": "评分标准符合规定。"},
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.status == DocumentObjection.Status.ANSWERED
    client.force_login(world["other_agency"])
    assert client.post(reverse("objection_answer", args=[objection.public_id]), {}).status_code == 404


def test_cancel_form_needs_a_reason(client, world):
    section = world["published"]
    client.force_login(world["agency"])
    response = client.post(reverse("section_cancel", args=[section.public_id]), {"reason": ""})
    assert response.status_code == 400
    client.post(reverse("section_cancel", args=[section.public_id]), {"reason": "项目资金未落实"})
    section.refresh_from_db()
    assert section.status == Section.Status.CANCELLED
    assert (
        "项目资金未落实"
        in client.get(reverse("section_detail", args=[section.public_id])).content.decode()
    )


# --- bidder actions -----------------------------------------------------------------------------


def test_bidder_signs_up_asks_and_objects(client, world):
    section = published_section(
        project=world["project"], bid_deadline=timezone.now() + timedelta(days=25)
    )
    bidder = world["other_bidder"]
    client.force_login(bidder)
    url = reverse("section_detail", args=[section.public_id])
    assert "报名参加本标段" in client.get(url).content.decode()
    client.post(reverse("section_sign_up", args=[section.public_id]))
    assert Registration.objects.filter(section=section, organization=bidder.organization).exists()
    html = client.get(url).content.decode()
    assert "贵单位已报名本标段" in html and "异议" in html
    client.post(
        reverse("question_ask", args=[section.public_id]), {"question-text": "是否接受联合体投标？"}
    )
    client.post(
        reverse("objection_submit", args=[section.public_id]), {"objection-text": "资格条件过高"}
    )
    html = client.get(reverse("bidder_workspace")).content.decode()
    assert "是否接受联合体投标？" in html and "资格条件过高" in html
    empty = client.post(reverse("question_ask", args=[section.public_id]), {"question-text": ""})
    assert empty.status_code == 400 and "这个字段是必填项" in empty.content.decode()


def test_bidder_sign_up_twice_shows_a_message(client, world):
    client.force_login(world["bidder"])
    response = client.post(
        reverse("section_sign_up", args=[world["published"].public_id]), follow=True
    )
    assert "贵单位已报名本标段" in response.content.decode()


def test_document_download_only_for_registered_bidders(client, world):
    section = world["published"]
    doc = section.documents.get()
    url = reverse("document_download", args=[section.public_id, doc.public_id])
    assert client.get(url).status_code == 302
    client.force_login(world["other_bidder"])
    assert (
        url not in client.get(reverse("section_detail", args=[section.public_id])).content.decode()
    )
    assert client.get(url).status_code == 404
    client.force_login(world["bidder"])
    assert url in client.get(reverse("section_detail", args=[section.public_id])).content.decode()
    response = client.get(url)
    assert (
        response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 tender"
    )


def test_bidder_workspace_lists_signups_open_sections_and_notifications(client, world):
    from trading.models import Notification

    other = published_section(title="第九标段 监理服务")
    Notification.objects.create(
        organization=world["bidder"].organization,
        section=world["published"],
        subject="第1号澄清已发布",
    )
    client.force_login(world["bidder"])
    html = client.get(reverse("bidder_workspace")).content.decode()
    assert world["published"].title in html and other.title in html and "第1号澄清已发布" in html
    assert world["bidder"].organization.credit_code in html


# --- escaping and secrecy -------------------------------------------------------------------------


def test_user_text_is_escaped_everywhere(client, world):
    project = ProjectFactory(
        agency=world["agency"].organization, created_by=world["agency"], name=XSS, owner_name=XSS
    )
    section = published_section(project=project, title=XSS, announcement=f"第一行\n{XSS}")
    register(section, world["bidder"])
    Question.objects.create(section=section, organization=world["bidder"].organization, text=XSS)
    pages = [
        (None, reverse("home")),
        (None, reverse("section_detail", args=[section.public_id])),
        (world["agency"], reverse("agency_workspace")),
        (world["agency"], reverse("agency_section", args=[section.public_id])),
        (world["bidder"], reverse("bidder_workspace")),
        (world["supervisor"], reverse("supervisor_overview")),
    ]
    for user, url in pages:
        client.logout()
        if user:
            client.force_login(user)
        html = client.get(url).content.decode()
        assert XSS not in html, url
        assert XSS_ESCAPED in html, url


def test_announcement_keeps_line_breaks(client, world):
    section = world["published"]
    section.announcement = "第一段\n第二段\n\n第三段"
    section.save()
    html = client.get(reverse("section_detail", args=[section.public_id])).content.decode()
    assert "第一段<br>第二段" in html and "<p>第三段</p>" in html


def _agency_pages_html(client, world, section) -> str:
    urls = [
        reverse("agency_workspace"),
        reverse("agency_section", args=[section.public_id]),
        reverse("section_detail", args=[section.public_id]),
        reverse("home"),
        reverse("section_publish", args=[world["draft"].public_id]),
    ]
    html = "".join(client.get(url).content.decode() for url in urls)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_r14_agency_pages_do_not_reveal_registrations(client, world):
    client.force_login(world["agency"])
    with time_machine.travel(timezone.now(), tick=False):
        section = published_section(project=world["project"], title="第五标段 交通设施")
        before = _agency_pages_html(client, world, section)
        bidders = [bidder_user() for _ in range(3)]
        for bidder in bidders:
            register(section, bidder)
        after = _agency_pages_html(client, world, section)
    assert before == after  # nothing on the agency's pages depends on who or how many signed up
    for bidder in bidders:
        assert bidder.organization.name not in after
        assert bidder.organization.credit_code not in after
    assert "报名数" not in after  # the supervisor's sign-up column never reaches the agency


def test_r14_bidder_does_not_see_other_signups(client, world):
    client.force_login(world["other_bidder"])
    html = client.get(
        reverse("section_detail", args=[world["published"].public_id])
    ).content.decode()
    assert world["bidder"].organization.name not in html


def test_supervisor_sees_signup_counts_ledger_and_overdue_objections(client, world):
    published_section(project=world["project"], title="第四标段 照明工程")
    client.force_login(world["supervisor"])
    html = client.get(reverse("supervisor_overview")).content.decode()
    assert re.search(
        r'正在招标 <span class="count">2</span>', html
    )  # counts per status, not per deadline
    assert re.search(r'全部 <span class="count">3</span>', html)
    filtered = client.get(reverse("supervisor_overview"), {"status": "draft"}).content.decode()
    assert world["draft"].title in filtered and world["published"].title not in filtered
    DocumentObjection.objects.create(
        section=world["published"],
        organization=world["bidder"].organization,
        text="逾期未答复的异议",
        answer_due=timezone.now() - timedelta(hours=1),
    )
    client.force_login(world["supervisor"])
    html = client.get(reverse("supervisor_overview")).content.decode()
    assert "逾期未答复的异议" in html and "已逾期" in html
    assert "document.added" in html  # the ledger
    assert "报名数" in html
