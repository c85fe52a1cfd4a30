"""Benchmark of the expert draw (experts/draw.py) on a pool of 100,000 experts.

Run: python bench/draw.py [--runs 200]

One draw is what the draw service does: build each group's eligible pool with
`eligible_pool` (5% of experts avoided through their employer, 50 avoided by
name, 1% blacklisted, 0.5% unavailable) and run `draw_groups` for 3 groups of
5 + 2 backups, which also checks and hashes each published pool. Scenarios:
- realistic: each expert holds 1-4 of 12 specialties (pools of ~20,000);
- worst case: every expert holds all three requested specialties (pools of ~93,000);
each with experts in random order (the sort is paid in full) and in code order,
as the service loads them (ORDER BY code). The raw limits, timed in the same
run, are the same number of bare HMAC-SHA256 calls and a plain `random.sample`
of the same size from the same pool.
"""

from __future__ import annotations

import argparse
import hmac
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experts.draw import (  # noqa: E402 - the path above makes the project importable
    Candidate,
    GroupRequest,
    draw_groups,
    draw_seed,
    eligible_pool,
)

EXPERTS = 100_000
EMPLOYERS = 2_000
TARGET_MS = 100.0
REQUESTED = ["土建", "电气", "造价"]
OTHER_SPECIALTIES = ["给排水", "暖通", "市政", "园林", "水利", "公路", "信息化", "医疗设备", "法律"]
GROUPS = [GroupRequest(specialty, 5, 2) for specialty in REQUESTED]


def population(
    rng: random.Random, *, everyone_qualifies: bool, code_order: bool
) -> list[Candidate]:
    """100,000 experts: realistic specialties or all three requested ones; random or code order."""
    numbers = rng.sample(range(10**8), EXPERTS)
    if code_order:
        numbers.sort()  # objects are then also laid out in code order, as a query would make them
    specialties = REQUESTED + OTHER_SPECIALTIES
    experts = []
    for n in numbers:
        held = (
            frozenset(REQUESTED)
            if everyone_qualifies
            else frozenset(rng.sample(specialties, rng.randint(1, 4)))
        )
        experts.append(Candidate(f"ZJ{n:08d}", held, f"单位{rng.randrange(EMPLOYERS):04d}"))
    return experts


def exclusions(rng: random.Random, experts: list[Candidate]) -> dict[str, set[str]]:
    all_codes = [x.code for x in experts]
    return {
        "avoid_employers": {f"单位{n:04d}" for n in rng.sample(range(EMPLOYERS), EMPLOYERS // 20)},
        "avoid_codes": set(rng.sample(all_codes, 50)),  # named relatives / interests (R24)
        "blacklisted_codes": set(rng.sample(all_codes, EXPERTS // 100)),  # R31
        "unavailable_codes": set(rng.sample(all_codes, EXPERTS // 200)),
    }


def one_draw(experts: list[Candidate], excluded: dict[str, set[str]], run: int) -> int:
    """What the draw service does for one draw; returns the number of picks (= u values used)."""
    pools = [eligible_pool(experts, specialty=group.specialty, **excluded) for group in GROUPS]
    seed = draw_seed(b"s" * 32, run.to_bytes(16, "big"), f"DRW-BENCH-{run}")
    results = draw_groups(seed=seed, groups=GROUPS, pools=pools)
    return sum(len(result.picks) for result in results)


Samples = tuple[list[float], list[float]]  # wall ms, CPU ms


def timed(fn: Callable[[int], object], runs: int) -> Samples:
    wall, cpu = [], []
    for run in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(run)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    return wall, cpu


def p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def scenario(
    name: str, *, everyone_qualifies: bool, code_order: bool, runs: int
) -> list[tuple[str, Samples]]:
    rng = random.Random(20250610)
    experts = population(rng, everyone_qualifies=everyone_qualifies, code_order=code_order)
    excluded = exclusions(rng, experts)
    pools = [eligible_pool(experts, specialty=group.specialty, **excluded) for group in GROUPS]
    picks = one_draw(experts, excluded, 0)  # a rejection in uniform() has odds ~n/2^64: ignored
    seed = bytes(32)
    messages = [b"DRAW" + i.to_bytes(8, "big") for i in range(picks)]
    sample_rng = random.Random(1)

    def pools_only(_: int) -> None:
        for group in GROUPS:
            eligible_pool(experts, specialty=group.specialty, **excluded)

    def bare_hmac(_: int) -> None:
        for msg in messages:
            hmac.digest(seed, msg, "sha256")

    return [
        (
            f"{name}: FULL DRAW, pools of {len(pools[0]):,}",
            timed(lambda r: one_draw(experts, excluded, r), runs),
        ),
        ("  of which eligible_pool x3 (filter + sort)", timed(pools_only, runs)),
        (
            "  of which draw_groups (check, hash, pick)",
            timed(
                lambda r: draw_groups(seed=r.to_bytes(32, "big"), groups=GROUPS, pools=pools), runs
            ),
        ),
        (f"  raw limit: {picks} bare HMAC-SHA256 calls", timed(bare_hmac, runs)),
        (
            f"  raw limit: random.sample({picks}) of {len(pools[0]):,}",
            timed(lambda r: sample_rng.sample(pools[0], picks), runs),
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = max(parser.parse_args().runs, 200)

    rows = []
    for name, everyone_qualifies, code_order in [
        ("realistic, random order", False, False),
        ("realistic, code order", False, True),
        ("worst case, random order", True, False),
        ("worst case, code order", True, True),
    ]:
        rows += scenario(
            name, everyone_qualifies=everyone_qualifies, code_order=code_order, runs=runs
        )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Expert draw: {EXPERTS:,} experts, 3 groups of 5+2, {runs} runs, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f}"
    )
    print()
    header = ("measurement", "wall p50", "wall p99", "CPU p50", "CPU p99")
    print(f"| {header[0]:<52} | " + " | ".join(f"{h:>9}" for h in header[1:]) + " |")
    print(f"|{'-' * 54}|" + "|".join("-" * 10 + ":" for _ in header[1:]) + "|")
    verdicts = []
    for label, (wall, cpu) in rows:
        numbers = [*p50_p99(wall), *p50_p99(cpu)]
        print(f"| {label:<52} | " + " | ".join(f"{n:>9.3f}" for n in numbers) + " |")
        if "FULL DRAW" in label:
            verdicts.append((label.split(":")[0], numbers[1], numbers[3]))
    print("(milliseconds)")
    print()
    # The verdict uses CPU time: the draw is single-threaded and does no I/O, so on a dedicated
    # server its wall time is its CPU time. On a shared machine, wall time also counts the time
    # the process sat descheduled behind other tenants, which is not the draw's cost.
    failed = False
    for name, wall_p99, cpu_p99 in verdicts:
        verdict = "PASS" if cpu_p99 < TARGET_MS else "FAIL"
        failed = failed or verdict == "FAIL"
        print(
            f"{verdict}: {name}: CPU p99 {cpu_p99:.1f} ms against the {TARGET_MS:.0f} ms target "
            f"(wall p99 {wall_p99:.1f} ms)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
