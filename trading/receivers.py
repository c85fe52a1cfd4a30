"""The core's own receivers of its extension points (trading/signals.py), and the timestamps library's."""

from timestamps.anchors import sweep_anchor
from trading.services import lifecycle


def sweep_close_bidding(sender, *, now, **kwargs):
    return lifecycle.sweep_close_bidding(now=now)


def sweep_ledger_anchor(sender, *, now, **kwargs):
    """timestamps is a library below the core, so the core wires its sweep."""
    return sweep_anchor(now=now)
