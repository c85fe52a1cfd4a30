"""A condition that passes on a second try is a 503 with Retry-After in the user's language, never a 500.

Each condition is made for real: a SQLite write lock held by another connection past a short busy
timeout, a PostgreSQL row lock past lock_timeout, a deadlock, a database nobody listens on, and a Redis
cache on a closed port.
"""

import socket
import sqlite3
import threading
import time

import psycopg
import pytest
from django.core.cache.backends.redis import RedisCache
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as PgWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper
from django.test import Client

from tests.core import retry_urls
from tests.services import new_pg_database

pytestmark = pytest.mark.urls("tests.core.retry_urls")


@pytest.fixture
def work(django_db_blocker):
    """The work runs on connections of its own, never the test database."""
    with django_db_blocker.unblock():
        yield retry_urls.WORK
    retry_urls.WORK.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def client_fails_loudly():
    """A client that returns 500s as responses, as daphne would, instead of raising them into the test."""
    return Client(raise_request_exception=False)


def sqlite_wrapper(path, timeout: float) -> SqliteWrapper:
    return SqliteWrapper({**connections["default"].settings_dict, "NAME": str(path),
                          "OPTIONS": {"timeout": timeout, "transaction_mode": "IMMEDIATE"}}, alias="busy")


@pytest.fixture
def locked_sqlite(tmp_path):
    """A SQLite file whose write lock another connection holds; Django's connection waits 50 ms for it."""
    path = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE bid (id INTEGER PRIMARY KEY)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO bid DEFAULT VALUES")
    django_side = sqlite_wrapper(path, timeout=0.05)
    yield django_side
    django_side.close()
    holder.execute("ROLLBACK")
    holder.close()


def sqlite_insert(wrapper) -> None:
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO bid DEFAULT VALUES")


def assert_retry_later(response, *, seconds: str = "1"):
    assert response.status_code == 503
    assert response["Retry-After"] == seconds
    assert response.json()["error"]["code"] == "retry_later"


def test_api_answers_503_with_retry_after_when_sqlite_is_locked(work, locked_sqlite, client_fails_loudly):
    work["run"] = lambda: sqlite_insert(locked_sqlite)
    response = client_fails_loudly.post("/api/v1/test-work", HTTP_ACCEPT_LANGUAGE="en")
    assert_retry_later(response)
    assert response.json()["error"]["message"].startswith("The system is busy")


def test_the_busy_message_is_chinese_by_default(work, locked_sqlite, client_fails_loudly):
    work["run"] = lambda: sqlite_insert(locked_sqlite)
    response = client_fails_loudly.post("/api/v1/test-work", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert_retry_later(response)
    assert response.json()["error"]["message"].startswith("系统繁忙")


def test_a_page_answers_503_with_retry_after_when_sqlite_is_locked(work, locked_sqlite, client_fails_loudly):
    work["run"] = lambda: sqlite_insert(locked_sqlite)
    response = client_fails_loudly.get("/test-work", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "The system is busy" in response.content.decode()


def test_the_same_write_succeeds_once_the_lock_is_released(work, tmp_path, client_fails_loudly):
    """Control: the 503 is about the lock, not the write."""
    path = tmp_path / "free.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE bid (id INTEGER PRIMARY KEY)").connection.close()
    wrapper = sqlite_wrapper(path, timeout=0.05)
    work["run"] = lambda: sqlite_insert(wrapper)
    assert client_fails_loudly.post("/api/v1/test-work").status_code == 200
    wrapper.close()


def test_a_database_error_that_a_retry_cannot_fix_is_still_a_500(work, tmp_path, client_fails_loudly):
    wrapper = sqlite_wrapper(tmp_path / "empty.sqlite3", timeout=0.05)
    work["run"] = lambda: sqlite_insert(wrapper)  # no such table: OperationalError, but not a busy one
    response = client_fails_loudly.post("/api/v1/test-work")
    assert response.status_code == 500
    assert "Retry-After" not in response
    wrapper.close()


@pytest.fixture
def pg_database():
    url, drop = new_pg_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bid (id int PRIMARY KEY)")
        conn.execute("INSERT INTO bid VALUES (1), (2)")
    yield url
    drop()


def pg_wrapper(url: str, port: int | None = None) -> PgWrapper:
    from trading.config.settings import _database_from_url

    settings_dict = {**connections["default"].settings_dict, **_database_from_url(url)}
    if port is not None:
        settings_dict["PORT"] = str(port)
    return PgWrapper(settings_dict, alias="pg_busy")


@pytest.mark.postgres
def test_a_postgres_lock_timeout_is_a_503(work, pg_database, client_fails_loudly):
    holder = psycopg.connect(pg_database)
    holder.execute("SELECT * FROM bid WHERE id = 1 FOR UPDATE")
    wrapper = pg_wrapper(pg_database)

    def update():
        with wrapper.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
            cursor.execute("UPDATE bid SET id = id WHERE id = 1")

    work["run"] = update
    try:
        assert_retry_later(client_fails_loudly.post("/api/v1/test-work"))
    finally:
        wrapper.close()
        holder.close()


@pytest.mark.postgres
def test_a_postgres_deadlock_is_a_503(work, pg_database, client_fails_loudly):
    other = psycopg.connect(pg_database)
    other.execute("SET deadlock_timeout = '10s'")  # our side checks first, so it is the one aborted
    other.execute("UPDATE bid SET id = id WHERE id = 2")
    wrapper = pg_wrapper(pg_database)
    holds_row_1 = threading.Event()

    def other_side():
        holds_row_1.wait(10)
        try:
            other.execute("UPDATE bid SET id = id WHERE id = 1")
        finally:
            other.rollback()

    def other_waits_for_row_1():
        with psycopg.connect(pg_database, autocommit=True) as watcher:
            for _ in range(200):
                if watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                    return
                time.sleep(0.025)

    def deadlock():
        wrapper.set_autocommit(False)
        with wrapper.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '50ms'")
            cursor.execute("UPDATE bid SET id = id WHERE id = 1")
            holds_row_1.set()
            other_waits_for_row_1()
            cursor.execute("UPDATE bid SET id = id WHERE id = 2")

    thread = threading.Thread(target=other_side)
    thread.start()
    work["run"] = deadlock
    try:
        response = client_fails_loudly.post("/api/v1/test-work")
    finally:
        wrapper.rollback()
        wrapper.close()
        holds_row_1.set()
        thread.join(10)
        other.close()
    assert_retry_later(response)


@pytest.mark.postgres
def test_a_database_nobody_listens_on_is_a_503(work, client_fails_loudly):
    wrapper = pg_wrapper("postgres://postgres@127.0.0.1/none", port=free_port())
    work["run"] = lambda: wrapper.ensure_connection()
    assert_retry_later(client_fails_loudly.post("/api/v1/test-work"), seconds="5")


def test_the_cache_down_for_a_moment_is_a_503(work, client_fails_loudly):
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    work["run"] = lambda: cache.get("section-status")
    assert_retry_later(client_fails_loudly.post("/api/v1/test-work"), seconds="5")
    response = client_fails_loudly.get("/test-work", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "retry_later"
