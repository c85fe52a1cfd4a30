"""A believable trading centre for demos: agencies, bidders, experts, supervisors, projects in several states."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading import signals
from trading.models import Organization, Project, Registration, Section, User
from trading.services import clarifications, lifecycle, organizations, projects
from trading.social_credit_code import credit_code_make

PASSWORDS = {
    "agency": "Zhaobiao-2026!",
    "bidder": "Toubiao-2026!",
    "expert": "Pingbiao-2026!",
    "supervisor": "Jiandu-2026!",
    "admin": "Guanli-2026!",
}

AGENCIES = [
    ("agency1", "浙江正信工程招标代理有限公司", "91330100310000001"),
    ("agency2", "杭州市城建项目管理咨询有限公司", "91330100310000002"),
]
BIDDERS = [
    ("bidder1", "浙江华东建设集团有限公司", "91330100320000001", "王建国"),
    ("bidder2", "杭州钱江路桥工程有限公司", "91330100320000002", "陈志远"),
    ("bidder3", "中铁某局集团第三工程有限公司", "91330100320000003", "刘海涛"),
    ("bidder4", "浙江绿城市政园林有限公司", "91330100320000004", "赵丽华"),
    ("bidder5", "宁波东方水利建设有限公司", "91330200320000005", "孙国平"),
    ("bidder6", "温州瓯江建筑工程有限公司", "91330300320000006", "周文斌"),
    ("bidder7", "嘉兴南湖智能科技有限公司", "91330400320000007", "吴晓梅"),
    ("bidder8", "绍兴越州装饰工程有限公司", "91330600320000008", "郑宏伟"),
    ("bidder9", "金华婺城信息技术有限公司", "91330700320000009", "冯雪"),
    ("bidder10", "台州椒江机电设备安装有限公司", "91331000320000010", "何家明"),
]
LIVE_PROJECT = "HZ-2026-YS-0901"  # the live demo opening's project; a new section each time the last one is over
LIVE_BIDDERS = 4  # bidder1 (left to the person trying the demo) and bidder2-bidder4 (the demo robot's)
EXPERT_NAMES = ("张伟 王芳 李娜 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴婷 徐明 孙丽 马超 朱琳 胡斌 郭亮 何静 高峰 林涛 罗琴 "
                "梁军 宋佳 郑浩 谢颖 韩冰 唐宁 冯刚 于洁 董立 萧然 程远 曹阳 袁媛 邓超 许诺 傅强").split()


@dataclass
class Account:
    username: str
    password: str
    role: str
    name: str = ""


def _org(kind: str, name: str, first17: str, **extra) -> Organization:
    code = credit_code_make(first17)
    org = Organization.objects.filter(credit_code=code).first()
    return org or organizations.organization_register(kind=kind, name=name, credit_code=code,
                                                      actor="seed_demo", **extra)


def _user(username: str, role: str, org: Organization | None, full_name: str = "") -> Account:
    if not User.objects.filter(username=username).exists():
        organizations.user_create(username=username, password=PASSWORDS[role], role=role, organization=org,
                                  full_name=full_name, actor="seed_demo")
    return Account(username, PASSWORDS[role], role, full_name or (org.name if org else ""))


def _section(agency_user: User, *, code: str, name: str, owner: str, category: str, price: str,
             title: str, deadline, published_at, region: str, method: str = "comprehensive") -> Section:
    project = Project.objects.filter(code=code).first() or projects.project_register(
        user=agency_user, code=code, name=name, owner_name=owner, category=category,
        funding="state" if category != "state_assets" else "other", estimated_price=price, region=region,
        description=f"{name}，资金来源已落实，具备招标条件。")
    section = project.sections.first()
    if section is not None:
        return section
    start = published_at or timezone.now() + timedelta(minutes=1)
    section = projects.section_create(
        user=agency_user, project=project, now=start - timedelta(minutes=1), title=title, estimated_price=price,
        deposit_amount=str((Decimal(price) * Decimal("0.02")).quantize(Decimal("1"))),
        bid_deadline=deadline, documents_from=start, documents_until=start + timedelta(days=7),
        evaluation_method=method, bid_validity_days=90,
        criteria=[{"name": "技术方案", "max_score": "40", "kind": "technical"},
                  {"name": "项目管理机构", "max_score": "10", "kind": "technical"},
                  {"name": "商务及信誉", "max_score": "10", "kind": "commercial"},
                  {"name": "投标报价", "max_score": "40", "kind": "price"}],
        announcement=(f"{owner}的{name}已由有关部门批准建设，项目资金已落实。现对该项目{title}进行公开招标，"
                      "欢迎符合资格条件的潜在投标人参加投标。\n\n一、投标人资格要求：具备相应资质，近三年无重大违法记录。\n"
                      "二、招标文件获取：报名后在平台在线下载。\n三、投标文件递交：加密后在线递交，不见面开标。"))
    projects.document_add(user=agency_user, section_id=section.pk, name=f"{title}招标文件.pdf",
                          chunks=[f"%PDF-1.4\n% {name} {title} 招标文件（演示）\n".encode()],
                          now=start - timedelta(minutes=1))
    if published_at is not None:
        lifecycle.section_publish(user=agency_user, section_id=section.pk, now=published_at)
    return Section.objects.get(pk=section.pk)


def _opening_watchable(section: Section, now) -> bool:
    """Under way and still in its decryption window: a restart keeps it rather than adding another."""
    window = timedelta(minutes=section.opening_minutes("decrypt_minutes"))
    return section.status == Section.Status.OPENING and now < section.bid_deadline + window


def live_section(agency_user: User, bidders: list[User], *, now) -> Section:
    """The live demo opening: a voluntary tender (R01 does not apply) whose deadline is minutes away.

    Reused while its deadline is ahead or its decryption window is open; after that (a stopped platform included)
    a fresh section is added and the old opening ends on its own."""
    project = Project.objects.filter(code=LIVE_PROJECT).first() or projects.project_register(
        user=agency_user, code=LIVE_PROJECT, name="西溪湿地游客中心导视系统更新", owner_name="杭州西溪湿地公园管理委员会",
        category="construction", funding="state", estimated_price="1800000.00", must_tender=False,
        region="杭州市西湖区",
        description="估算价180万元，低于依法必须招标的限额（施工单项400万元），不属于依法必须招标的项目；"
                    "招标人自愿公开招标，演示不见面开标。")
    latest = project.sections.order_by("-number").first()
    if latest is not None and (latest.bid_deadline > now or _opening_watchable(latest, now)):
        return latest
    start = now - timedelta(minutes=1)
    section = projects.section_create(
        user=agency_user, project=project, now=start, title="导视标识制作安装（演示开标）",
        estimated_price="1800000.00", deposit_amount="0",
        bid_deadline=now + timedelta(minutes=settings.DEMO_OPENING_MINUTES),
        documents_from=now, documents_until=now + timedelta(days=7), evaluation_method="lowest_price",
        bid_validity_days=60, opening_config={"signin_minutes": 30, "decrypt_minutes": 10, "objection_minutes": 3,
                        "confirm_minutes": 3},
        announcement=("本项目不属于依法必须招标的项目，招标人自愿公开招标，R01（20日）不适用。"
                      "投标截止时间即开标时间，开标在平台不见面开标大厅进行。"))
    projects.document_add(user=agency_user, section_id=section.pk, name="导视标识制作安装招标文件.pdf",
                          chunks=["%PDF-1.4\n% 导视标识制作安装 招标文件（演示）\n".encode()], now=start)
    lifecycle.section_publish(user=agency_user, section_id=section.pk, now=now)
    for bidder in bidders:
        Registration.objects.create(section=section, organization=bidder.organization, registered_by=bidder)
    return Section.objects.get(pk=section.pk)


@transaction.atomic
def seed_demo(*, notes: list[str] | None = None) -> list[Account]:
    """Load the demo data; ``notes`` receives the lines the run output prints after the accounts."""
    now = timezone.now().replace(second=0, microsecond=0)
    accounts: list[Account] = []
    _org("platform", "杭州市公共资源交易中心", "12330100470000001")
    supervision = _org("supervision", "杭州市公共资源交易监督管理办公室", "11330100002000001")
    accounts.append(_user("admin", "admin", None, "平台管理员"))
    accounts.append(_user("supervisor1", "supervisor", supervision, "监督员 周明"))
    accounts.append(_user("supervisor2", "supervisor", supervision, "监督员 沈洁"))
    agency_users = []
    for username, name, first17 in AGENCIES:
        org = _org("agency", name, first17, contact_phone="0571-88000000", address="杭州市上城区")
        accounts.append(_user(username, "agency", org))
        agency_users.append(User.objects.get(username=username))
    bidder_users = []
    for index, (username, name, first17, legal) in enumerate(BIDDERS, start=1):
        org = _org("bidder", name, first17, legal_representative=legal, basic_account_bank="中国工商银行杭州分行",
                   basic_account_number=f"12020012090{index:09d}")
        accounts.append(_user(username, "bidder", org))
        bidder_users.append(User.objects.get(username=username))
    for index, name in enumerate(EXPERT_NAMES, start=1):
        accounts.append(_user(f"expert{index:02d}", "expert", None, name))

    a1, a2 = agency_users
    open_section = _section(a1, code="HZ-2026-GC-0101", name="钱塘区第二实验小学新建工程", owner="杭州市钱塘区教育局",
                            category="construction", price="48600000.00", title="施工总承包",
                            deadline=now + timedelta(days=21), published_at=now - timedelta(days=5),
                            region="杭州市钱塘区")
    for bidder in bidder_users[:6]:
        if not Registration.objects.filter(section=open_section, organization=bidder.organization).exists():
            Registration.objects.create(section=open_section, organization=bidder.organization,
                                        registered_by=bidder)
    if not open_section.clarifications.exists():
        clarifications.clarification_publish(user=a1, section_id=open_section.pk, now=now - timedelta(days=2),
                                             text="第1号澄清：工程量清单第3章第12项计量单位更正为“m³”。",
                                             affects_preparation=True)
    _section(a1, code="HZ-2026-CG-0207", name="市第一人民医院医疗设备采购", owner="杭州市第一人民医院",
             category="government", price="12800000.00", title="CT及影像设备",
             deadline=now + timedelta(days=26), published_at=now - timedelta(days=1), region="杭州市上城区",
             method="lowest_price")
    _section(a2, code="HZ-2026-GC-0315", name="西湖区留下街道污水管网改造工程", owner="杭州市西湖区城市管理局",
             category="construction", price="9300000.00", title="管网施工",
             deadline=now + timedelta(days=40), published_at=None, region="杭州市西湖区")
    opening = _section(a2, code="HZ-2026-TD-0402", name="余杭区良渚地块国有建设用地使用权出让", owner="杭州市余杭区自然资源局",
                       category="land", price="356000000.00", title="地块出让",
                       deadline=now - timedelta(days=1), published_at=now - timedelta(days=30),
                       region="杭州市余杭区")
    lifecycle.section_close_bidding(section_id=opening.pk, now=opening.bid_deadline)
    live = live_section(a1, bidder_users[:LIVE_BIDDERS], now=now)
    # experts: the pool and a draw; bidding: sealed bids in the live section and the demo robot's keys
    for _receiver, lines in signals.demo_seeded.send(sender=None, accounts=accounts, live_section=live):
        if notes is not None and lines:
            notes.extend(lines)
    if notes is not None:
        opening = timezone.localtime(live.bid_deadline).strftime("%H:%M")
        when = f"at {opening}" if live.bid_deadline > now else f"under way since {opening}"
        notes.insert(0, f"Live demo opening: {when} (Beijing time), log in as agency1 to host the opening, "
                        f"or as bidder1 to decrypt: /sections/{live.public_id}/opening/")
    return accounts
