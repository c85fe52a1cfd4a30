"""How the blacklist (R31) and the collusion signals (R32) plug into the extension points (trading/signals.py)."""

from trading.credit.services import blacklist, collusion


def registration_guard(sender, *, organization, section, now, **kwargs) -> None:
    blacklist.registration_guard(organization, section, now)


def bid_guard(sender, *, organization, section, now, **kwargs) -> None:
    blacklist.bid_guard(organization, section, now)


def deposit_payment_guard(sender, *, organization, section, now, **kwargs) -> None:
    blacklist.deposit_guard(organization, section, now)


def opening_bid_check(sender, *, bid, now, **kwargs) -> str | None:
    return blacklist.opening_check(bid=bid, now=now)


def expert_draw_exclusions(sender, *, codes, section, now, **kwargs) -> set[str]:
    return blacklist.draw_exclusion(codes, section, now)


def opening_prices_read(sender, *, section, now, **kwargs) -> None:
    collusion.collusion_signals_compute(section=section, now=now)


def sweep_collusion_signals(sender, *, now, **kwargs):
    return collusion.sweep_collusion_signals(now=now)
