"""The production topology: deploy/local-cluster boots and passes its smoke run; backups restore."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT
from tests.services import PG_URL, require_postgres, require_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_local_cluster_boots_and_the_smoke_scenario_passes_through_nginx():
    require_postgres()
    require_redis()
    out = subprocess.run(["bash", "deploy/local-cluster"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHON": sys.executable})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    assert "SMOKE PASSED" in log and "LOCAL CLUSTER PASSED" in log
    assert "3 sealed bids submitted and receipted" in log and "signed opening record downloaded" in log


def test_backup_restores_the_database_and_the_file_store(pg_url, tmp_path):
    require_postgres()
    files = tmp_path / "files"
    (files / "bids" / "s1").mkdir(parents=True)
    (files / "bids" / "s1" / "b1.sbe").write_bytes(b"SBE1 sealed bytes")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO timestamps_ledgerhead (id, seq, hash) VALUES (1, 7, 'abc')")
    env = {**os.environ, "DATABASE_URL": pg_url, "FILE_STORE_DIR": str(files)}
    made = subprocess.run(["bash", "deploy/backup", str(tmp_path / "backups")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    backup_dir = Path(made.stdout.strip().splitlines()[-1])

    target = f"gj_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target}"')
    restored_url = PG_URL.rsplit("/", 1)[0] + "/" + target
    restored_files = tmp_path / "restored"
    try:
        done = subprocess.run(["bash", "deploy/restore", str(backup_dir)], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "DATABASE_URL": restored_url,
                                                "FILE_STORE_DIR": str(restored_files)})
        assert done.returncode == 0, done.stderr
        with psycopg.connect(restored_url) as conn:
            assert conn.execute("SELECT seq, hash FROM timestamps_ledgerhead").fetchone() == (7, "abc")
        assert (restored_files / "bids" / "s1" / "b1.sbe").read_bytes() == b"SBE1 sealed bytes"
        # A damaged backup is refused before anything is restored.
        (backup_dir / "files.tar").write_bytes(b"damaged")
        refused = subprocess.run(["bash", "deploy/restore", str(backup_dir)], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60, env={**os.environ, "DATABASE_URL": restored_url,
                                                             "FILE_STORE_DIR": str(tmp_path / "other")})
        assert refused.returncode != 0 and not (tmp_path / "other").exists()
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_production_settings_pass_check_deploy(tmp_path):
    key = tmp_path / "master.key"
    key.write_text("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
    env = {**os.environ, "PLATFORM_PROFILE": "production", "DJANGO_SECRET_KEY": "x" * 20 + uuid.uuid4().hex * 2,
           "DATABASE_URL": PG_URL, "REDIS_URL": "redis://127.0.0.1:6379/0", "BANK_WEBHOOK_SECRET": "s",
           "BANK_API_URL": "https://bank.example.com/api", "ALLOWED_HOSTS": "jiaoyi.example.gov.cn", "MASTER_KEY_FILE": str(key), "PLATFORM_VAR_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "no issues" in out.stdout, out.stdout + out.stderr


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("BANK_WEBHOOK_SECRET", "DJANGO_SECRET_KEY")}
    env.update({"PLATFORM_PROFILE": "production", "DATABASE_URL": PG_URL, "REDIS_URL": "redis://127.0.0.1:6379/0",
                "PLATFORM_VAR_DIR": str(tmp_path)})
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and "DJANGO_SECRET_KEY" in out.stderr
