"""Conditions that pass if the client tries again: answered 503 with Retry-After, never 500.

A SQLite write lock held past the busy timeout, a PostgreSQL serialization failure, deadlock or lock
timeout, a dropped database connection, or the cache (Redis) out for a moment. The DRF exception handler
(trading/api/errors.py) and RetryableErrorMiddleware (trading/middleware.py) both ask retry_after().
"""

import logging

from django.db import InterfaceError, OperationalError
from django.db.utils import DatabaseError
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

LOCK_RETRY_SECONDS = 1
OUTAGE_RETRY_SECONDS = 5

# SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available, query_canceled (statement or
# lock timeout), admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections.
_PG_LOCK_STATES = {"40001", "40P01", "55P03", "57014"}
_PG_OUTAGE_STATES = {"57P01", "57P02", "57P03", "53300"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def retry_after(exc: BaseException) -> int | None:
    """Seconds the client should wait before trying again, or None when trying again will not help."""
    if isinstance(exc, DatabaseError):
        return _database_retry_after(exc)
    if _is_cache_outage(exc):
        return OUTAGE_RETRY_SECONDS
    return None


def _database_retry_after(exc: DatabaseError) -> int | None:
    cause = exc.__cause__ or exc
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if state in _PG_LOCK_STATES:
        return LOCK_RETRY_SECONDS
    if state in _PG_OUTAGE_STATES or (state or "").startswith("08"):
        return OUTAGE_RETRY_SECONDS
    if isinstance(exc, OperationalError) and any(text in str(exc).lower() for text in _SQLITE_BUSY):
        return LOCK_RETRY_SECONDS
    if state is None and _is_connection_error(exc):
        return OUTAGE_RETRY_SECONDS
    return None


def _is_connection_error(exc: DatabaseError) -> bool:
    """The server went away or could not be reached (psycopg has no SQLSTATE for these)."""
    if isinstance(exc, InterfaceError):
        return True
    cause = exc.__cause__
    module = type(cause).__module__ if cause is not None else ""
    return isinstance(exc, OperationalError) and module.startswith("psycopg")


def _is_cache_outage(exc: BaseException) -> bool:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # the embedded profile may run without redis-py
        return False
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


def busy_message() -> str:
    return _("The system is busy. Please try again in a moment; nothing was lost.")


def log_retryable(exc: BaseException, seconds: int, path: str) -> None:
    logger.warning("answered 503 (retry after %d s) to %s: %s: %s", seconds, path, type(exc).__name__, exc)
