"""The 404, 403 and 500 pages speak the user's language, and DEBUG is off unless asked for."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from trading.config.urls import urlpatterns as site_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.test_error_pages")]
ROOT = Path(__file__).resolve().parents[2]


def denied(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("test-denied/", denied), path("test-broken/", broken), *site_urlpatterns]
PAGES = {
    404: ("/no/such/page/", "页面不存在", "Page not found"),
    403: ("/test-denied/", "拒绝访问", "Access denied"),
    500: ("/test-broken/", "系统繁忙", "Something went wrong"),
}


@pytest.mark.parametrize("status", sorted(PAGES))
def test_error_pages_are_in_chinese_by_default_and_english_on_request(client, status):
    url, zh, en = PAGES[status]
    client.raise_request_exception = False

    chinese = client.get(url)
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.status_code == english.status_code == status
    assert zh in chinese.content.decode() and en not in chinese.content.decode()
    assert en in english.content.decode() and zh not in english.content.decode()
    assert '<html lang="en">' in english.content.decode()
    assert "Content-Security-Policy" in chinese and "Content-Security-Policy" in english


def test_a_404_does_not_list_the_url_patterns(client):
    body = client.get("/no/such/page/").content.decode()

    assert "django-admin/" not in body and "URLconf" not in body and "api/v1/" not in body


def test_debug_is_off_without_environment_in_the_embedded_profile(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLATFORM_"))}
    env.update(DJANGO_SETTINGS_MODULE="trading.config.settings", PLATFORM_VAR_DIR=str(tmp_path))
    code = "import django; django.setup(); from django.conf import settings as s; " \
           "print(s.PROFILE, s.DEBUG, sorted(s.ALLOWED_HOSTS))"

    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=True)

    assert result.stdout.split(" ", 2)[:2] == ["embedded", "False"]
    assert "'127.0.0.1'" in result.stdout and "'localhost'" in result.stdout
