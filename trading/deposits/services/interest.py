"""利息: interest on refunded deposits, counted by calendar day at the platform's demand-deposit rate.

Convention: ACT/360, as Chinese banks quote RMB deposit rates (日利率 = 年利率 / 360). Days run from the
Asia/Shanghai date on which each payment was credited to the date on which the refund is decided
(the first day counts, the last does not). The sum is rounded once, half up, to the fen.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone

CENT = Decimal("0.01")
DAY_BASIS = 360


def money_round(amount: Decimal) -> Decimal:
    """The one rounding helper for money: to the fen, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def annual_rate() -> Decimal:
    return Decimal(str(settings.DEPOSIT_INTEREST_ANNUAL_RATE))


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def interest_days(start: datetime, end: datetime) -> int:
    return max(0, (local_date(end) - local_date(start)).days)


def interest_for(*, principal: Decimal, days: int, rate: Decimal | None = None) -> Decimal:
    rate = annual_rate() if rate is None else rate
    return money_round(principal * rate * days / DAY_BASIS)


def interest_on_receipts(receipts: list[tuple[Decimal, datetime]], *, until: datetime,
                         rate: Decimal | None = None) -> tuple[Decimal, int]:
    """Interest over several credited payments, each from its own date; returns (interest, longest days)."""
    rate = annual_rate() if rate is None else rate
    exact = sum((amount * rate * interest_days(at, until) / DAY_BASIS for amount, at in receipts), Decimal(0))
    days = max((interest_days(at, until) for _amount, at in receipts), default=0)
    return money_round(exact), days
