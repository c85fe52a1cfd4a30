"""评分汇总: turn the members' scores into a ranking. Pure (no database), so the benchmark runs it as is.

Price score, comprehensive method (综合评估法):
- the benchmark price B = the mean of the valid bids' prices, leaving out the single highest and the
  single lowest price when there are 5 or more valid bids, times the coefficient K (default 1.00);
- a bid's deviation d = |price − B| / B × 100 (in percent);
- price score = max(0, P − d × 1.0) above B, max(0, P − d × 0.5) below B, where P is the price
  criterion's maximum; the per-percent deductions are settings of the evaluation.
A bid's total = the mean over the members of each member's sum of the scored (technical and
commercial) criteria, plus its price score. Everything is Decimal and rounded once, at the end, to
0.01 with ROUND_HALF_UP.

Lowest evaluated price (经评审的最低投标价法): the bids that pass evaluation, by price, lowest first.

Ties, either method: the lower price first, then the earlier receipt time.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

MAX_CANDIDATES = 3  # R26
CENT = Decimal("0.01")
ZERO = Decimal("0")


def money_round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PriceRule:
    coefficient: Decimal = Decimal("1.00")
    above_per_percent: Decimal = Decimal("1.0")
    below_per_percent: Decimal = Decimal("0.5")

    @classmethod
    def from_settings(cls, settings: Mapping) -> "PriceRule":
        defaults = cls()
        return cls(*(Decimal(str(settings.get(name, getattr(defaults, name))))
                     for name in ("coefficient", "above_per_percent", "below_per_percent")))

    def as_dict(self) -> dict:
        return {"coefficient": str(self.coefficient), "above_per_percent": str(self.above_per_percent),
                "below_per_percent": str(self.below_per_percent)}


@dataclass(frozen=True)
class BidInput:
    id: str
    price: Decimal
    received_at: datetime
    rejected: bool = False


@dataclass
class Ranked:
    bid: str
    price: Decimal
    scored: Decimal | None  # mean of the members' technical and commercial sums
    price_score: Decimal | None
    total: Decimal | None
    rank: int = 0


@dataclass
class Outcome:
    method: str
    benchmark: Decimal | None
    ranking: list[Ranked] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @property
    def candidates(self) -> list[Ranked]:
        return self.ranking[:MAX_CANDIDATES]

    @property
    def failed(self) -> bool:
        return not self.ranking


def benchmark_price(prices: Sequence[Decimal], coefficient: Decimal = Decimal("1")) -> Decimal:
    """评标基准价: the mean price, without the highest and lowest from 5 bids on, times K."""
    if not prices:
        raise ValueError("no valid price")
    ordered = sorted(prices)
    if len(ordered) >= 5:
        ordered = ordered[1:-1]
    return sum(ordered, ZERO) / len(ordered) * coefficient


def price_score(price: Decimal, benchmark: Decimal, maximum: Decimal, rule: PriceRule) -> Decimal:
    """P minus the deduction per percent of deviation from B, never below zero (unrounded)."""
    if benchmark <= 0:
        return ZERO
    deviation = abs(price - benchmark) / benchmark * 100
    per_percent = rule.above_per_percent if price > benchmark else rule.below_per_percent
    return max(ZERO, maximum - deviation * per_percent)


def aggregate(*, method: str, criteria: Sequence[Mapping], bids: Sequence[BidInput],
              scores: Mapping[str, Mapping[str, Mapping[int, Decimal]]], rule: PriceRule = PriceRule()) -> Outcome:
    """Rank the bids. scores[member][bid][criterion index] holds the members' scores of scored criteria."""
    valid = [b for b in bids if not b.rejected]
    outcome = Outcome(method=method, benchmark=None, rejected=[b.id for b in bids if b.rejected])
    if not valid:
        return outcome
    received = {b.id: b.received_at for b in valid}
    if method == "lowest_price":
        outcome.ranking = [Ranked(b.id, b.price, None, None, None) for b in valid]
        outcome.ranking.sort(key=lambda r: (r.price, received[r.bid]))
    else:
        outcome.benchmark = benchmark_price([b.price for b in valid], rule.coefficient)
        price_max = sum((Decimal(str(c["max_score"])) for c in criteria if c.get("kind") == "price"), ZERO)
        scored = [i for i, c in enumerate(criteria) if c.get("kind") != "price"]
        members = list(scores)
        for bid in valid:
            sums = [sum((scores[m].get(bid.id, {}).get(i, ZERO) for i in scored), ZERO) for m in members]
            mean = sum(sums, ZERO) / len(members) if members else ZERO
            p_score = price_score(bid.price, outcome.benchmark, price_max, rule) if price_max else ZERO
            outcome.ranking.append(Ranked(bid.id, bid.price, money_round(mean), money_round(p_score),
                                          money_round(mean + p_score)))
        outcome.ranking.sort(key=lambda r: (-r.total, r.price, received[r.bid]))
        outcome.benchmark = money_round(outcome.benchmark)
    for rank, row in enumerate(outcome.ranking, start=1):
        row.rank = rank
    return outcome

