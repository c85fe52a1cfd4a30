"""Every periodic, idempotent transition. Beat (production) and the in-process scheduler
(embedded) call the same function; each step locks and re-checks state in the database."""

import logging

from django.utils import timezone

logger = logging.getLogger(__name__)
# Other apps append (name, callable(now=...)) pairs in their AppConfig.ready().
SWEEPS: list = []


def _builtin():
    from trading.services.lifecycle import sweep_close_bidding

    return [("close_bidding", sweep_close_bidding)]


def run_sweeps() -> dict:
    from trading.health import heartbeat_record

    now = timezone.now()
    results = {}
    for name, step in _builtin() + SWEEPS:
        try:
            results[name] = step(now=now)
        except Exception:  # one failing sweep must not stop the others
            logger.exception("sweep %s failed", name)
            results[name] = "error"
    try:
        heartbeat_record()
    except Exception:  # the cache (Redis) may be down; the sweep's work is already committed
        logger.exception("sweep heartbeat could not be recorded")
    return results
