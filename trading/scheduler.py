"""The embedded profile's in-process scheduler: a daemon thread that runs the same sweeps as beat."""

import logging
import os
import sys
import threading

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = threading.Event()
_stop = threading.Event()


def _loop() -> None:
    from trading.sweeps import run_sweeps

    while not _stop.wait(settings.SWEEP_INTERVAL_SECONDS):
        try:
            close_old_connections()
            run_sweeps()
        except Exception:
            logger.exception("embedded scheduler sweep failed")
        finally:
            close_old_connections()


def _serving() -> bool:
    argv = " ".join(sys.argv)
    return os.environ.get("EMBEDDED_SCHEDULER_FORCE") == "1" or any(
        word in argv for word in ("daphne", "runserver", "run_platform"))


def start_if_enabled() -> None:
    if not settings.EMBEDDED_SCHEDULER or not _serving() or _started.is_set():
        return
    _started.set()
    threading.Thread(target=_loop, name="embedded-scheduler", daemon=True).start()
