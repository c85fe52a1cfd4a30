"""How deposits (投标保证金) plug into the extension points (trading/signals.py)."""

from trading.deposits.services import deposits, refunds


def registration_created(sender, *, registration, now, **kwargs) -> None:
    deposits.deposit_account_open(registration=registration, now=now)


def bid_withdrawn(sender, *, bid, now, **kwargs) -> None:
    deposits.on_withdraw(bid=bid, now=now)


def opening_deposit_check(sender, *, bid, **kwargs) -> dict | None:
    return deposits.deposit_check(bid)


def opening_bid_outcome(sender, *, bid, now, **kwargs) -> None:
    deposits.on_bid_outcome(bid=bid, now=now)


def contract_recorded(sender, *, section, signed_at, now, **kwargs) -> None:
    """R18: the contract is signed, so every deposit goes back with interest."""
    refunds.deposit_refunds_on_contract(section=section, signed_at=signed_at, now=now)


def sweep_deposit_terminations(sender, *, now, **kwargs):
    return refunds.sweep_terminated_sections(now=now)


def sweep_deposit_refund_outbox(sender, *, now, **kwargs):
    return refunds.sweep_refund_outbox(now=now)


def sweep_deposit_refund_overdue(sender, *, now, **kwargs):
    return refunds.refund_overdue_alerts(now=now)
