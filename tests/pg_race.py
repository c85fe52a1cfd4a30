"""Run one state transition from a separate process, for the PostgreSQL concurrency tests.

usage: python tests/pg_race.py locked|unlocked <section_pk> <go_file>
Both processes wait for go_file to appear, then fire at the same moment. A 0.3 s pause inside the
transition widens the window in which the other process can interfere.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from timestamps.ledger import ledger_append  # noqa: E402
from trading import signals  # noqa: E402
from trading.models import Section  # noqa: E402
from trading.services import lifecycle  # noqa: E402

PAUSE = 0.3


def unlocked_close(section_id: int) -> None:
    """The same transition written without select_for_update: the control that shows the race."""
    with transaction.atomic():
        section = Section.objects.get(pk=section_id)
        if section.status != Section.Status.PUBLISHED:
            return
        time.sleep(PAUSE)
        Section.objects.filter(pk=section_id).update(status=Section.Status.OPENING)
        ledger_append(action="section.opening", actor="system", obj=section, data={"from": "published"})


def main() -> None:
    mode, section_id, go_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    # Inside the locked transition, after the status moved: the window in which a second worker would race.
    signals.section_opening.connect(lambda **kw: time.sleep(PAUSE), weak=False, dispatch_uid="pg_race.pause")
    while not go_file.exists():
        time.sleep(0.005)
    if mode == "locked":
        lifecycle.section_close_bidding(section_id=section_id, now=timezone.now())
    else:
        unlocked_close(section_id)


if __name__ == "__main__":
    main()
