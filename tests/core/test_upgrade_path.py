"""The upgrade path: a PostgreSQL database built and used by the code before the capability apps (commit
fee6b2a, config in trading/settings.py, every model in ``trading``) migrates to the current head with every
row intact, and the new code reads it.

The old tree is extracted with ``git archive`` and run with the same interpreter, its own directory on
PYTHONPATH and its own settings module: ``migrate``, ``tsa_init``, ``seed_demo`` (demo centre, a finished
expert draw) and tests/upgrade_seed.py (sealed bids, paid deposits, a refund, a forfeiture, a collusion
signal, a credit record and appeal, a rating, alerts; all of it in the audit ledger). Both runs share one
PLATFORM_VAR_DIR, so the master key, the TSA and the file store are the same before and after.

A snapshot (row count and an md5 of every row, per table) is taken with psycopg before and after the new
``migrate``; the after-checksum covers only the columns that existed before, so a later migration that
adds a column does not trip it. A later migration that moves or rewrites rows on purpose lists its tables
in RESHAPED with the reason, and adds its own check.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT
from tests.services import new_pg_database, unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OLD_COMMIT = "fee6b2a"
OLD_SETTINGS = "trading.settings"
NEW_SETTINGS = "trading.config.settings"

# The models moved out of ``trading`` by 23465d6: new app label -> model -> the table it must keep.
MOVED = {
    "deposits": {"DepositAccount": "trading_depositaccount", "BankTransaction": "trading_banktransaction",
                 "RefundInstruction": "trading_refundinstruction", "MoneyEntry": "trading_moneyentry",
                 "DepositForfeiture": "trading_depositforfeiture"},
    "credit": {"CreditRecord": "trading_creditrecord", "CreditAppeal": "trading_creditappeal",
               "CollusionSignal": "trading_collusionsignal"},
    "supervision": {"DeadlineAlert": "trading_deadlinealert", "SupervisionAlert": "trading_supervisionalert",
                    "ServiceRating": "trading_servicerating", "RatingFollowUp": "trading_ratingfollowup"},
}
# Tables that a migration legitimately adds rows to: only the rows that were there must be unchanged.
GROWS = {"django_migrations", "django_content_type", "auth_permission"}
# Tables whose rows a later migration moves or rewrites on purpose: table -> why (and where it is checked).
RESHAPED: dict[str, str] = {}

# Tables that got a random ``public_id`` filled in for existing rows (no counter a user can see, R14).
PUBLIC_IDS = ("trading_tenderdocument", "trading_question", "trading_documentobjection", "trading_notification",
              "trading_deadlinealert", "trading_supervisionalert", "trading_servicerating", "trading_ratingfollowup",
              "trading_creditappeal", "trading_depositforfeiture", "bidding_openingobjection",
              "experts_publicityobjection")


def _env(url: str, var_dir: Path, settings: str, pythonpath: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PLATFORM_PROFILE", "SQLITE_PATH", "FILE_STORE_DIR", "MASTER_KEY_FILE",
                        "TSA_DIR", "FILE_STORAGE", "REDIS_URL"}}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE=settings, PLATFORM_VAR_DIR=str(var_dir),
               PYTHONDONTWRITEBYTECODE="1")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def _run(args: list[str], *, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _ok(out: subprocess.CompletedProcess, what: str) -> str:
    assert out.returncode == 0, f"{what} failed (exit {out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    return out.stdout


def old_tree(dest: Path) -> Path:
    """The tree of OLD_COMMIT, extracted with git archive; fails under REQUIRE_SERVICES=1 if it is missing."""
    git = shutil.which("git")
    found = git and subprocess.run([git, "cat-file", "-e", f"{OLD_COMMIT}^{{commit}}"], cwd=ROOT,
                                   capture_output=True).returncode == 0
    if not found:
        unavailable(f"commit {OLD_COMMIT} (the pre-capability-apps tree; run in a full clone of main)")
    archive = subprocess.run([git, "archive", "--format=tar", OLD_COMMIT], cwd=ROOT, capture_output=True,
                             check=True)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    assert (dest / OLD_SETTINGS.replace(".", "/")).with_suffix(".py").exists()
    shutil.copy(Path(__file__).with_name("upgrade_seed.py"), dest / "upgrade_seed.py")
    return dest


# --- the snapshot ---------------------------------------------------------------------------------

def _tables(conn) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]


def _columns(conn, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
        "ORDER BY ordinal_position", [table])]


def _checksum(conn, table: str, columns: list[str], max_id=None) -> tuple[int, str | None]:
    cols = ", ".join(f'"{c}"' for c in columns)
    order = '"id"' if "id" in columns else "row_to_json(t)::text"
    where = f'WHERE "id" <= {int(max_id)}' if max_id is not None else ""
    return tuple(conn.execute(
        f'SELECT count(*), md5(string_agg(row_to_json(t)::text, \',\' ORDER BY {order})) '
        f'FROM (SELECT {cols} FROM "{table}" {where}) t').fetchone())


def snapshot(url: str) -> dict:
    """table -> {columns, count, md5, max_id}, every table of the public schema."""
    result = {}
    with psycopg.connect(url) as conn:
        for table in _tables(conn):
            columns = _columns(conn, table)
            count, digest = _checksum(conn, table, columns)
            max_id = conn.execute(f'SELECT max("id") FROM "{table}"').fetchone()[0] if "id" in columns else None
            result[table] = {"columns": columns, "count": count, "md5": digest, "max_id": max_id}
    return result


def compare(url: str, before: dict) -> tuple[list[str], dict]:
    """Every table of ``before`` against the database now; returns the problems and the tables now."""
    problems = []
    with psycopg.connect(url) as conn:
        now_tables = set(_tables(conn))
        for table, old in before.items():
            if table in RESHAPED:
                continue
            if table not in now_tables:
                problems.append(f"{table}: dropped or renamed by the upgrade ({old['count']} rows before)")
                continue
            missing = set(old["columns"]) - set(_columns(conn, table))
            if missing:
                problems.append(f"{table}: columns {sorted(missing)} gone")
                continue
            if table in GROWS:
                count, digest = _checksum(conn, table, old["columns"], max_id=old["max_id"] or 0)
            else:
                count, digest = _checksum(conn, table, old["columns"])
            if count != old["count"]:
                problems.append(f"{table}: {old['count']} rows before, {count} after")
            elif digest != old["md5"]:
                problems.append(f"{table}: same {count} rows but their content changed")
    return problems, {t: None for t in now_tables}


ORM_READ = """
import json
from django.apps import apps
moved = json.loads({moved!r})
out = {{}}
for label, models in moved.items():
    for name in models:
        model = apps.get_model(label, name)
        rows = list(model.objects.order_by("pk"))
        for row in rows:  # every foreign key resolves through the new app's model state
            for field in model._meta.concrete_fields:
                if field.is_relation:
                    getattr(row, field.name)
        out[f"{{label}}.{{name}}"] = {{"table": model._meta.db_table, "app_label": model._meta.app_label,
                                      "ids": [r.pk for r in rows]}}
print("ORM-READ " + json.dumps(out))
"""


def test_a_database_from_before_the_capability_apps_upgrades_with_every_row_intact(tmp_path):
    started = time.monotonic()
    old = old_tree(tmp_path / "old")
    url, drop = new_pg_database()
    var_dir = tmp_path / "var"
    old_env = _env(url, var_dir, OLD_SETTINGS, old)
    new_env = _env(url, var_dir, NEW_SETTINGS, None)
    try:
        # 1. The old code builds and uses the database.
        _ok(_run(["manage.py", "migrate", "--noinput"], cwd=old, env=old_env), "old migrate")
        _ok(_run(["manage.py", "tsa_init"], cwd=old, env=old_env), "old tsa_init")
        _ok(_run(["manage.py", "seed_demo", "--json"], cwd=old, env=old_env), "old seed_demo")
        seeded = json.loads(_ok(_run(["upgrade_seed.py"], cwd=old, env=old_env), "old upgrade_seed")
                            .strip().splitlines()[-1])
        _ok(_run(["manage.py", "verify_ledger"], cwd=old, env=old_env), "old verify_ledger")
        before = snapshot(url)
        for table in ("trading_depositaccount", "trading_banktransaction", "trading_refundinstruction",
                      "trading_moneyentry", "trading_depositforfeiture", "trading_creditrecord",
                      "trading_creditappeal", "trading_collusionsignal", "trading_collusionsignal_organizations",
                      "trading_deadlinealert", "trading_supervisionalert", "trading_servicerating",
                      "trading_ratingfollowup", "bidding_bid", "experts_draw", "experts_pick",
                      "timestamps_ledgerentry", "timestamps_ledgeranchor"):
            assert before[table]["count"] > 0, f"the old seed left {table} empty: nothing to carry over"
        assert len(seeded["bids"]) == 4
        old_done = time.monotonic()

        # 2. The new code migrates the same database to the current head.
        migrated = _ok(_run(["manage.py", "migrate", "--noinput"], cwd=ROOT, env=new_env), "new migrate")
        assert "trading.0005_move_models_to_capability_apps... OK" in migrated, migrated
        for label in MOVED:
            assert f"{label}.0001_initial... OK" in migrated, migrated
        _ok(_run(["manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT, env=new_env),
            "makemigrations --check (the models and the migrations disagree)")
        problems, now_tables = compare(url, before)
        assert not problems, "the upgrade changed rows:\n" + "\n".join(problems)

        # 3. The new ORM reads the moved models, from their old tables, under the new labels.
        moved = json.dumps({label: list(models) for label, models in MOVED.items()})
        out = _ok(_run(["manage.py", "shell", "-c", ORM_READ.format(moved=moved)], cwd=ROOT, env=new_env),
                  "reading the moved models with the new ORM")
        read = json.loads(out.split("ORM-READ ", 1)[1])
        with psycopg.connect(url) as conn:
            for label, models in MOVED.items():
                for name, table in models.items():
                    got = read[f"{label}.{name}"]
                    assert (got["app_label"], got["table"]) == (label, table)
                    ids = [r[0] for r in conn.execute(f'SELECT id FROM "{table}" ORDER BY id')]
                    assert got["ids"] == ids, f"{label}.{name} reads {got['ids']}, the table holds {ids}"
            content_types = set(conn.execute("SELECT app_label, model FROM django_content_type").fetchall())
        expected = {(label, name.lower()) for label, models in MOVED.items() for name in models}
        assert expected <= content_types, f"content types missing: {sorted(expected - content_types)}"

        # 3b. Rows from before the random public ids (R14) each got their own, none of them a counter.
        with psycopg.connect(url) as conn:
            for table in PUBLIC_IDS:
                count, distinct, numeric = conn.execute(
                    f'SELECT count(*), count(DISTINCT public_id), count(*) FILTER (WHERE public_id ~ \'^[0-9]*$\') '
                    f'FROM "{table}"').fetchone()
                assert count == distinct and numeric == 0, f"{table}: {count} rows, {distinct} public ids"

        # 4. The audit ledger (hash chain and TSA anchors) still verifies with the new code.
        verified = _ok(_run(["manage.py", "verify_ledger"], cwd=ROOT, env=new_env), "new verify_ledger")
        assert verified.startswith("OK"), verified
        print(f"upgrade path: old build+seed {old_done - started:.1f}s, upgrade+checks "
              f"{time.monotonic() - old_done:.1f}s, {len(before)} tables, "
              f"{sum(t['count'] for t in before.values())} rows")
    finally:
        drop()
