"""Expert draws through the service layer: R22, R23 (§10 replay), R24 avoidance, R25 sealing, R31 hook."""

import hashlib
import hmac
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from experts.models import Draw, Expert, Pick, Unavailability
from experts.services import draws
from experts.services.errors import ExpertError
from tests.experts.test_experts_kit import (
    agency_of,
    complete_draw,
    drawable_section,
    make_experts,
    request_draw,
)
from tests.factories import OrganizationFactory, bidder_user, register, supervisor_user
from timestamps.stamping import stamp_valid
from trading import signals
from trading.models import Organization
from trading.services.errors import Conflict, PermissionDenied
from trading.social_credit_code import credit_code_make

pytestmark = pytest.mark.django_db


def replay_from_spec(audit: dict) -> list[list[str]]:
    """DESIGN.md §10 written again from the text, sharing no code with experts/draw.py."""
    s, e = bytes.fromhex(audit["s"]), bytes.fromhex(audit["e"])
    assert hashlib.sha256(s).hexdigest() == audit["commitment"]
    seed = hashlib.sha256(s + e + audit["draw_id"].encode("utf-8")).digest()
    counter = 0

    def next_u() -> int:
        nonlocal counter
        mac = hmac.new(seed, b"DRAW" + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
        return int.from_bytes(mac[:8], "big")

    def uniform(n: int) -> int:
        limit = (2**64 // n) * n
        while True:
            u = next_u()
            if u < limit:
                return u % n

    picked_before: set[str] = set()
    out = []
    for group in audit["groups"]:
        pool = group["pool"]
        assert pool == sorted(pool)
        assert hashlib.sha256("\n".join(pool).encode()).hexdigest() == group["pool_hash"]
        a = [c for c in pool if c not in picked_before]
        m = min(group["count"] + group["backups"], len(a))
        for k in range(m):
            j = k + uniform(len(a) - k)
            a[k], a[j] = a[j], a[k]
        out.append(a[:m])
        picked_before.update(a[:m])
    return out


def test_r23_a_draw_replays_by_an_independent_implementation_of_section_10():
    make_experts(30, specialties=("土建", "造价"))
    make_experts(12, specialties=("电气",), prefix="EE")
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 3, "backups": 2},
                                   {"specialty": "造价", "count": 1, "backups": 1},
                                   {"specialty": "电气", "count": 1, "backups": 1}])
    audit = draws.draw_audit_of(draw)
    assert set(audit) == {"draw_id", "commitment", "s", "e", "groups"}
    assert replay_from_spec(audit) == [g["picks"] for g in audit["groups"]]
    # The published pools hold the experts picked by earlier groups (taken before removal, §10).
    assert set(audit["groups"][0]["picks"]) <= set(audit["groups"][1]["pool"])
    seated = [[p.expert.code for p in draw.picks.filter(group=i).order_by("position")] for i in range(3)]
    assert seated == [g["picks"] for g in audit["groups"]]
    assert draws.draw_replay_of(draw).ok


def test_r23_the_commitment_is_timestamped_before_entropy_and_s_stays_hidden():
    make_experts(10)
    section = drawable_section()
    draw = request_draw(section, [{"specialty": "土建", "count": 5, "backups": 1}])
    assert draw.status == Draw.Status.COMMITTED
    assert stamp_valid(bytes(draw.commitment_token), bytes.fromhex(draw.commitment))
    with pytest.raises(Conflict):
        draws.draw_audit_of(draw)
    assert not draw.picks.exists()
    done = draws.draw_add_entropy(user=supervisor_user(), draw_id=draw.public_id, entropy="roll 6-6-2-4-1-3")
    audit = draws.draw_audit_of(done)
    assert hashlib.sha256(bytes.fromhex(audit["s"])).hexdigest() == draw.commitment
    assert bytes.fromhex(audit["e"]) == b"roll 6-6-2-4-1-3"
    with pytest.raises(Conflict):
        draws.draw_add_entropy(user=supervisor_user(), draw_id=draw.public_id, entropy="another entropy")


def test_only_a_supervisor_adds_entropy_and_entropy_must_be_long_enough():
    make_experts(10)
    section = drawable_section()
    draw = request_draw(section, [{"specialty": "土建", "count": 5, "backups": 0}])
    with pytest.raises(PermissionDenied):
        draws.draw_add_entropy(user=agency_of(section), draw_id=draw.public_id, entropy="12345678")
    with pytest.raises(ExpertError):
        draws.draw_add_entropy(user=supervisor_user(), draw_id=draw.public_id, entropy="1234567")


@pytest.mark.parametrize("groups,reps,ok", [
    ([{"specialty": "土建", "count": 5, "backups": 0}], 0, True),   # 5 members
    ([{"specialty": "土建", "count": 4, "backups": 0}], 0, False),  # 4 members
    ([{"specialty": "土建", "count": 6, "backups": 0}], 0, False),  # 6 members: even
    ([{"specialty": "土建", "count": 4, "backups": 0}], 1, True),   # 4 + 1 owner's rep = 5
    ([{"specialty": "土建", "count": 6, "backups": 0}], 3, True),   # 6 of 9 = exactly 2/3
    ([{"specialty": "土建", "count": 5, "backups": 0}], 4, False),  # 5 of 9 < 2/3
    ([{"specialty": "土建", "count": 4, "backups": 0}, {"specialty": "法律", "count": 1, "backups": 0}], 0, True),
    ([{"specialty": "土建", "count": 3, "backups": 0}, {"specialty": "法律", "count": 2, "backups": 0}], 0, False),
])
def test_r22_committee_size_odd_and_two_thirds_boundaries(groups, reps, ok):
    make_experts(12, specialties=("土建", "法律"))
    section = drawable_section()
    if ok:
        assert request_draw(section, groups, reps=reps).status == Draw.Status.COMMITTED
    else:
        with pytest.raises(ExpertError) as refused:
            request_draw(section, groups, reps=reps)
        assert refused.value.code == "r22" and "R22" in str(refused.value.message)


def test_a_pool_too_small_is_refused_at_request_time_with_a_clear_reason():
    make_experts(6)
    section = drawable_section()
    with pytest.raises(ExpertError) as refused:
        request_draw(section, [{"specialty": "土建", "count": 7, "backups": 0}])
    assert refused.value.code == "pool_too_small" and "6" in str(refused.value.message)


def test_only_the_sections_agency_requests_a_draw_and_only_once():
    make_experts(10)
    section = drawable_section()
    starts = section.bid_deadline + timedelta(days=1)
    for intruder in (bidder_user(), supervisor_user()):
        with pytest.raises(PermissionDenied):
            draws.draw_request(user=intruder, section_id=section.pk, groups=[{"specialty": "土建", "count": 5}],
                               evaluation_starts_at=starts, evaluation_ends_at=starts + timedelta(hours=1))
    request_draw(section, [{"specialty": "土建", "count": 5, "backups": 0}])
    with pytest.raises(Conflict):
        request_draw(section, [{"specialty": "土建", "count": 5, "backups": 0}])


def test_r24_r31_avoidance_removes_every_conflicted_expert_from_the_pool():
    section = drawable_section()
    bidder = bidder_user()
    register(section, bidder)
    supervision = OrganizationFactory(kind=Organization.Kind.SUPERVISION)
    owner = OrganizationFactory(kind=Organization.Kind.AGENCY, name=section.project.owner_name)
    clean = make_experts(10)
    avoided = {
        "bidder": make_experts(1, prefix="AB", employer=bidder.organization.credit_code)[0],
        "agency": make_experts(1, prefix="AA", employer=section.project.agency.credit_code)[0],
        "owner": make_experts(1, prefix="AO", employer=owner.credit_code)[0],
        "supervision": make_experts(1, prefix="AS", employer=supervision.credit_code)[0],
        "suspended": make_experts(1, prefix="AX")[0],
        "removed": make_experts(1, prefix="AR")[0],
        "related": make_experts(1, prefix="AL")[0],
        "unavailable": make_experts(1, prefix="AU")[0],
        "blacklisted": make_experts(1, prefix="AK")[0],
        "owner_by_name": make_experts(1, prefix="AN", employer=credit_code_make("91330100999000077"))[0],
    }
    Expert.objects.filter(pk=avoided["suspended"].pk).update(status="suspended")
    Expert.objects.filter(pk=avoided["removed"].pk).update(status="removed")
    Expert.objects.filter(pk=avoided["related"].pk).update(relationships=[bidder.organization.credit_code])
    Expert.objects.filter(pk=avoided["owner_by_name"].pk).update(employer_name=section.project.owner_name)
    starts = section.bid_deadline + timedelta(days=1)
    Unavailability.objects.create(expert=avoided["unavailable"], starts_at=starts - timedelta(hours=1),
                                  ends_at=starts + timedelta(hours=1))
    calls = []

    def blacklist(sender, *, codes, section, now, **kwargs):
        calls.append((len(codes), section.pk))
        return {avoided["blacklisted"].code}

    signals.expert_draw_exclusions.connect(blacklist, dispatch_uid="tests.blacklist")
    try:
        draw = request_draw(section, [{"specialty": "土建", "count": 5, "backups": 5}])
    finally:
        signals.expert_draw_exclusions.disconnect(dispatch_uid="tests.blacklist")
    assert draw.pools[0] == sorted(e.code for e in clean)
    assert calls and calls[0][1] == section.pk


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(size=st.integers(min_value=8, max_value=30), data=st.data())
def test_property_no_avoided_or_blacklisted_expert_is_ever_picked_and_picks_are_unique(size, data):
    with transaction.atomic():
        section = drawable_section()
        bidder = bidder_user()
        register(section, bidder)
        experts = make_experts(size, specialties=("土建", "造价"), prefix="HP")
        codes = [e.code for e in experts]
        employer_avoided = set(data.draw(st.sets(st.sampled_from(codes), max_size=size // 4)))
        blacklisted = set(data.draw(st.sets(st.sampled_from(codes), max_size=size // 4)))
        Expert.objects.filter(code__in=employer_avoided).update(
            employer_credit_code=bidder.organization.credit_code)
        left = size - len(employer_avoided | blacklisted)
        if left < 5:
            transaction.set_rollback(True)
            return
        backups = data.draw(st.integers(min_value=0, max_value=left - 5))
        hook = lambda sender, **kwargs: blacklisted  # noqa: E731
        signals.expert_draw_exclusions.connect(hook, weak=False, dispatch_uid="tests.hook")
        try:
            draw = complete_draw(section, [{"specialty": "土建", "count": 3, "backups": backups // 2},
                                           {"specialty": "造价", "count": 2, "backups": backups - backups // 2}],
                                 entropy=data.draw(st.text(min_size=8, max_size=20).filter(lambda t: len(t.strip()) >= 8)))
        except ExpertError as exc:
            assert exc.code == "pool_too_small"
            transaction.set_rollback(True)
            return
        finally:
            signals.expert_draw_exclusions.disconnect(dispatch_uid="tests.hook")
        picked = [p.expert.code for p in draw.picks.all()]
        assert len(picked) == len(set(picked))
        assert not set(picked) & (employer_avoided | blacklisted)
        assert replay_from_spec(draws.draw_audit_of(draw)) == draw.picks_published
        transaction.set_rollback(True)


def test_a_decline_invites_the_next_backup():
    make_experts(8, with_users=True)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    assert draw.picks.filter(status=Pick.Status.INVITED).count() == 5
    first = draw.picks.get(group=0, position=0)
    draws.pick_decline(user=first.expert.user, pick_id=first.public_id, reason="出差")
    backup = draw.picks.get(position=5)
    assert backup.status == Pick.Status.INVITED and backup.seat == first.seat and backup.replaces_id == first.pk


def test_when_backups_run_out_a_supplementary_draw_follows_commit_and_entropy():
    make_experts(7, with_users=True)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 0}])
    leaving = draw.picks.get(position=2)
    draws.pick_decline(user=leaving.expert.user, pick_id=leaving.public_id)
    supplement = Draw.objects.get(parent=draw)
    assert supplement.status == Draw.Status.COMMITTED and len(supplement.pools[0]) == 2  # not the 5 drawn
    supplement = draws.draw_add_entropy(user=supervisor_user(), draw_id=supplement.public_id, entropy="second roll")
    seated = supplement.picks.get(primary=True)
    assert seated.seat == leaving.seat and seated.replaces_id == leaving.pk and seated.status == Pick.Status.INVITED
    assert replay_from_spec(draws.draw_audit_of(supplement)) == supplement.picks_published


def test_another_expert_cannot_answer_someone_elses_invitation():
    make_experts(6, with_users=True)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 1}])
    mine, other = draw.picks.get(position=0), draw.picks.get(position=1)
    from trading.services.errors import NotFound

    with pytest.raises(NotFound):
        draws.pick_confirm(user=other.expert.user, pick_id=mine.public_id)
    backup = draw.picks.get(position=5)
    with pytest.raises(ExpertError):
        draws.pick_confirm(user=backup.expert.user, pick_id=backup.public_id)  # a backup not yet called


def test_draw_replay_command_matches_and_detects_a_changed_pick():
    make_experts(9)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    out = io.StringIO()
    call_command("draw_replay", draw.public_id, stdout=out)
    assert "replays" in out.getvalue()
    published = draw.picks_published
    published[0][0], published[0][1] = published[0][1], published[0][0]
    Draw.objects.filter(pk=draw.pk).update(picks_published=published)
    with pytest.raises(CommandError):
        call_command("draw_replay", draw.public_id, stdout=io.StringIO(), stderr=io.StringIO())


def test_seed_experts_demo_makes_a_pool_and_a_complete_draw_idempotently():
    from experts.demo import seed_experts_demo
    from trading.demo import seed_demo

    accounts = seed_demo()
    first = seed_experts_demo(accounts)
    counts = (Expert.objects.count(), Draw.objects.count(), Pick.objects.count())
    second = seed_experts_demo(seed_demo())
    assert first.pk == second.pk and (Expert.objects.count(), Draw.objects.count(), Pick.objects.count()) == counts
    assert Expert.objects.filter(user__username__startswith="expert").count() >= 30
    assert first.is_complete and draws.draw_replay_of(first).ok


@hsettings(max_examples=60, deadline=None)
@given(experts=st.lists(st.tuples(st.integers(0, 500), st.sets(st.sampled_from(["土建", "造价", "电气"]), min_size=1),
                                  st.integers(0, 5), st.booleans(), st.booleans()), max_size=40, unique_by=lambda t: t[0]),
       avoided=st.sets(st.integers(0, 5)), excluded=st.sets(st.integers(0, 500)))
def test_property_the_one_pass_pool_builder_equals_eligible_pool(experts, avoided, excluded):
    from experts.draw import Candidate, eligible_pool

    employers = {f"E{n}" for n in avoided}
    rows = sorted(((Candidate(f"Z{code:04d}", frozenset(specs), f"E{emp}"), "业主" if owner else "单位",
                    [f"E{(emp + 1) % 6}"] if related else []) for code, specs, emp, owner, related in experts),
                  key=lambda row: row[0].code)
    codes = {f"Z{n:04d}" for n in excluded}
    built = draws.pools_for(rows, ["土建", "造价", "电气"], employers=employers, owner_name="业主", excluded_codes=codes)
    related = {c.code for c, name, rel in rows if name == "业主" or set(rel) & employers}
    expected = [eligible_pool([c for c, _n, _r in rows], specialty=s, avoid_employers=employers,
                              avoid_codes=related | codes) for s in ["土建", "造价", "电气"]]
    assert built == expected
