"""Plug the blacklist (R31), collusion signals (R32) and supervision sweeps into the other apps' hook lists.

``register_credit_hooks()`` is called from ``TradingConfig.ready()``; it is idempotent, so calling it again
(from a test fixture, say) never registers a hook twice.
"""

import importlib


def _add(container: list, item) -> None:
    if item not in container:
        container.append(item)


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def register_credit_hooks() -> None:
    from trading import sweeps
    from trading.credit import models as credit  # noqa: F401  (registers the models before the hooks use them)
    from trading.credit.services import blacklist, collusion
    from trading.services import lifecycle, registrations
    from trading.supervision.services import alerts as supervision

    _add(registrations.REGISTRATION_GUARDS, blacklist.registration_guard)
    uploads = _optional("bidding.services.uploads")
    if uploads is not None:
        _add(uploads.BID_GUARDS, blacklist.bid_guard)
    deposits = _optional("trading.deposits.services.deposits")
    for name in ("DEPOSIT_GUARDS", "PAYMENT_GUARDS"):
        if deposits is not None and isinstance(getattr(deposits, name, None), list):
            _add(getattr(deposits, name), blacklist.deposit_guard)
    room = _optional("bidding.room.services")
    checks = getattr(room, "OPENING_CHECKS", None)
    if isinstance(checks, list):
        _add(checks, blacklist.opening_check)
    else:  # until the room calls OPENING_CHECKS: disqualify at the close, before the bids are counted
        _add(lifecycle.ON_CLOSE_BIDDING, blacklist.close_bidding_hook)
    prices_read = getattr(room, "ON_PRICES_READ", None)
    if isinstance(prices_read, list):
        _add(prices_read, collusion.collusion_signals_compute)
    draws = _optional("experts.services.draws")
    exclusions = getattr(draws, "DRAW_EXCLUSIONS", None)
    if isinstance(exclusions, list):
        _add(exclusions, blacklist.draw_exclusion)
    for entry in (("credit_disqualify_barred", supervision.sweep_disqualify_barred),
                  ("collusion_signals", collusion.sweep_collusion_signals),
                  ("supervision_alerts", supervision.sweep_alerts)):
        if entry not in sweeps.SWEEPS:
            sweeps.SWEEPS.append(entry)
