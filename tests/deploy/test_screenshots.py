"""Full-page screenshots of the main pages in Chinese and English (docs/screenshots/<page>-<lang>.png).

The data is believable: several projects and sections in different states, made through the services
where a service exists, so that the audit ledger fills up as it would in real use.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.factories import (
    OrganizationFactory,
    ProjectFactory,
    SectionFactory,
    UserFactory,
    agency_user,
    published_section,
    supervisor_user,
)
from tests.services import chromium_args, require_chromium
from trading.models import Organization, Project, Section, User
from trading.services import clarifications, projects, registrations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

ANNOUNCEMENT = """杭州市西湖区文三路综合整治工程已由杭州市西湖区发展和改革局批准建设，项目业主为杭州市西湖区城市建设发展中心，建设资金来自财政资金，项目已具备招标条件，现对该项目的施工进行公开招标。

一、工程概况：文三路（学院路至古翠路）道路拓宽、雨污分流改造及附属设施，全长约 2.1 公里。
二、投标人资格要求：具备市政公用工程施工总承包二级及以上资质，近三年承担过类似工程业绩。
三、招标文件的获取：凡有意参加投标者，请于招标文件获取时间内登录本平台报名并下载招标文件。
四、投标文件的递交：投标文件递交的截止时间（投标截止时间，下同）为开标时间，投标人应在截止时间前通过本平台加密上传投标文件。"""


def _section(project, title, status, deadline_days, **extra):
    now = timezone.now()
    return SectionFactory(
        project=project,
        title=title,
        status=status,
        bid_deadline=now + timedelta(days=deadline_days),
        published_at=None if status == Section.Status.DRAFT else now - timedelta(days=5),
        documents_from=now - timedelta(days=5),
        documents_until=now + timedelta(days=9),
        **extra,
    )


def build_demo() -> dict:
    now = timezone.now()
    agency = agency_user(username="xh_agency")
    org = agency.organization
    bidder_org = OrganizationFactory(
        name="浙江华锐建设集团有限公司",
        legal_representative="王建国",
        basic_account_bank="中国工商银行杭州西湖支行",
        basic_account_number="1202020409900123456",
    )
    bidder = UserFactory(username="huarui", role=User.Role.BIDDER, organization=bidder_org)
    others = [
        UserFactory(role=User.Role.BIDDER, organization=OrganizationFactory(name=name))
        for name in (
            "杭州城建市政工程有限公司",
            "宁波交工路桥建设有限公司",
            "温州瓯江建设集团有限公司",
        )
    ]
    supervisor = supervisor_user(username="jd_supervisor")

    road = ProjectFactory(
        code="HZXH-2026-0101",
        name="杭州市西湖区文三路综合整治工程",
        agency=org,
        created_by=agency,
        owner_name="杭州市西湖区城市建设发展中心",
        region="西湖区",
        estimated_price=Decimal("86000000.00"),
    )
    s1 = SectionFactory(
        project=road,
        number=1,
        title="第一标段 道路及排水工程",
        estimated_price=Decimal("52000000.00"),
        deposit_amount=Decimal("800000.00"),
        bid_deadline=now + timedelta(days=24, hours=3),
        announcement=ANNOUNCEMENT,
        documents_from=now - timedelta(days=2),
        documents_until=now + timedelta(days=10),
        criteria=[
            {"name": "施工组织设计", "max_score": "30", "kind": "technical"},
            {"name": "项目管理机构", "max_score": "10", "kind": "technical"},
            {"name": "投标报价", "max_score": "60", "kind": "price"},
        ],
    )
    s2 = SectionFactory(
        project=road,
        number=2,
        title="第二标段 景观绿化工程",
        estimated_price=Decimal("18000000.00"),
        deposit_amount=Decimal("300000.00"),
        bid_deadline=now + timedelta(days=9, hours=5),
    )
    draft = _section(
        road,
        "第三标段 工程监理服务",
        Section.Status.DRAFT,
        12,
        number=3,
        estimated_price=Decimal("1600000.00"),
        deposit_amount=Decimal("50000.00"),
    )
    for section in (s1, s2):
        projects.document_add(
            user=agency,
            section_id=section.pk,
            name="招标文件（施工）.pdf",
            chunks=[b"%PDF-1.7 " + section.title.encode() * 2000],
        )
    projects.document_add(
        user=agency, section_id=s1.pk, name="工程量清单.xlsx", chunks=[b"PK\x03\x04" * 9000]
    )
    projects.document_add(
        user=agency, section_id=s1.pk, name="施工图纸.zip", chunks=[b"PK\x05\x06" * 300000]
    )
    Section.objects.filter(pk__in=[s1.pk, s2.pk]).update(
        status=Section.Status.PUBLISHED, published_at=now - timedelta(days=2)
    )

    hospital = ProjectFactory(
        code="HZCG-2026-0033",
        name="市第一人民医院医疗设备采购项目",
        agency=org,
        created_by=agency,
        owner_name="杭州市第一人民医院",
        region="上城区",
        category=Project.Category.GOVERNMENT,
        estimated_price=Decimal("23500000.00"),
    )
    h1 = published_section(
        project=hospital,
        number=1,
        title="第一包 64 排 CT 设备",
        estimated_price=Decimal("15000000.00"),
        deposit_amount=Decimal("150000.00"),
        bid_deadline=now + timedelta(days=2, hours=6),
        evaluation_method=Section.EvaluationMethod.COMPREHENSIVE,
    )
    _section(hospital, "第二包 彩色多普勒超声诊断仪", Section.Status.OPENING, -0.02, number=2)
    other_agency = OrganizationFactory(
        kind=Organization.Kind.AGENCY, name="浙江省成套招标代理有限公司"
    )
    land_agency = OrganizationFactory(
        kind=Organization.Kind.AGENCY, name="杭州市土地交易服务有限公司"
    )

    school = ProjectFactory(
        code="HZQT-2025-0187",
        name="钱塘区江东第二小学新建工程",
        agency=other_agency,
        owner_name="杭州市钱塘区教育局",
        region="钱塘区",
        estimated_price=Decimal("120000000.00"),
    )
    _section(school, "施工总承包", Section.Status.EVALUATING, -6, number=1)
    _section(school, "全过程工程咨询", Section.Status.FAILED, -20, number=2)
    land = ProjectFactory(
        code="HZTD-2025-0412",
        name="萧山区宁围街道国有建设用地使用权挂牌出让",
        agency=land_agency,
        owner_name="杭州市规划和自然资源局萧山分局",
        region="萧山区",
        category=Project.Category.LAND,
    )
    _section(land, "萧政储出〔2025〕58 号地块", Section.Status.AWARDED, -40, number=1)
    _section(
        land,
        "萧政储出〔2025〕61 号地块",
        Section.Status.CANCELLED,
        -3,
        number=2,
        cancel_reason="规划条件调整，终止出让。",
    )

    for section in (s1, s2, h1):
        for user in (bidder, *others):
            registrations.registration_create(user=user, section_id=section.pk)
    question = clarifications.question_ask(
        user=bidder,
        section_id=s2.pk,
        text="招标文件第三章苗木规格表中香樟胸径要求与图纸不一致，以哪个为准？",
    )
    clarifications.question_ask(user=others[0], section_id=s1.pk, text="是否接受联合体投标？")
    clarifications.clarification_publish(
        user=agency,
        section_id=s2.pk,
        answers=[question.public_id],
        text="苗木规格以图纸为准，香樟胸径 15–16 厘米。工程量清单相应调整，详见修改文件。",
    )
    clarifications.objection_submit(
        user=bidder,
        section_id=s1.pk,
        text="资格条件要求“近三年两项单体 5000 万元以上业绩”，明显高于项目规模，排斥潜在投标人。",
    )
    clarifications.objection_submit(
        user=others[1], section_id=s1.pk, text="评分标准中“企业荣誉”分值设置不合理。"
    )
    from trading.models import DocumentObjection

    DocumentObjection.objects.filter(text__startswith="评分标准").update(
        submitted_at=now - timedelta(days=4), answer_due=now - timedelta(days=1)
    )

    sessions = {}
    for role, user in (("agency", agency), ("bidder", bidder), ("supervisor", supervisor)):
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "sessions": sessions,
        "detail": s1.public_id,
        "manage": s1.public_id,
        "publish": draft.public_id,
    }


PAGES = [
    # name, path (or key), role, Chinese heading, English heading
    ("public-list", "/", None, "交易公告", "Tender announcements"),
    ("section-detail", "detail", "bidder", "招标公告", "Tender announcement"),
    ("agency-workspace", "/agency/", "agency", "招标代理工作台", "Agency workspace"),
    ("bidder-workspace", "/bidder/", "bidder", "投标人工作台", "Bidder workspace"),
    ("supervisor-overview", "/supervisor/", "supervisor", "监督总览", "Supervision overview"),
    (
        "agency-section",
        "/agency/sections/{manage}/",
        "agency",
        "投标人提问",
        "Questions from bidders",
    ),
    (
        "agency-publish",
        "/agency/sections/{publish}/publish/",
        "agency",
        "发布标段",
        "Publish section",
    ),
]


def test_screenshots_of_the_main_pages(live_server):
    require_chromium()
    from playwright.sync_api import sync_playwright

    demo = build_demo()
    OUT.mkdir(parents=True, exist_ok=True)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args())
        try:
            for lang in ("zh-hans", "en"):
                for name, path, role, zh, en in PAGES:
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 900}, locale=lang
                    )
                    cookies = [
                        {
                            "name": settings.LANGUAGE_COOKIE_NAME,
                            "value": lang,
                            "domain": host,
                            "path": "/",
                        }
                    ]
                    if role:
                        cookies.append(
                            {
                                "name": settings.SESSION_COOKIE_NAME,
                                "value": demo["sessions"][role],
                                "domain": host,
                                "path": "/",
                            }
                        )
                    context.add_cookies(cookies)
                    page = context.new_page()
                    url = (
                        f"/sections/{demo['detail']}/" if path == "detail" else path.format(**demo)
                    )
                    response = page.goto(live_server.url + url)
                    assert response.status == 200, (name, lang)
                    page.wait_for_timeout(1100)  # let the countdowns tick once
                    text = page.inner_text("body")
                    headings = " ".join(page.locator("h1, h2").all_inner_texts())
                    assert (zh if lang == "zh-hans" else en) in headings, (name, lang)
                    assert "Traceback" not in text and "Server Error" not in text
                    if lang == "zh-hans":
                        assert "公共资源交易平台" in text
                    else:
                        assert "Public Resource Trading Platform" in text
                    if name == "agency-workspace":
                        assert "浙江华锐建设集团有限公司" not in text  # R14
                    page.screenshot(
                        path=str(OUT / f"{name}-{'zh' if lang == 'zh-hans' else 'en'}.png"),
                        full_page=True,
                    )
                    context.close()
        finally:
            browser.close()
