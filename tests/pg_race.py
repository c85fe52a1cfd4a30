"""Run one state transition from a separate process, for the PostgreSQL concurrency tests.

usage: python tests/pg_race.py locked|unlocked <section_pk> <go_file>
Both processes wait for go_file to appear, then fire at the same moment. A 0.3 s pause inside the
transition widens the window in which the other process can interfere. Both modes run the real
lifecycle.section_close_bidding; "unlocked" (the control) first makes the section row lock a no-op in
this process only, so the race the lock prevents shows up.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from trading import signals  # noqa: E402
from trading.models import Section  # noqa: E402
from trading.services import lifecycle  # noqa: E402

PAUSE = 0.3


def without_the_section_lock() -> None:
    """Section.objects.select_for_update() returns the plain queryset: the row lock of the transition is
    gone, while every other lock (the ledger head's) stays."""
    manager = Section.objects
    manager.select_for_update = lambda *args, **kwargs: manager.all()


def main() -> None:
    mode, section_id, go_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    if mode not in {"locked", "unlocked"}:
        sys.exit(__doc__)
    if mode == "unlocked":
        without_the_section_lock()
    # Inside the transition, after the status moved: the window in which a second worker would race.
    signals.section_opening.connect(lambda **kw: time.sleep(PAUSE), weak=False, dispatch_uid="pg_race.pause")
    while not go_file.exists():
        time.sleep(0.005)
    lifecycle.section_close_bidding(section_id=section_id, now=timezone.now())


if __name__ == "__main__":
    main()
