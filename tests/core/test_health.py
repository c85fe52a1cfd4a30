"""Health and readiness endpoints, and the JSON log format."""

import json
import logging

import pytest

from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


def test_healthz_is_always_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_needs_a_recent_sweep(client):
    from django.core.cache import cache

    from trading.health import HEARTBEAT_KEY

    cache.delete(HEARTBEAT_KEY)
    response = client.get("/readyz")
    assert response.status_code == 503 and "no sweep" in response.json()["checks"]["beat"]
    run_sweeps()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["database"] == "ok"


def test_readyz_reports_an_unreachable_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    run_sweeps()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["redis"].startswith("error")


def test_json_log_lines_are_one_object_each():
    from trading.logjson import JsonFormatter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "开标 %s", ("失败",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "开标 失败" and line["level"] == "ERROR"
