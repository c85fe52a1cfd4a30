"""The production topology: deploy/local-cluster boots and passes its smoke run; backups restore."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT
from tests.services import PG_URL, require_postgres, require_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.mark.parametrize("store", ["local", "s3"])
def test_local_cluster_boots_and_the_smoke_scenario_passes_through_nginx(store):
    """The whole topology; with --s3 every daphne, the worker and beat share a bucket on moto's S3 server."""
    require_postgres()
    require_redis()
    args = ["--s3"] if store == "s3" else []
    out = subprocess.run(["bash", "deploy/local-cluster", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHON": sys.executable})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    assert "SMOKE PASSED" in log and "LOCAL CLUSTER PASSED" in log
    assert "3 sealed bids submitted and receipted" in log and "signed opening record downloaded" in log
    # R33: through nginx the ledger recorded the client's own address, not nginx's nor a forged one
    assert "one over the room's WebSocket" in log
    assert re.search(r"== ledger: \d+ steps of the smoke run from 127\.0\.0\.2, none from nginx", log)
    if store == "s3":
        assert "file store: bucket gongjiao-cluster" in log
        assert re.search(r"bucket holds [1-9]\d* sealed bids and [1-9]\d* signed records, digests match", log)


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


def test_backup_restores_a_file_store_kept_in_an_s3_bucket(pg_url, tmp_path, moto):
    """With FILE_STORAGE=s3 the bucket is streamed into the same archive and back into an empty bucket."""
    require_postgres()
    source, target_bucket = moto.new_bucket(), moto.new_bucket()
    big = os.urandom(9 * 1024 * 1024)  # more than one multipart part on the way back
    for key, body in (("gj/bids/s1/b1.sbe", b"SBE1 sealed bytes"), ("gj/records/s1/record.pdf", big)):
        moto.client().put_object(Bucket=source, Key=key, Body=body)
    env = {**os.environ, "DATABASE_URL": pg_url, "PYTHON": sys.executable, **moto.env(source, prefix="gj")}
    made = subprocess.run(["bash", "deploy/backup", str(tmp_path / "backups")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    backup_dir = Path(made.stdout.strip().splitlines()[-1])
    target = f"gj_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target}"')
    restored_url = PG_URL.rsplit("/", 1)[0] + "/" + target
    restore_env = {**os.environ, "DATABASE_URL": restored_url, "PYTHON": sys.executable,
                   **moto.env(target_bucket, prefix="restored")}
    try:
        done = subprocess.run(["bash", "deploy/restore", str(backup_dir)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env=restore_env)
        assert done.returncode == 0, done.stderr
        assert moto.keys(target_bucket) == ["restored/bids/s1/b1.sbe", "restored/records/s1/record.pdf"]
        assert moto.get(target_bucket, "restored/records/s1/record.pdf") == big
        assert moto.get(target_bucket, "restored/bids/s1/b1.sbe") == b"SBE1 sealed bytes"
        # Restoring again would mix two stores: refused, and the bucket is unchanged.
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{target}"')
        again = subprocess.run(["bash", "deploy/restore", str(backup_dir)], cwd=ROOT, capture_output=True,
                               text=True, timeout=120, env=restore_env)
        assert again.returncode != 0 and "not empty" in again.stderr
        assert len(moto.keys(target_bucket)) == 2
        with psycopg.connect(restored_url) as conn:  # refused before the database was touched
            assert conn.execute("SELECT to_regclass('public.timestamps_ledgerhead')").fetchone() == (None,)
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
