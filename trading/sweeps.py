"""Every periodic, idempotent transition. Beat (production) and the in-process scheduler
(embedded) call the same function; each step locks and re-checks state in the database."""

import logging

from django.utils import timezone

from trading.signals import periodic_sweep

logger = logging.getLogger(__name__)


def sweep_name(receiver) -> str:
    """A sweep's name in the results: its function name without the ``sweep_`` prefix."""
    return getattr(receiver, "__name__", repr(receiver)).removeprefix("sweep_")


def run_sweeps() -> dict:
    from trading.health import heartbeat_record

    now = timezone.now()
    results = {}
    # send_robust: one failing sweep must not stop the others.
    for receiver, result in periodic_sweep.send_robust(sender=None, now=now):
        name = sweep_name(receiver)
        if isinstance(result, Exception):
            logger.error("sweep %s failed", name, exc_info=result)
            result = "error"
        results[name] = result
    try:
        heartbeat_record()
    except Exception:  # the cache (Redis) may be down; the sweep's work is already committed
        logger.exception("sweep heartbeat could not be recorded")
    return results
