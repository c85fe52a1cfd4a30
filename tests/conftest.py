import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    # The live server of the browser tests shares the test database's one in-memory SQLite connection between
    # its threads; the bid page now sends chunks in parallel, and two requests on one connection corrupt its
    # savepoints ("no such savepoint"). A single-threaded server answers them one after the other (and closes
    # each connection, as Django does without threads), which is all the page's parallelism needs here.
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread

    class OneThreadWSGIServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            # LiveServerThread.run() already installs the overridden connections in the serving thread.
            super().__init__(*args, **kwargs)

    LiveServerThread.server_class = OneThreadWSGIServer


TEST_TSA_DIR = ROOT / "var" / "test-tsa"


@pytest.fixture(scope="session", autouse=True)
def _tsa_keys():
    """The test TSA's keys exist before any test asks for a timestamp."""
    from timestamps.docsign import ensure_signing_keys
    from timestamps.pki import ensure_tsa_keys

    ensure_tsa_keys(TEST_TSA_DIR)
    ensure_signing_keys(TEST_TSA_DIR / "signing")


@pytest.fixture(autouse=True)
def _isolated_file_store(settings, tmp_path):
    """Each test gets its own file store and key directories."""
    settings.FILE_STORE_DIR = tmp_path / "files"
    settings.MASTER_KEY_FILE = tmp_path / "keys" / "master.key"
    settings.TSA_DIR = TEST_TSA_DIR
    settings.DEMO_KEYS_DIR = tmp_path / "demo-keys"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def pg_url():
    """A fresh, migrated PostgreSQL database for multi-process tests."""
    from tests.services import new_pg_database

    url, drop = new_pg_database()
    env = {**os.environ, "DATABASE_URL": url, "PLATFORM_VAR_DIR": str(ROOT / "var" / "pgtest")}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    yield url
    drop()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def moto():
    """moto's S3 server, a real HTTP endpoint on loopback, for the whole session."""
    from tests.s3 import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3_store(settings, moto):
    """Point the file store at a fresh bucket (under a key prefix, as a shared bucket would be)."""
    bucket, prefix = moto.new_bucket(), "platform"
    settings.STORAGES = {**settings.STORAGES, "filestore": moto.storage_setting(bucket, prefix)}
    settings.FILE_STORAGE = "s3"
    moto.bucket, moto.prefix = bucket, prefix
    return moto
