"""Login with a second step (TOTP or recovery code), logout, bidder sign-up, 2FA, password and API tokens."""

import time

import pyotp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from trading.lockout import (
    lockout_message,
    login_failure_record,
    login_locked_until,
    retry_after_seconds,
)
from trading.models import User
from trading.services import api_tokens, organizations, two_factor
from trading.services.errors import DomainError
from trading.web.decorators import role_required
from trading.web.errors import add_domain_error
from trading.web.forms import BidderSignupForm, PasswordChangeForm, ReauthForm, TotpForm

PENDING_USER = "login_pending_user"
PENDING_BACKEND = "login_pending_backend"
PENDING_NEXT = "login_pending_next"
PENDING_SINCE = "login_pending_since"
PENDING_ATTEMPTS = "login_pending_attempts"
PENDING_KEYS = (PENDING_USER, PENDING_BACKEND, PENDING_NEXT, PENDING_SINCE, PENDING_ATTEMPTS)
PENDING_SECONDS = 300


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _locked_page(request, template: str, context: dict, until):
    context["locked_message"] = lockout_message(until)
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after_seconds(until))
    return response


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request):
    """Step one: user name and password. Users with two-factor login continue to the code step.

    Failures count per account and per IP (trading/lockout.py); a locked account or IP is told when to retry.
    """
    next_url = request.POST.get("next") or request.GET.get("next", "")
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST":
        username = request.POST.get("username", "")
        until = login_locked_until(request, username)
        if until is None and form.is_valid():
            user = form.get_user()
            if user.totp_enabled:
                _pending_discard(request)
                request.session[PENDING_USER] = user.pk
                request.session[PENDING_BACKEND] = user.backend
                request.session[PENDING_NEXT] = next_url
                request.session[PENDING_SINCE] = int(time.time())
                return redirect("login_verify")
            auth_login(request, user)
            return redirect(_safe_next(request, next_url))
        until = until or login_locked_until(request, username)
        if until is not None:
            blank = AuthenticationForm(request, initial={"username": username})
            return _locked_page(request, "accounts/login.html", {"form": blank, "next": next_url}, until)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def _pending_user(request) -> User | None:
    user_id = request.session.get(PENDING_USER)
    since = request.session.get(PENDING_SINCE, 0)
    if user_id is None or time.time() - since > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=user_id, is_active=True, totp_enabled=True).first()


def _pending_discard(request) -> None:
    for key in PENDING_KEYS:
        request.session.pop(key, None)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_verify(request):
    """Step two: the 6-digit code from the authenticator app, or a recovery code; each works once.

    A pending login allows TOTP_ATTEMPTS_PER_LOGIN wrong codes, then the password is asked again.
    """
    user = _pending_user(request)
    if user is None:
        messages.error(
            request, _("Your login has expired. Enter your user name and password again.")
        )
        return redirect("login")
    form = TotpForm(request.POST or None)
    if request.method == "POST":
        if until := login_locked_until(request, user.username):
            _pending_discard(request)
            messages.error(request, lockout_message(until))
            return redirect("login")
        if form.is_valid():
            if two_factor.second_factor_verify(user=user, code=form.cleaned_data["code"]):
                backend = request.session.get(PENDING_BACKEND)
                next_url = request.session.get(PENDING_NEXT, "")
                _pending_discard(request)
                auth_login(request, user, backend=backend)
                return redirect(_safe_next(request, next_url))
            login_failure_record(request, user.username)
            attempts = request.session.get(PENDING_ATTEMPTS, 0) + 1
            if attempts >= settings.TOTP_ATTEMPTS_PER_LOGIN:
                _pending_discard(request)
                messages.error(
                    request, _("Too many wrong codes. Enter your user name and password again.")
                )
                return redirect("login")
            request.session[PENDING_ATTEMPTS] = attempts
            form.add_error("code", _("The verification code is wrong or has expired."))
    return render(request, "accounts/login_verify.html", {"form": form, "pending": user})


@require_POST
def logout(request):
    auth_logout(request)
    messages.success(request, _("You have logged out."))
    return redirect("home")


@sensitive_post_parameters("password", "password_again")
@csrf_protect
def bidder_signup(request):
    """投标人注册: a bidder company registers itself and its first user."""
    form = BidderSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = organizations.bidder_signup(**form.service_arguments())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your company is registered. Welcome!"))
            return redirect("bidder_workspace")
    return render(
        request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200
    )


def _recovery_codes_page(request, codes: list[str]):
    """Recovery codes are shown once, on the answer to the request that made them."""
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


SECURITY_REAUTH_ACTIONS = ("begin", "disable", "recovery")


@sensitive_post_parameters()  # the prefixed password and code fields of three forms
@csrf_protect
@never_cache
@role_required(*User.STAFF_ROLES)
def security(request):
    """Two-factor login (TOTP) for staff roles: set up or replace the key, recovery codes, switch off.

    Replacing the key, switching it off and new recovery codes need the password and a current code.
    """
    user = request.user
    confirm_form = TotpForm()
    reauth = {action: ReauthForm(prefix=action) for action in SECURITY_REAUTH_ACTIONS}
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "confirm":
        confirm_form = TotpForm(request.POST)
        if confirm_form.is_valid():
            try:
                codes = two_factor.totp_confirm(user=user, code=confirm_form.cleaned_data["code"])
            except DomainError as exc:
                add_domain_error(confirm_form, exc)
            else:
                messages.success(request, _("Two-factor login is on."))
                return _recovery_codes_page(request, codes)
    elif action == "begin" and not user.totp_enabled:
        two_factor.totp_begin(user=user)
        messages.info(request, _("Add the key to your authenticator app, then enter a code to confirm."))
        return redirect("security")
    elif action in SECURITY_REAUTH_ACTIONS:
        form = reauth[action] = ReauthForm(request.POST, prefix=action)
        if form.is_valid():
            secret = {"password": form.cleaned_data["password"], "code": form.cleaned_data["code"]}
            try:
                if action == "begin":
                    two_factor.totp_begin(user=user, **secret)
                    messages.info(
                        request,
                        _("Add the key to your authenticator app, then enter a code to confirm."),
                    )
                    return redirect("security")
                if action == "disable":
                    two_factor.totp_disable(user=user, **secret)
                    messages.success(request, _("Two-factor login is off."))
                    return redirect("security")
                codes = two_factor.recovery_codes_regenerate(user=user, **secret)
                messages.success(request, _("New recovery codes are ready; the old ones no longer work."))
                return _recovery_codes_page(request, codes)
            except DomainError as exc:
                add_domain_error(form, exc)
    context = {
        "form": confirm_form,
        "reauth_begin": reauth["begin"],
        "reauth_disable": reauth["disable"],
        "reauth_recovery": reauth["recovery"],
        "pending": bool(user.totp_pending_secret),
        "required": two_factor.staff_2fa_required(user),
        "recovery_left": two_factor.recovery_codes_left(user=user),
    }
    if user.totp_pending_secret:
        context["secret"] = user.totp_pending_secret
        context["uri"] = pyotp.TOTP(user.totp_pending_secret).provisioning_uri(
            name=user.username, issuer_name=str(settings.PLATFORM_NAME)
        )
    status = 400 if any(f.errors for f in [confirm_form, *reauth.values()]) else 200
    return render(request, "accounts/security.html", context, status=status)


@sensitive_post_parameters("password", "code", "new_password", "new_password_again")
@csrf_protect
@never_cache
@login_required
def password_change(request):
    """Change the password: the old one, a code when two-factor login is on; every API token ends."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.password_change(
                user=request.user,
                old_password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["new_password"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password is changed. Your API tokens no longer work."))
            return redirect("api_tokens")
    return render(
        request, "accounts/password.html", {"form": form}, status=400 if form.errors else 200
    )


@csrf_protect
@never_cache
@login_required
def tokens(request):
    """The user's API tokens that still work (never the token itself), each with a revoke button."""
    if request.method == "POST":
        try:
            api_tokens.api_token_revoke(user=request.user, token_id=int(request.POST.get("token", "0")))
        except (ValueError, DomainError):
            messages.error(request, _("No such token."))
        else:
            messages.success(request, _("The token is revoked."))
        return redirect("api_tokens")
    active = api_tokens.api_tokens_active(user=request.user)
    return render(request, "accounts/tokens.html", {"tokens": active})
