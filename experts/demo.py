"""Demo data for the experts app: a pool of 60 experts (36 with demo accounts) and one complete draw."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from experts.models import SPECIALTIES, Draw, Expert, Pick
from experts.services import confirmations, draws
from trading.models import Section, User
from trading.social_credit_code import credit_code_make

EMPLOYERS = [
    ("浙江大学建筑设计研究院有限公司", "91330000470100001"),
    ("浙江省建筑设计研究院", "12330000470100002"),
    ("杭州市城市规划设计研究院", "12330100470100003"),
    ("中国联合工程有限公司", "91330000470100004"),
    ("浙江省水利水电勘测设计院", "12330000470100005"),
    ("浙江工业大学", "12330000470100006"),
    ("天健会计师事务所（特殊普通合伙）", "91330000470100007"),
    ("浙江天册律师事务所", "31330000470100008"),
    ("浙江省交通规划设计研究院", "91330000470100009"),
    ("杭州市园林绿化股份有限公司", "91330100470100010"),
    ("浙江省人民医院设备处", "12330000470100011"),
    ("浙江中联造价咨询有限公司", "91330000470100012"),
]
TITLES = ["高级工程师", "正高级工程师", "教授级高级工程师", "高级经济师", "注册造价工程师", "高级会计师", "律师（一级）"]
SPECIALTY_CODES = list(SPECIALTIES)
REGIONS = ["杭州市", "宁波市", "温州市", "嘉兴市", "绍兴市", "金华市"]
EXTRA_NAMES = ("钱坤 施展 蒋睿 沈洋 韦东 严肃 华清 金鑫 魏来 陶然 姜汝 戚宏 谢安 邹韬 喻言 柏舟 水清 窦明 章程 云飞 "
               "苏醒 潘安 葛优 奚林").split()
DEMO_PROJECT = "HZ-2026-GC-0520"
TITLE = "景观提升工程施工"


def _specialties(n: int) -> list[str]:
    # Every third expert is cost or finance (economic), every eleventh a lawyer; the rest are engineers.
    first = SPECIALTY_CODES[n % 11]
    if n % 3 == 0:
        first = "造价" if n % 2 else "财务"
    if n % 11 == 5:
        first = "法律"
    second = SPECIALTY_CODES[(n * 7 + 3) % 11]
    specialties = {first, second} if n % 2 else {first}
    if n % 4 == 0:
        specialties.add("土建")
    return sorted(specialties)


def _expert_pool() -> list[Expert]:
    experts = []
    for n in range(1, 61):
        employer, first17 = EMPLOYERS[n % len(EMPLOYERS)]
        user = User.objects.filter(username=f"expert{n:02d}").first() if n <= 36 else None
        name = (user.first_name if user and user.first_name else None) or EXTRA_NAMES[(n - 37) % len(EXTRA_NAMES)]
        fields = {"name": name, "user": user, "specialties": _specialties(n), "region": REGIONS[n % len(REGIONS)],
                  "employer_name": employer, "employer_credit_code": credit_code_make(first17),
                  "title": TITLES[n % len(TITLES)], "years_experience": 8 + n % 23, "phone": f"1390571{n:04d}"}
        expert, _created = Expert.objects.update_or_create(code=f"ZJ{n:04d}", defaults=fields)
        experts.append(expert)
    return experts


def _demo_section(agency: User) -> Section:
    from trading.demo import _section

    now = timezone.now().replace(second=0, microsecond=0)
    return _section(agency, code=DEMO_PROJECT, name="拱墅区运河沿岸景观提升工程", owner="杭州市拱墅区住房和城乡建设局",
                    category="construction", price="18600000.00", title=TITLE, deadline=now + timedelta(days=24),
                    published_at=now - timedelta(days=2), region="杭州市拱墅区")


@transaction.atomic
def seed_experts_demo(accounts) -> Draw:
    """Idempotent: the pool, a published section, and its complete draw with some seats confirmed."""
    _expert_pool()
    agency = User.objects.get(username="agency1")
    supervisor = User.objects.get(username="supervisor1")
    section = _demo_section(agency)
    draw = Draw.objects.filter(section=section, parent__isnull=True).first()
    if draw is None:
        now = timezone.now()
        starts = section.bid_deadline + timedelta(days=1, hours=1)
        draw = draws.draw_request(user=agency, section_id=section.pk, owner_representatives=0,
                                  groups=[{"specialty": "土建", "count": 3, "backups": 2},
                                          {"specialty": "造价", "count": 2, "backups": 1}],
                                  evaluation_starts_at=starts, evaluation_ends_at=starts + timedelta(hours=6),
                                  remote=True, now=now)
    if not draw.is_complete:
        draw = draws.draw_add_entropy(user=supervisor, draw_id=draw.public_id,
                                      entropy="监督员现场掷骰：3-6-1-4-2-5-5-2", now=timezone.now())
    if not Pick.objects.filter(draw=draw, status=Pick.Status.CONFIRMED).exists():
        for pick in Pick.objects.filter(draw=draw, status=Pick.Status.INVITED, expert__user__isnull=False)[:3]:
            draws.pick_confirm(user=pick.expert.user, pick_id=pick.public_id)
        staff = User.objects.filter(username="admin", role=User.Role.ADMIN).first()
        no_account = Pick.objects.filter(draw=draw, status=Pick.Status.INVITED, expert__user__isnull=True).first()
        if staff is not None and no_account is not None:  # 电话确认: an expert without an account, by phone
            confirmations.pick_phone_answer(user=staff, pick_id=no_account.public_id, confirmed=True)
    return draw
