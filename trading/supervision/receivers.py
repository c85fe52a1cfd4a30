"""The supervision sweeps, connected to ``periodic_sweep`` (trading/signals.py)."""

from trading.supervision import selectors
from trading.supervision.services import alerts


def sweep_credit_disqualify_barred(sender, *, now, **kwargs):
    return alerts.sweep_disqualify_barred(now=now)


def sweep_supervision_alerts(sender, *, now, **kwargs):
    return alerts.sweep_alerts(now=now)


def opening_record_break_glass(sender, *, section, **kwargs):
    return selectors.break_glass_record_lines(section=section)
