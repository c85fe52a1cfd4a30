"""The same transition fired from two processes on PostgreSQL happens exactly once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.postgres


def seed_section(url: str) -> int:
    """Create a published section whose deadline has passed, through a short Django process."""
    code = (
        "import django,os;django.setup();"
        "from tests.factories import published_section;from django.utils import timezone;"
        "from datetime import timedelta;"
        "s=published_section(bid_deadline=timezone.now()-timedelta(seconds=1));print(s.pk)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(url), check=True,
                         capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "trading.config.settings",
            "PLATFORM_VAR_DIR": str(ROOT / "var" / "pgtest")}


def race(url: str, mode: str, section_id: int, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "tests/pg_race.py", mode, str(section_id), str(go)], cwd=ROOT,
                              env=_env(url)) for _ in range(2)]
    time.sleep(2.5)  # both processes have imported Django and are waiting
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=60) == 0


def opening_entries(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM timestamps_ledgerentry WHERE action = 'section.opening'").fetchone()[0]


def test_close_bidding_from_two_processes_happens_exactly_once(pg_url, tmp_path):
    section_id = seed_section(pg_url)
    race(pg_url, "locked", section_id, tmp_path)
    assert opening_entries(pg_url) == 1
    with psycopg.connect(pg_url) as conn:
        status = conn.execute("SELECT status FROM trading_section WHERE id = %s", [section_id]).fetchone()[0]
        bidding_closed = conn.execute(
            "SELECT count(*) FROM timestamps_ledgerentry WHERE action = 'section.bidding_closed'").fetchone()[0]
    assert status == "failed" and bidding_closed == 1  # opened once; no bids, so R07 fails it at once


def test_control_without_the_row_lock_the_transition_happens_twice(pg_url, tmp_path):
    """The same service with its section row lock switched off (tests/pg_race.py unlocked): both run it."""
    section_id = seed_section(pg_url)
    race(pg_url, "unlocked", section_id, tmp_path)
    assert opening_entries(pg_url) == 2
    with psycopg.connect(pg_url) as conn:
        bidding_closed = conn.execute(
            "SELECT count(*) FROM timestamps_ledgerentry WHERE action = 'section.bidding_closed'").fetchone()[0]
    assert bidding_closed == 2


def test_ledger_stays_valid_after_the_race(pg_url, tmp_path):
    section_id = seed_section(pg_url)
    race(pg_url, "locked", section_id, tmp_path)
    out = subprocess.run([sys.executable, "manage.py", "verify_ledger"], cwd=ROOT, env=_env(pg_url),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK" in out.stdout


