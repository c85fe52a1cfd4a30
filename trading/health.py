"""Liveness and readiness for load balancers and orchestrators."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from trading.files import store_check

HEARTBEAT_KEY = "platform:sweep-heartbeat"


def heartbeat_record() -> None:
    """Written by every sweep, so readiness can tell that beat (or the embedded scheduler) is alive."""
    cache.set(HEARTBEAT_KEY, time.time(), timeout=3600)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _redis(url: str) -> str:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    return "ok"


def _beat() -> str:
    last = cache.get(HEARTBEAT_KEY)
    if last is None:
        raise RuntimeError("no sweep has run yet")
    age = time.time() - last
    if age > max(60, 6 * settings.SWEEP_INTERVAL_SECONDS):
        raise RuntimeError(f"last sweep {age:.0f} s ago")
    return f"ok ({age:.0f} s ago)"


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = {"database": _database}
    if settings.REDIS_URL:
        checks["redis"] = lambda: _redis(settings.REDIS_URL)
    if settings.CELERY_BROKER_URL.startswith("redis"):
        checks["broker"] = lambda: _redis(settings.CELERY_BROKER_URL)
    checks["beat"] = _beat
    checks["storage"] = store_check
    results, ok = {}, True
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception as exc:  # report every failing dependency, not just the first
            results[name], ok = f"error: {exc}", False
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503)
