"""Helpers for the experts tests (no tests here): a pool, a drawable section, a seated committee, bids."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bidding.models import Bid
from experts.models import Draw, Expert, Pick
from experts.services import draws
from tests.factories import OrganizationFactory, SectionFactory, expert_user, supervisor_user
from trading.models import Organization, Section
from trading.social_credit_code import credit_code_make

EMPLOYER = credit_code_make("91330100999000001")


def make_experts(n: int, *, specialties=("土建",), prefix: str = "ZJ", start: int = 1, employer: str = EMPLOYER,
                 with_users: bool = False) -> list[Expert]:
    experts = []
    for i in range(start, start + n):
        user = expert_user(username=f"{prefix.lower()}{i:05d}") if with_users else None
        experts.append(Expert.objects.create(
            code=f"{prefix}{i:05d}", name=f"专家{i}", user=user, specialties=list(specialties),
            employer_name=f"单位{i}", employer_credit_code=employer, title="高级工程师", years_experience=10))
    return experts


def drawable_section(**kwargs) -> Section:
    kwargs.setdefault("status", Section.Status.PUBLISHED)
    kwargs.setdefault("published_at", timezone.now())
    kwargs.setdefault("criteria", [{"name": "技术方案", "max_score": "40", "kind": "technical"},
                                   {"name": "商务", "max_score": "20", "kind": "commercial"},
                                   {"name": "投标报价", "max_score": "40", "kind": "price"}])
    return SectionFactory(**kwargs)


def agency_of(section: Section):
    return section.project.created_by


def request_draw(section: Section, groups, *, reps: int = 0, now=None) -> Draw:
    starts = section.bid_deadline + timedelta(days=1)
    return draws.draw_request(user=agency_of(section), section_id=section.pk, groups=groups,
                              owner_representatives=reps, evaluation_starts_at=starts,
                              evaluation_ends_at=starts + timedelta(hours=8), now=now)


def complete_draw(section: Section, groups, *, reps: int = 0, supervisor=None, entropy: str = "dice 3-1-4-1-5-9") -> Draw:
    draw = request_draw(section, groups, reps=reps)
    return draws.draw_add_entropy(user=supervisor or supervisor_user(), draw_id=draw.public_id, entropy=entropy)


def seat_committee(section: Section, *, members: int = 5, backups: int = 2) -> list[Pick]:
    """Draw `members` 土建 experts with accounts and have every one confirm."""
    if not Expert.objects.filter(user__isnull=False).exists():
        make_experts(members + backups + 4, with_users=True)
    draw = complete_draw(section, [{"specialty": "土建", "count": members, "backups": backups}])
    picks = list(Pick.objects.filter(draw=draw, primary=True).select_related("expert__user"))
    for pick in picks:
        draws.pick_confirm(user=pick.expert.user, pick_id=pick.public_id)
    return picks


def fake_bids(section: Section, prices, *, start=None) -> list[Bid]:
    """Bids valid at the opening (decrypted, with a summary) without envelopes: enough for scoring."""
    start = start or section.bid_deadline - timedelta(days=1)
    bids = []
    for i, price in enumerate(prices):
        org = OrganizationFactory(kind=Organization.Kind.BIDDER)
        user = org.users.create(username=f"b{org.pk}x{i}", role="bidder")
        bids.append(Bid.objects.create(
            section=section, organization=org, submitted_by=user, status=Bid.Status.DECRYPTED, size=1,
            digest="0" * 64, signature=b"", sign_kid="k", bidder_kid="k", opening_kid="k", header={},
            storage_path="", received_at=start + timedelta(minutes=i), timestamp_token=b"",
            summary={"price": str(Decimal(price)), "currency": "CNY"}))
    return bids


def opened(section: Section) -> Section:
    Section.objects.filter(pk=section.pk).update(status=Section.Status.OPENED)
    section.refresh_from_db()
    return section
