"""Tests of the verifiable expert draw (专家抽取, DESIGN.md §10) in experts/draw.py.

`spec_draw` below is a second implementation written from the text of §10 alone. It
shares no code with experts/draw.py, so the two agreeing is evidence that the module
does what the published algorithm says, not just what it did yesterday.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
import random
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experts.draw import (
    Candidate,
    DrawError,
    DrawStream,
    GroupRequest,
    commitment,
    draw_audit,
    draw_groups,
    draw_replay,
    draw_seed,
    eligible_pool,
    pool_hash,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "draw"

# No example database: the suite must not write .hypothesis/ into the shared tree.
PROPERTY = settings(
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _isolated_file_store():
    """These tests are pure (no Django, no files): replace conftest's settings-based fixture.

    This keeps the module runnable with `-p no:django`, as an auditor would run it.
    """


# --- the independent implementation of §10 ------------------------------------


class SpecPoolTooSmall(Exception):
    pass


def spec_seed(s: bytes, e: bytes, draw_id: str) -> bytes:
    h = hashlib.sha256()
    h.update(s)
    h.update(e)
    h.update(draw_id.encode("utf-8"))
    return h.digest()


def spec_pool_hash(sorted_codes: list[str]) -> str:
    return hashlib.sha256(b"\n".join(c.encode("utf-8") for c in sorted_codes)).hexdigest()


class SpecStream:
    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.i = 0

    def u(self) -> int:
        mac = hmac.new(self.seed, b"DRAW" + struct.pack(">Q", self.i), hashlib.sha256)
        self.i += 1
        (value,) = struct.unpack(">Q", mac.digest()[0:8])
        return value

    def uniform(self, n: int) -> int:
        bound = (2**64 // n) * n
        while True:
            u = self.u()
            if u < bound:
                return u % n


def spec_draw(
    s: bytes, e: bytes, draw_id: str, groups: list[tuple[int, int]], pools: list[list[str]]
) -> list[dict]:
    """§10 from its text: groups are (count, backups); pools may arrive in any order."""
    stream = SpecStream(spec_seed(s, e, draw_id))
    already_picked: list[str] = []
    out = []
    for (count, backups), raw_pool in zip(groups, pools, strict=True):
        pool = sorted(raw_pool, key=lambda c: c.encode("utf-8"))
        published = {"pool": list(pool), "pool_hash": spec_pool_hash(pool)}
        a = [c for c in pool if c not in already_picked]
        if len(a) < count:
            raise SpecPoolTooSmall
        m = min(count + backups, len(a))
        for k in range(m):
            j = k + stream.uniform(len(a) - k)
            a[k], a[j] = a[j], a[k]
        published["picks"] = a[:m]
        already_picked.extend(a[:m])
        out.append(published)
    return out


# --- helpers -------------------------------------------------------------------


class ScriptedStream(DrawStream):
    """A DrawStream whose u values are given, to reach the rejection boundaries exactly."""

    def __init__(self, values: list[int]) -> None:
        super().__init__(b"unused")
        self.values = list(values)

    def next_u(self) -> int:
        self.position += 1
        return self.values.pop(0)


def chi2_sf(x: float, df: int) -> float:
    """P(X ≥ x) for X ~ chi-square(df), integer df, by the closed forms (no scipy needed)."""
    half = x / 2.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for j in range(1, df // 2):
            term *= half / j
            total += term
        return math.exp(-half) * total
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(half) / math.gamma(1.5)  # half^(j-1/2) / Γ(j+1/2) for j = 1
    for j in range(1, (df + 1) // 2):
        total += math.exp(-half) * term
        term *= half / (j + 0.5)
    return total


def make_audit(s: bytes, e: bytes, draw_id: str, groups, pools) -> dict:
    results = draw_groups(seed=draw_seed(s, e, draw_id), groups=groups, pools=pools)
    return draw_audit(draw_id=draw_id, s=s, e=e, results=results)


def codes(prefix: str, numbers) -> list[str]:
    return [f"{prefix}{n:04d}" for n in numbers]


# --- hypothesis strategies -----------------------------------------------------

# Chinese and astral-plane letters check that "sorted by code" (code point order) is UTF-8 byte order.
code_text = st.text(alphabet="ABCDEFGHJK0123456789专家评标𝔸𝔹", min_size=1, max_size=5)


@st.composite
def draw_inputs(draw):
    universe = draw(st.lists(code_text, min_size=1, max_size=40, unique=True))
    group_count = draw(st.integers(1, 4))
    groups, pools = [], []
    for _ in range(group_count):
        pool = draw(st.lists(st.sampled_from(universe), unique=True, max_size=len(universe)))
        count = draw(st.integers(1, 6))
        backups = draw(st.integers(0, 4))
        groups.append((count, backups))
        pools.append(pool)
    s = draw(st.binary(min_size=0, max_size=40))
    e = draw(st.binary(min_size=0, max_size=40))
    draw_id = draw(st.text(max_size=12))
    return s, e, draw_id, groups, pools


@st.composite
def expert_population(draw):
    specialties = ["土建", "电气", "造价", "给排水"]
    numbers = draw(st.lists(st.integers(0, 9999), min_size=5, max_size=80, unique=True))
    experts = [
        Candidate(
            code=f"ZJ{n:05d}",
            specialties=frozenset(draw(st.lists(st.sampled_from(specialties), min_size=1))),
            employer=draw(st.sampled_from(["甲公司", "乙公司", "丙院", "丁局", ""])),
            status=draw(st.sampled_from(["active", "active", "active", "suspended"])),
        )
        for n in numbers
    ]
    all_codes = [x.code for x in experts]
    avoid_codes = set(draw(st.lists(st.sampled_from(all_codes), max_size=10)))
    blacklisted = set(draw(st.lists(st.sampled_from(all_codes), max_size=10)))
    unavailable = set(draw(st.lists(st.sampled_from(all_codes), max_size=10)))
    avoid_employers = set(draw(st.lists(st.sampled_from(["甲公司", "乙公司", "丙院"]), max_size=2)))
    requested = draw(st.lists(st.sampled_from(specialties), min_size=1, max_size=3, unique=True))
    seed = draw(st.binary(min_size=32, max_size=32))
    return experts, avoid_codes, blacklisted, unavailable, avoid_employers, requested, seed


def draw_population(population):
    """Filter each requested specialty, then draw what can be drawn (1 + 1 backup per group)."""
    experts, avoid_codes, blacklisted, unavailable, avoid_employers, requested, seed = population
    excluded = {
        "avoid_employers": avoid_employers,
        "avoid_codes": avoid_codes,
        "blacklisted_codes": blacklisted,
        "unavailable_codes": unavailable,
    }
    pools = [eligible_pool(experts, specialty=specialty, **excluded) for specialty in requested]
    groups = [GroupRequest(specialty, 1, 1) for specialty in requested]
    try:
        return draw_groups(seed=seed, groups=groups, pools=pools)
    except DrawError:
        return []


def all_picks(results) -> list[str]:
    return [code for result in results for code in result.picks]


# --- the module agrees with the independent implementation ---------------------


@PROPERTY
@given(draw_inputs())
def test_module_and_independent_implementation_pick_the_same_experts_in_order(inputs):
    s, e, draw_id, groups, pools = inputs
    try:
        expected = spec_draw(s, e, draw_id, groups, pools)
    except SpecPoolTooSmall:
        expected = None

    requests = [GroupRequest(f"g{n}", count, backups) for n, (count, backups) in enumerate(groups)]
    sorted_pools = [sorted(pool) for pool in pools]
    if expected is None:
        with pytest.raises(DrawError):
            draw_groups(seed=draw_seed(s, e, draw_id), groups=requests, pools=sorted_pools)
        return
    results = draw_groups(seed=draw_seed(s, e, draw_id), groups=requests, pools=sorted_pools)
    assert [r.picks for r in results] == [g["picks"] for g in expected]
    assert [r.pool for r in results] == [g["pool"] for g in expected]
    assert [r.pool_hash for r in results] == [g["pool_hash"] for g in expected]


def test_module_and_independent_implementation_agree_on_2000_seeded_random_draws():
    rng = random.Random(20250610)
    drawn = 0
    for _ in range(2000):
        universe = codes("E", rng.sample(range(10_000), rng.randint(1, 300)))
        groups, pools = [], []
        for _ in range(rng.randint(1, 4)):
            pools.append(rng.sample(universe, rng.randint(0, len(universe))))
            groups.append((rng.randint(1, 9), rng.randint(0, 3)))
        s, e = rng.randbytes(32), rng.randbytes(16)
        draw_id = f"DRW-{rng.getrandbits(40):x}"
        requests = [GroupRequest("x", c, b) for c, b in groups]
        try:
            expected = spec_draw(s, e, draw_id, groups, pools)
        except SpecPoolTooSmall:
            with pytest.raises(DrawError):
                draw_groups(
                    seed=draw_seed(s, e, draw_id), groups=requests, pools=[sorted(p) for p in pools]
                )
            continue
        results = draw_groups(
            seed=draw_seed(s, e, draw_id), groups=requests, pools=[sorted(p) for p in pools]
        )
        assert [r.picks for r in results] == [g["picks"] for g in expected]
        drawn += 1
    assert drawn > 1000  # most inputs must really be drawn, not rejected


def test_stream_values_match_the_independent_stream():
    seed = spec_seed(b"s", b"e", "DRW-1")
    ours, theirs = DrawStream(seed), SpecStream(seed)
    assert [ours.next_u() for _ in range(1000)] == [theirs.u() for _ in range(1000)]
    assert ours.position == 1000


def test_seed_commitment_and_pool_hash_follow_the_published_formulas():
    s, e = bytes.fromhex("00ff" * 16), bytes.fromhex("abcd")
    assert draw_seed(s, e, "抽取-1") == hashlib.sha256(s + e + "抽取-1".encode()).digest()
    assert commitment(s) == hashlib.sha256(s).hexdigest()
    assert pool_hash(["A1", "B2", "专家"]) == hashlib.sha256("A1\nB2\n专家".encode()).hexdigest()
    assert pool_hash([]) == hashlib.sha256(b"").hexdigest()


# --- known-answer vectors --------------------------------------------------------

VECTOR1 = {
    "draw_id": "DRW-2025-000731",
    "s": "5f2b9c1e0d7a4f3b8e6c2a1d9f0b7e4c3a2d1f0e9b8c7a6d5e4f3a2b1c0d9e8f",
    "e": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "groups": [
        ("土建", 3, 1, codes("ZJ", range(1000, 1040))),
        ("造价", 1, 1, codes("ZJ", range(1020, 1060, 2))),
        ("电气", 1, 0, codes("ZJ", range(1030, 1045))),
    ],
    "picks": [
        ["ZJ1000", "ZJ1038", "ZJ1039", "ZJ1029"],
        ["ZJ1034", "ZJ1054"],
        ["ZJ1044"],
    ],
}

# Edge cases: an overlap that leaves a group short of backups, and a whole pool picked (uniform(1)).
VECTOR2 = {
    "draw_id": "DRW-2025-000732",
    "s": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "e": "ffeeddccbbaa99887766554433221100",
    "groups": [
        ("土建", 2, 1, codes("ZJ", range(1, 6))),
        ("造价", 2, 2, codes("ZJ", range(1, 6))),
    ],
    "picks": [
        ["ZJ0002", "ZJ0005", "ZJ0003"],
        ["ZJ0001", "ZJ0004"],
    ],
}


def vector_audit(vector: dict) -> dict:
    """The audit document for a vector, built by hand (fresh lists, so tests may change it)."""
    vector = copy.deepcopy(vector)
    return {
        "draw_id": vector["draw_id"],
        "commitment": hashlib.sha256(bytes.fromhex(vector["s"])).hexdigest(),
        "s": vector["s"],
        "e": vector["e"],
        "groups": [
            {
                "specialty": specialty,
                "count": count,
                "backups": backups,
                "pool": pool,
                "pool_hash": spec_pool_hash(pool),
                "picks": picks,
            }
            for (specialty, count, backups, pool), picks in zip(
                vector["groups"], vector["picks"], strict=True
            )
        ],
    }


@pytest.mark.parametrize("vector", [VECTOR1, VECTOR2], ids=["vector1", "vector2"])
def test_known_answer_vector(vector):
    s, e = bytes.fromhex(vector["s"]), bytes.fromhex(vector["e"])
    groups = [GroupRequest(sp, c, b) for sp, c, b, _ in vector["groups"]]
    pools = [pool for *_, pool in vector["groups"]]
    results = draw_groups(seed=draw_seed(s, e, vector["draw_id"]), groups=groups, pools=pools)
    assert [r.picks for r in results] == vector["picks"]
    independent = spec_draw(
        s, e, vector["draw_id"], [(c, b) for _, c, b, _ in vector["groups"]], pools
    )
    assert [g["picks"] for g in independent] == vector["picks"]


@pytest.mark.parametrize("vector,name", [(VECTOR1, "vector1"), (VECTOR2, "vector2")])
def test_published_vector_file_matches_the_known_answer_and_replays(vector, name):
    published = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    audit = {key: published[key] for key in ("draw_id", "commitment", "s", "e", "groups")}
    assert audit == vector_audit(vector)
    assert (
        published["seed"]
        == spec_seed(
            bytes.fromhex(vector["s"]), bytes.fromhex(vector["e"]), vector["draw_id"]
        ).hex()
    )
    stream = SpecStream(bytes.fromhex(published["seed"]))
    assert published["stream_head"] == [f"{stream.u():016x}" for _ in published["stream_head"]]
    assert draw_replay(published).ok


def test_vector2_gives_the_short_group_every_primary_and_as_many_backups_as_remain():
    pools = [pool for *_, pool in VECTOR2["groups"]]
    s, e = bytes.fromhex(VECTOR2["s"]), bytes.fromhex(VECTOR2["e"])
    results = draw_groups(
        seed=draw_seed(s, e, VECTOR2["draw_id"]),
        groups=[GroupRequest("土建", 2, 1), GroupRequest("造价", 2, 2)],
        pools=pools,
    )
    assert results[1].primaries == ["ZJ0001", "ZJ0004"]
    assert results[1].backup_picks == []  # 5 - 3 already picked = 2 left: primaries only


# --- uniform(n): rejection sampling at the boundaries ---------------------------

BOUNDARY_N = [1, 2, 3, 2**32 + 1, 2**63 + 1]


@pytest.mark.parametrize("n", BOUNDARY_N)
def test_uniform_accepts_the_largest_u_below_the_limit(n):
    limit = (2**64 // n) * n
    stream = ScriptedStream([limit - 1])
    assert stream.uniform(n) == (limit - 1) % n == n - 1
    assert stream.position == 1


@pytest.mark.parametrize("n", [3, 2**32 + 1, 2**63 + 1])
def test_uniform_rejects_u_at_and_above_the_limit_and_takes_the_next(n):
    limit = (2**64 // n) * n
    assert limit < 2**64
    stream = ScriptedStream([limit, 2**64 - 1, 5])
    assert stream.uniform(n) == 5 % n
    assert stream.position == 3  # both rejected u were consumed


@pytest.mark.parametrize("n", [1, 2])
def test_uniform_never_rejects_when_n_divides_2_to_the_64(n):
    stream = ScriptedStream([2**64 - 1])
    assert stream.uniform(n) == (2**64 - 1) % n
    assert stream.position == 1


def test_uniform_of_one_still_consumes_a_u():
    stream = DrawStream(b"k" * 32)
    assert [stream.uniform(1) for _ in range(3)] == [0, 0, 0]
    assert stream.position == 3


def test_uniform_limits_match_the_formula_at_the_boundaries():
    assert [(2**64 // n) * n for n in BOUNDARY_N] == [
        2**64,
        2**64,
        2**64 - 1,
        2**64 - 1,
        2**63 + 1,
    ]


@pytest.mark.parametrize("n", BOUNDARY_N)
def test_uniform_on_the_real_stream_matches_the_independent_one_including_rejections(n):
    rejections = 0
    for trial in range(300):
        seed = spec_seed(b"boundary", trial.to_bytes(2, "big"), str(n))
        ours, theirs = DrawStream(seed), SpecStream(seed)
        for _ in range(4):
            assert ours.uniform(n) == theirs.uniform(n)
            assert ours.position == theirs.i
        rejections += ours.position - 4
    if n == 2**63 + 1:
        assert rejections > 100  # about half the u are rejected: the loop really ran


@pytest.mark.parametrize("n", [0, -1, 2**64 + 1])
def test_uniform_refuses_an_empty_or_impossible_range(n):
    with pytest.raises(ValueError):
        DrawStream(b"k").uniform(n)


# --- properties: avoidance, blacklist, uniqueness, publication -----------------


@PROPERTY
@given(expert_population())
def test_r24_avoided_expert_is_never_picked(population):
    experts, avoid_codes, _, _, avoid_employers, _, _ = population
    by_code = {x.code: x for x in experts}
    for code in all_picks(draw_population(population)):
        assert code not in avoid_codes
        assert by_code[code].employer not in avoid_employers


@PROPERTY
@given(expert_population())
def test_r31_blacklisted_expert_is_never_picked(population):
    _, _, blacklisted, _, _, _, _ = population
    assert not set(all_picks(draw_population(population))) & blacklisted


@PROPERTY
@given(expert_population())
def test_unavailable_or_inactive_expert_is_never_picked(population):
    experts, _, _, unavailable, _, _, _ = population
    by_code = {x.code: x for x in experts}
    for code in all_picks(draw_population(population)):
        assert code not in unavailable
        assert by_code[code].status == "active"


@PROPERTY
@given(expert_population())
def test_r23_picks_hold_the_requested_specialty(population):
    experts, *_ = population
    by_code = {x.code: x for x in experts}
    for result in draw_population(population):
        assert all(result.specialty in by_code[code].specialties for code in result.picks)


@PROPERTY
@given(draw_inputs())
def test_picks_are_unique_across_groups_and_come_from_each_groups_pool(inputs):
    s, e, draw_id, groups, pools = inputs
    requests = [GroupRequest("g", c, b) for c, b in groups]
    try:
        results = draw_groups(
            seed=draw_seed(s, e, draw_id), groups=requests, pools=[sorted(p) for p in pools]
        )
    except DrawError:
        return
    picks = all_picks(results)
    assert len(picks) == len(set(picks))
    for result in results:
        assert set(result.picks) <= set(result.pool)
        assert len(result.picks) >= result.count
        assert len(result.picks) <= result.count + result.backups


@PROPERTY
@given(draw_inputs())
def test_each_group_publishes_its_pool_and_hash_from_before_removing_earlier_picks(inputs):
    s, e, draw_id, groups, pools = inputs
    requests = [GroupRequest("g", c, b) for c, b in groups]
    sorted_pools = [sorted(p) for p in pools]
    try:
        results = draw_groups(seed=draw_seed(s, e, draw_id), groups=requests, pools=sorted_pools)
    except DrawError:
        return
    earlier: set[str] = set()
    for result, pool in zip(results, sorted_pools, strict=True):
        assert result.pool == pool  # earlier picks still listed
        assert result.pool_hash == spec_pool_hash(pool)
        assert not set(result.picks) & earlier
        earlier.update(result.picks)


def test_overlapping_pools_publish_the_full_pool_but_never_repeat_an_expert():
    pool = codes("ZJ", range(10))
    results = draw_groups(
        seed=b"\x01" * 32,
        groups=[GroupRequest("a", 4, 2), GroupRequest("b", 4, 0)],
        pools=[pool, pool],
    )
    assert results[1].pool == pool
    assert results[1].pool_hash == results[0].pool_hash
    assert len(set(all_picks(results))) == 10


def test_a_pool_smaller_than_count_after_removal_raises():
    pool = codes("ZJ", range(6))
    with pytest.raises(DrawError, match="2 eligible experts left, 3 needed"):
        draw_groups(
            seed=b"\x02" * 32,
            groups=[GroupRequest("a", 3, 1), GroupRequest("b", 3, 0)],
            pools=[pool, pool],
        )


@pytest.mark.parametrize(
    "pool", [["B", "A"], ["A", "A"], ["", "A"], ["A", "B\nC"], "ABC", ["A", 1]]
)
def test_a_pool_not_in_canonical_order_is_refused_not_silently_sorted(pool):
    with pytest.raises(DrawError):
        pool_hash(pool)
    with pytest.raises(DrawError):
        draw_groups(seed=b"k", groups=[GroupRequest("a", 1, 0)], pools=[pool])


@pytest.mark.parametrize("count,backups", [(0, 1), (-1, 0), (1, -1), (True, 0), (1.0, 0)])
def test_a_bad_group_request_is_refused(count, backups):
    with pytest.raises(DrawError):
        draw_groups(seed=b"k", groups=[GroupRequest("a", count, backups)], pools=[["A", "B"]])


def test_group_and_pool_lists_must_have_the_same_length():
    with pytest.raises(DrawError):
        draw_groups(seed=b"k", groups=[GroupRequest("a", 1, 0)], pools=[])


def test_eligible_pool_filters_by_specialty_status_avoidance_and_blacklist_and_sorts():
    experts = [
        Candidate("ZJ9", frozenset({"电气"}), "甲公司"),
        Candidate("ZJ1", frozenset({"电气", "土建"}), "乙公司"),
        Candidate("ZJ5", frozenset({"电气"}), "丙院"),
        Candidate("ZJ3", frozenset({"电气"}), "丁局", status="suspended"),
        Candidate("ZJ7", frozenset({"土建"}), "乙公司"),
        Candidate("ZJ2", frozenset({"电气"}), ""),
        Candidate("ZJ4", frozenset({"电气"}), ""),
        Candidate("ZJ6", frozenset({"电气"}), ""),
    ]
    pool = eligible_pool(
        experts,
        specialty="电气",
        avoid_employers={"甲公司"},
        avoid_codes={"ZJ2"},
        blacklisted_codes={"ZJ4"},
        unavailable_codes={"ZJ6"},
    )
    assert pool == ["ZJ1", "ZJ5"]


# --- R23: uniformity ------------------------------------------------------------

CHI_DRAWS, CHI_POOL, CHI_PICK = 4000, 20, 5


def chi_square_draws():
    pool = codes("ZJ", range(CHI_POOL))
    for i in range(CHI_DRAWS):
        seed = draw_seed(b"chi-square s", i.to_bytes(4, "big"), f"CHI-{i}")
        (result,) = draw_groups(seed=seed, groups=[GroupRequest("a", 3, 2)], pools=[pool])
        yield pool, result.picks


def test_chi_square_helper_matches_known_critical_values():
    assert chi2_sf(3.841459, 1) == pytest.approx(0.05, rel=1e-5)
    assert chi2_sf(43.820, 19) == pytest.approx(0.001, rel=1e-3)
    assert chi2_sf(30.144, 19) == pytest.approx(0.05, rel=1e-3)
    assert chi2_sf(18.307, 10) == pytest.approx(0.05, rel=1e-3)


def test_r23_every_eligible_expert_is_picked_at_a_uniform_rate():
    counts: Counter[str] = Counter()
    for _, picks in chi_square_draws():
        counts.update(picks)
    p = CHI_PICK / CHI_POOL
    expected = CHI_DRAWS * p
    pearson = sum(
        (counts[code] - expected) ** 2 / expected for code in codes("ZJ", range(CHI_POOL))
    )
    # Picking 5 without replacement makes each count Binomial(D, p), with negatively correlated
    # cells; scaled by (N−1)/(N(1−p)) the statistic is chi-square with N−1 degrees of freedom.
    statistic = pearson * (CHI_POOL - 1) / (CHI_POOL * (1 - p))
    assert sum(counts.values()) == CHI_DRAWS * CHI_PICK
    assert chi2_sf(statistic, CHI_POOL - 1) > 0.001, (statistic, counts)


def test_r23_every_pick_position_is_uniform_over_the_pool():
    per_position = [Counter() for _ in range(CHI_PICK)]
    for _, picks in chi_square_draws():
        for position, code in enumerate(picks):
            per_position[position][code] += 1
    expected = CHI_DRAWS / CHI_POOL
    for counter in per_position:  # each position is one multinomial over the pool
        statistic = sum(
            (counter[code] - expected) ** 2 / expected for code in codes("ZJ", range(CHI_POOL))
        )
        assert chi2_sf(statistic, CHI_POOL - 1) > 0.001, (statistic, counter)


def test_the_uniformity_check_does_detect_a_biased_draw():
    # Control: the same statistic on a draw that never picks the last expert must fail.
    rng = random.Random(7)
    pool = codes("ZJ", range(CHI_POOL))
    counts: Counter[str] = Counter()
    for _ in range(CHI_DRAWS):
        counts.update(rng.sample(pool[:-1], CHI_PICK))
    p = CHI_PICK / CHI_POOL
    expected = CHI_DRAWS * p
    pearson = sum((counts[code] - expected) ** 2 / expected for code in pool)
    assert chi2_sf(pearson * (CHI_POOL - 1) / (CHI_POOL * (1 - p)), CHI_POOL - 1) < 0.001


# --- replay ----------------------------------------------------------------------


@PROPERTY
@given(draw_inputs())
def test_every_fresh_draw_replays_clean_after_a_json_round_trip(inputs):
    s, e, draw_id, groups, pools = inputs
    requests = [GroupRequest(f"专业{n}", c, b) for n, (c, b) in enumerate(groups)]
    try:
        audit = make_audit(s, e, draw_id, requests, [sorted(p) for p in pools])
    except DrawError:
        return
    report = draw_replay(json.loads(json.dumps(audit, ensure_ascii=False)))
    assert report.ok, report.mismatches


@pytest.fixture
def audit():
    return vector_audit(VECTOR1)


def test_replay_of_a_genuine_draw_finds_nothing(audit):
    report = draw_replay(audit)
    assert report.ok and bool(report)
    assert report.mismatches == []
    assert [r.picks for r in report.results] == VECTOR1["picks"]


def test_replay_detects_a_changed_e(audit):
    audit["e"] = "00" + audit["e"][2:]
    report = draw_replay(audit)
    assert not report
    assert any("picks" in m for m in report.mismatches)


def test_replay_detects_a_changed_s_through_the_commitment(audit):
    audit["s"] = "00" + audit["s"][2:]
    report = draw_replay(audit)
    assert any(m.startswith("commitment") for m in report.mismatches)


def test_replay_detects_a_changed_pool_even_with_the_same_picks(audit):
    audit["groups"][0]["pool"].remove("ZJ1015")  # an expert quietly left out
    report = draw_replay(audit)
    assert any("group 1" in m and "pool_hash" in m for m in report.mismatches)


def test_replay_detects_a_changed_pool_whose_hash_was_recomputed(audit):
    audit["groups"][0]["pool"].remove("ZJ1015")
    audit["groups"][0]["pool_hash"] = spec_pool_hash(audit["groups"][0]["pool"])
    report = draw_replay(audit)
    assert any("group 1" in m and "picks" in m for m in report.mismatches)


def test_replay_detects_an_unsorted_pool(audit):
    audit["groups"][1]["pool"].reverse()
    report = draw_replay(audit)
    assert any("group 2" in m and "sorted" in m for m in report.mismatches)


def test_replay_detects_a_changed_pick(audit):
    audit["groups"][2]["picks"] = ["ZJ1031"]
    report = draw_replay(audit)
    assert report.mismatches == [
        "group 3 (电气): picks published ['ZJ1031'], replay gives ['ZJ1044']"
    ]


def test_replay_detects_a_primary_swapped_with_a_backup(audit):
    picks = audit["groups"][0]["picks"]
    picks[0], picks[-1] = picks[-1], picks[0]
    assert not draw_replay(audit)


def test_replay_detects_groups_drawn_in_another_order(audit):
    audit["groups"].reverse()
    assert not draw_replay(audit)


def test_replay_reports_a_malformed_audit_instead_of_raising(audit):
    for broken in ({"draw_id": "x"}, {**audit, "s": "not hex"}, {**audit, "groups": "x"}):
        report = draw_replay(broken)
        assert not report and report.mismatches[0].startswith("audit: malformed")
    missing_picks = copy.deepcopy(audit)
    del missing_picks["groups"][0]["picks"]
    assert not draw_replay(missing_picks)


@pytest.mark.parametrize("name", ["vector1", "vector2"])
def test_the_auditor_snippet_in_the_docs_replays_the_vectors_and_catches_a_change(name, tmp_path):
    guide = (Path(__file__).resolve().parents[2] / "docs" / "expert-draw.md").read_text(encoding="utf-8")
    snippet = tmp_path / "replay.py"
    snippet.write_text(guide.split("```python\n")[1].split("```")[0], encoding="utf-8")
    audit = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(audit), encoding="utf-8")
    audit["groups"][0]["picks"].reverse()
    bad.write_text(json.dumps(audit), encoding="utf-8")

    run = [sys.executable, str(snippet)]
    assert subprocess.run([*run, str(good)], capture_output=True).returncode == 0
    assert subprocess.run([*run, str(bad)], capture_output=True).returncode != 0
