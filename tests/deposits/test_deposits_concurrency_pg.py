"""Deposits under concurrency on PostgreSQL, from separate processes (each with several connections):
50 copies of one bank notification credit once; 20 refund triggers make one refund instruction. Each has
a control that removes the lock and the constraint and shows the race happening."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.postgres


def _env(url: str, **extra) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "trading.config.settings",
            "PLATFORM_VAR_DIR": str(ROOT / "var" / "pgtest"), **extra}


def seed(url: str, *, paid: bool = False) -> dict:
    out = subprocess.run([sys.executable, "tests/deposit_race.py", "seed"], cwd=ROOT, check=True,
                         env=_env(url, SEED_PAID="1" if paid else "0"), capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def race(url: str, action: str, mode: str, arg: str, tmp_path: Path, *, processes: int, threads: int) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "tests/deposit_race.py", action, mode, arg, str(go), str(threads)],
                              cwd=ROOT, env=_env(url)) for _ in range(processes)]
    time.sleep(4)  # every process has imported Django and is waiting
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0


def sql(url: str, query: str, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


def drop_unique(url: str, table: str, column_sql: str) -> None:
    """The control: remove the unique constraint or index that would otherwise decide the race."""
    for (name,) in sql(url, "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
                       [table]):
        execute(url, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for (name,) in sql(url, "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE 'CREATE UNIQUE%%' "
                            "AND indexdef LIKE %s", [table, f"%{column_sql}%"]):
        execute(url, f'DROP INDEX "{name}"')


def notification_file(info: dict, tmp_path: Path) -> str:
    body = json.dumps({"txn_id": "TXN-RACE-1", "virtual_account": info["virtual_account"], "amount": "200000.00",
                       "currency": "CNY", "payer_account": info["payer_account"], "payer_name": info["payer_name"],
                       "paid_at": "2026-01-05T10:00:00+08:00"}).encode()
    path = tmp_path / "body.json"
    path.write_bytes(body)
    return str(path)


def credits(url: str, account_id: int) -> int:
    return sql(url, "SELECT count(*) FROM trading_moneyentry WHERE account_id = %s AND kind = 'received'",
               [account_id])[0][0]


def test_fifty_concurrent_copies_of_one_notification_credit_exactly_once(pg_url, tmp_path):
    info = seed(pg_url)
    race(pg_url, "notify", "locked", notification_file(info, tmp_path), tmp_path, processes=10, threads=5)
    assert credits(pg_url, info["account_id"]) == 1
    assert sql(pg_url, "SELECT count(*) FROM trading_banktransaction")[0][0] == 1
    assert sql(pg_url, "SELECT status FROM trading_depositaccount WHERE id = %s", [info["account_id"]])[0][0] == "paid"
    assert sql(pg_url, "SELECT count(*) FROM timestamps_ledgerentry WHERE action = 'deposit.payment_received'"
               )[0][0] == 1


def test_control_without_lock_and_constraint_fifty_copies_credit_many_times(pg_url, tmp_path):
    info = seed(pg_url)
    drop_unique(pg_url, "trading_banktransaction", "txn_id")
    race(pg_url, "notify", "unlocked", notification_file(info, tmp_path), tmp_path, processes=10, threads=5)
    assert credits(pg_url, info["account_id"]) > 1


def instructions(url: str, account_id: int) -> int:
    return sql(url, "SELECT count(*) FROM trading_refundinstruction WHERE account_id = %s AND kind = 'deposit_refund'",
               [account_id])[0][0]


def test_twenty_concurrent_refund_triggers_make_exactly_one_instruction(pg_url, tmp_path):
    info = seed(pg_url, paid=True)
    race(pg_url, "refund", "locked", str(info["account_id"]), tmp_path, processes=4, threads=5)
    assert instructions(pg_url, info["account_id"]) == 1
    owed = sql(pg_url, "SELECT sum(amount) FROM trading_moneyentry WHERE account_id = %s AND bucket = 'held'",
               [info["account_id"]])[0][0]
    assert owed == 0  # the deposit left the held bucket once, not twenty times
    assert sql(pg_url, "SELECT status FROM trading_depositaccount WHERE id = %s",
               [info["account_id"]])[0][0] == "refunding"


def test_control_without_lock_and_constraint_refund_triggers_make_several_instructions(pg_url, tmp_path):
    info = seed(pg_url, paid=True)
    drop_unique(pg_url, "trading_refundinstruction", "account_id")
    race(pg_url, "refund", "unlocked", str(info["account_id"]), tmp_path, processes=4, threads=5)
    assert instructions(pg_url, info["account_id"]) > 1


def test_the_ledger_stays_valid_after_the_notification_race(pg_url, tmp_path):
    info = seed(pg_url)
    race(pg_url, "notify", "locked", notification_file(info, tmp_path), tmp_path, processes=5, threads=4)
    out = subprocess.run([sys.executable, "manage.py", "verify_ledger"], cwd=ROOT, env=_env(pg_url),
                         capture_output=True, text=True)
    assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr
