"""Brute-force limits on every login step, through django-axes (docs/decisions/0022-accounts.md).

Axes counts failures per account and per client IP (``AXES_LOCKOUT_PARAMETERS``). A wrong password is
counted by the ``user_login_failed`` signal that ``authenticate()`` sends; a wrong TOTP or recovery code is
counted by ``login_failure_record``. The login views ask ``login_locked_until`` first, so that a locked
account or IP gets a clear answer with the time to try again, whatever the password.
"""

import math
from datetime import datetime

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.signals import user_login_failed
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import ngettext

from trading.clientip import client_ip


def client_ip_of(request) -> str | None:
    """The same client IP the audit ledger records (X-Forwarded-For only from TRUSTED_PROXIES)."""
    return client_ip(request) or None


class LockoutBackend(AxesStandaloneBackend):
    """Refuses any login of a locked account or IP before the password is even checked.

    Calls without a request come from our own code (the test client, management commands), never from
    the network, so they are not counted.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_locked_until(request, username: str) -> datetime | None:
    """When the account or the client IP may try again, or None if neither is locked."""
    if AxesProxyHandler.is_allowed(request, {"username": username}):
        return None
    cool_off = get_cool_off(request)
    threshold = request.axes_attempt_time - cool_off
    latest = (
        AccessAttempt.objects.filter(attempt_time__gte=threshold)
        .filter(Q(username=username) | Q(ip_address=request.axes_ip_address))
        .aggregate(latest=Max("attempt_time"))["latest"]
    )
    return (latest or request.axes_attempt_time) + cool_off


def login_failure_record(request, username: str) -> None:
    """Count a failed second step (wrong TOTP or recovery code) like a wrong password."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def retry_after_seconds(until: datetime) -> int:
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def lockout_message(until: datetime) -> str:
    minutes = math.ceil(retry_after_seconds(until) / 60)
    message = ngettext(
        "Too many failed logins. Try again in %(minutes)d minute, after %(time)s.",
        "Too many failed logins. Try again in %(minutes)d minutes, after %(time)s.",
        minutes,
    )
    return message % {"minutes": minutes, "time": timezone.localtime(until).strftime("%H:%M")}
