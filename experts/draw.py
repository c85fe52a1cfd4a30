"""专家抽取: the verifiable random expert draw of DESIGN.md §10.

Pure Python and the standard library only, so that an auditor can run it
without Django. The algorithm is fixed: anyone who holds the published audit
(`s`, `e`, the pools and the picks) must be able to replay a draw and get the
same experts, in the same order.

Interpretations of §10 made here (see docs/expert-draw.md):
- A pool is a list of expert codes in strictly increasing order of Python
  `str` comparison (Unicode code point order, which is also UTF-8 byte order),
  with no empty code, no duplicate and no code containing "\\n". Nothing here
  sorts silently: `pool_hash` and `draw_groups` reject a pool that is not in
  that canonical form, because the hash must describe the exact list that
  the Fisher–Yates ran over. `eligible_pool` produces the canonical form.
- `pool_hash` hashes the UTF-8 encoding of the codes joined by "\\n", with no
  trailing newline (the empty pool hashes the empty string).
- Every `uniform(n)` call takes at least one `u`, even `uniform(1)`, which
  happens in the last Fisher–Yates step when a whole pool is picked.
- "Already picked in an earlier group" means every pick of that group,
  primaries and backups alike.
- A group whose pool, after that removal, holds fewer than `count` experts
  cannot be drawn: `DrawError`. If it holds at least `count` but fewer than
  `count + backups`, the draw picks all of them (m = len(pool)): every
  primary, and as many backups as there are.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

__all__ = [
    "Candidate",
    "DrawError",
    "DrawStream",
    "GroupRequest",
    "GroupResult",
    "ReplayResult",
    "commitment",
    "draw_audit",
    "draw_groups",
    "draw_replay",
    "draw_seed",
    "eligible_pool",
    "pool_hash",
]

_TWO_64 = 1 << 64
_STREAM_TAG = b"DRAW"


class DrawError(ValueError):
    """A draw that cannot be made as requested (the pool is too small, bad input)."""


# --- hashes and seed ---------------------------------------------------------


def pool_hash(codes: Sequence[str]) -> str:
    """Hex SHA-256 of the codes joined by "\\n"; the codes must already be sorted (see module doc)."""
    return _canonical_pool_hash(codes)


def commitment(s: bytes) -> str:
    """Hex SHA-256(s): the commitment C published before the supervisor adds entropy."""
    return hashlib.sha256(s).hexdigest()


def draw_seed(s: bytes, e: bytes, draw_id: str) -> bytes:
    """seed = SHA-256(s ‖ e ‖ draw_id as UTF-8), 32 raw bytes."""
    return hashlib.sha256(s + e + draw_id.encode("utf-8")).digest()


def _canonical_pool_hash(codes: Sequence[str]) -> str:
    """Hash a pool after checking it is canonical: sorted, unique, no empty code, no newline in a code."""
    if isinstance(codes, str):
        raise DrawError("a pool is a list of codes, not one string")
    try:
        joined = "\n".join(codes)
    except TypeError:
        raise DrawError("every expert code must be a string") from None
    if codes and codes[0] == "":
        raise DrawError("an expert code may not be empty")
    if joined.count("\n") != max(len(codes) - 1, 0):
        raise DrawError("an expert code may not contain a newline")
    # Strictly increasing also rules out duplicates.
    if any(map(operator.ge, codes, islice(codes, 1, None))):
        raise DrawError("the pool must be sorted by expert code, with no duplicates")
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


# --- the random stream -------------------------------------------------------


class DrawStream:
    """The draw's random stream: u_i = first 8 bytes (big-endian) of HMAC-SHA256(seed, b"DRAW" ‖ uint64-be(i))."""

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes | bytearray):
            raise TypeError("seed must be bytes")
        self._seed = bytes(seed)
        self.position = 0  # the i of the next u

    def next_u(self) -> int:
        """Return u_i for the current i and move to i + 1."""
        msg = _STREAM_TAG + self.position.to_bytes(8, "big")
        self.position += 1
        return int.from_bytes(hmac.digest(self._seed, msg, "sha256")[:8], "big")

    def uniform(self, n: int) -> int:
        """An exactly uniform integer in [0, n): reject u ≥ floor(2^64 / n)·n, then u mod n."""
        if not 1 <= n <= _TWO_64:
            raise ValueError("uniform(n) needs 1 <= n <= 2**64")
        limit = (_TWO_64 // n) * n
        u = self.next_u()
        while u >= limit:
            u = self.next_u()
        return u % n


# --- the draw ----------------------------------------------------------------


@dataclass
class GroupRequest:
    """One specialty group of a draw request: `count` primaries and up to `backups` backups."""

    specialty: str
    count: int
    backups: int


@dataclass
class GroupResult:
    """A drawn group. `pool`/`pool_hash` are as published (before removing earlier groups' picks)."""

    specialty: str
    count: int
    backups: int
    pool: list[str]
    pool_hash: str
    picks: list[str]  # primaries first, then backups in the order drawn

    @property
    def primaries(self) -> list[str]:
        return self.picks[: self.count]

    @property
    def backup_picks(self) -> list[str]:
        return self.picks[self.count :]


def draw_groups(
    *, seed: bytes, groups: Sequence[GroupRequest], pools: Sequence[Sequence[str]]
) -> list[GroupResult]:
    """Draw every group in request order from one stream (§10); pools[i] is group i's sorted eligible pool."""
    if len(groups) != len(pools):
        raise DrawError(f"{len(groups)} groups but {len(pools)} pools")
    stream = DrawStream(seed)
    taken: set[str] = set()
    results = []
    for number, (group, pool) in enumerate(zip(groups, pools, strict=True), start=1):
        _check_request(number, group)
        if isinstance(pool, str):
            raise DrawError(f"group {number} ({group.specialty}): a pool is a list of codes")
        published = list(pool)
        try:
            published_hash = _canonical_pool_hash(published)
        except DrawError as exc:
            raise DrawError(f"group {number} ({group.specialty}): {exc}") from None
        available = _without(published, taken)
        if len(available) < group.count:
            raise DrawError(
                f"group {number} ({group.specialty}): {len(available)} eligible experts "
                f"left, {group.count} needed"
            )
        picks = _fisher_yates_prefix(
            stream, available, min(group.count + group.backups, len(available))
        )
        taken.update(picks)
        results.append(
            GroupResult(
                specialty=group.specialty,
                count=group.count,
                backups=group.backups,
                pool=published,
                pool_hash=published_hash,
                picks=picks,
            )
        )
    return results


def _check_request(number: int, group: GroupRequest) -> None:
    for name in ("count", "backups"):
        value = getattr(group, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise DrawError(f"group {number}: {name} must be an integer")
    if group.count < 1:
        raise DrawError(f"group {number}: count must be at least 1")
    if group.backups < 0:
        raise DrawError(f"group {number}: backups may not be negative")


def _without(pool: list[str], taken: set[str]) -> list[str]:
    """A copy of the sorted pool without the taken codes; bisect keeps this cheap on 100,000 codes."""
    available = list(pool)
    for code in sorted(taken, reverse=True):
        index = bisect.bisect_left(available, code)
        if index < len(available) and available[index] == code:
            del available[index]
    return available


def _fisher_yates_prefix(stream: DrawStream, a: list[str], m: int) -> list[str]:
    """Partial Fisher–Yates: for k = 0..m−1, j = k + uniform(len − k), swap a[k] and a[j]."""
    size = len(a)
    for k in range(m):
        j = k + stream.uniform(size - k)
        a[k], a[j] = a[j], a[k]
    return a[:m]


# --- the eligible pool -------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Candidate:
    """An expert record as the draw sees it: code, specialties, employer and status."""

    code: str
    specialties: frozenset[str]
    employer: str = ""
    status: str = "active"


def eligible_pool(
    experts: Iterable[Candidate],
    *,
    specialty: str,
    avoid_employers: Collection[str] = (),
    avoid_codes: Collection[str] = (),
    blacklisted_codes: Collection[str] = (),
    unavailable_codes: Collection[str] = (),
    active_statuses: Collection[str] = ("active",),
) -> list[str]:
    """The sorted codes of experts who hold `specialty` and are not avoided (R24), barred (R31) or unavailable.

    Give `experts` in code order (ORDER BY code) where you can: the final sort is then linear.
    """
    excluded, employers, statuses = _exclusions(
        avoid_employers, avoid_codes, blacklisted_codes, unavailable_codes, active_statuses
    )
    codes = [
        expert.code
        for expert in experts
        if specialty in expert.specialties
        and expert.status in statuses
        and expert.code not in excluded
        and expert.employer not in employers
    ]
    codes.sort()
    return codes


def _exclusions(
    avoid_employers: Collection[str],
    avoid_codes: Collection[str],
    blacklisted_codes: Collection[str],
    unavailable_codes: Collection[str],
    active_statuses: Collection[str],
) -> tuple[set[str], set[str], set[str]]:
    """Sets for O(1) look-ups: excluded codes, avoided employers, statuses that may be drawn."""
    excluded = set(avoid_codes)
    excluded.update(blacklisted_codes)
    excluded.update(unavailable_codes)
    return excluded, set(avoid_employers), set(active_statuses)


# --- the published audit and its replay --------------------------------------


def draw_audit(
    *, draw_id: str, s: bytes, e: bytes, results: Sequence[GroupResult]
) -> dict[str, Any]:
    """The audit document of DESIGN.md §11 (`GET /api/v1/draws/<id>/audit`)."""
    return {
        "draw_id": draw_id,
        "commitment": commitment(s),
        "s": s.hex(),
        "e": e.hex(),
        "groups": [
            {
                "specialty": r.specialty,
                "count": r.count,
                "backups": r.backups,
                "pool": list(r.pool),
                "pool_hash": r.pool_hash,
                "picks": list(r.picks),
            }
            for r in results
        ],
    }


@dataclass
class ReplayResult:
    """The outcome of replaying a published draw: true when nothing differs."""

    mismatches: list[str] = field(default_factory=list)
    results: list[GroupResult] = field(default_factory=list)  # the recomputed draw, if it could run

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok


def draw_replay(audit: Mapping[str, Any]) -> ReplayResult:
    """Recompute a published draw (commitment, every pool_hash, every pick) and list what differs."""
    report = ReplayResult()
    try:
        draw_id, s, e, published = _parse_audit(audit)
    except (KeyError, TypeError, ValueError) as exc:
        report.mismatches.append(f"audit: malformed ({exc})")
        return report

    if commitment(s) != str(audit["commitment"]).lower():
        report.mismatches.append(
            f"commitment: published {audit['commitment']}, SHA-256(s) is {commitment(s)}"
        )

    pools_ok = True
    for number, group in enumerate(published, start=1):
        try:
            recomputed_hash = pool_hash(group["pool"])
        except DrawError as exc:
            report.mismatches.append(f"group {number} ({group['specialty']}): pool {exc}")
            pools_ok = False
            continue
        if recomputed_hash != str(group["pool_hash"]).lower():
            report.mismatches.append(
                f"group {number} ({group['specialty']}): pool_hash published "
                f"{group['pool_hash']}, the pool hashes to {recomputed_hash}"
            )
    if not pools_ok:
        report.mismatches.append("picks: not replayed, a published pool is not in canonical order")
        return report

    requests = [GroupRequest(g["specialty"], g["count"], g["backups"]) for g in published]
    try:
        report.results = draw_groups(
            seed=draw_seed(s, e, draw_id), groups=requests, pools=[g["pool"] for g in published]
        )
    except DrawError as exc:
        report.mismatches.append(f"picks: the draw cannot be replayed ({exc})")
        return report

    for number, (group, result) in enumerate(zip(published, report.results, strict=True), start=1):
        if list(group["picks"]) != result.picks:
            report.mismatches.append(
                f"group {number} ({group['specialty']}): picks published {list(group['picks'])}, "
                f"replay gives {result.picks}"
            )
    return report


def _parse_audit(audit: Mapping[str, Any]) -> tuple[str, bytes, bytes, list[dict[str, Any]]]:
    """Check the audit's shape; a KeyError, TypeError or ValueError says what is wrong."""
    draw_id, groups = audit["draw_id"], audit["groups"]
    if not isinstance(draw_id, str) or not isinstance(audit["commitment"], str):
        raise TypeError("draw_id and commitment must be strings")
    if not isinstance(groups, list):
        raise TypeError("groups must be a list")
    for group in groups:
        missing = {"specialty", "count", "backups", "pool", "pool_hash", "picks"} - set(group)
        if missing:
            raise KeyError(f"a group lacks {sorted(missing)}")
        if not isinstance(group["pool"], list) or not isinstance(group["picks"], list):
            raise TypeError("pool and picks must be lists")
        if not isinstance(group["pool_hash"], str):
            raise TypeError("pool_hash must be a string")
    return draw_id, bytes.fromhex(audit["s"]), bytes.fromhex(audit["e"]), groups
