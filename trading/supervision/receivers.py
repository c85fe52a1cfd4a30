"""The supervision sweeps, connected to ``periodic_sweep`` (trading/signals.py)."""

from trading.supervision.services import alerts


def sweep_credit_disqualify_barred(sender, *, now, **kwargs):
    return alerts.sweep_disqualify_barred(now=now)


def sweep_supervision_alerts(sender, *, now, **kwargs):
    return alerts.sweep_alerts(now=now)
