"""Login with an optional second step (TOTP), logout, bidder self-registration, and 2FA setup."""

import time

import pyotp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from trading.models import User
from trading.services import organizations
from trading.services.errors import DomainError
from trading.web.decorators import role_required
from trading.web.errors import add_domain_error
from trading.web.forms import BidderSignupForm, TotpForm

PENDING_USER = "login_pending_user"
PENDING_BACKEND = "login_pending_backend"
PENDING_NEXT = "login_pending_next"
PENDING_SINCE = "login_pending_since"
PENDING_SECONDS = 300


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request):
    """Step one: user name and password. Staff with two-factor login continue to the code step."""
    next_url = request.POST.get("next") or request.GET.get("next", "")
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if user.totp_enabled:
            request.session[PENDING_USER] = user.pk
            request.session[PENDING_BACKEND] = user.backend
            request.session[PENDING_NEXT] = next_url
            request.session[PENDING_SINCE] = int(time.time())
            return redirect("login_verify")
        auth_login(request, user)
        return redirect(_safe_next(request, next_url))
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def _pending_user(request) -> User | None:
    user_id = request.session.get(PENDING_USER)
    since = request.session.get(PENDING_SINCE, 0)
    if user_id is None or time.time() - since > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_verify(request):
    """Step two: the 6-digit code from the authenticator app."""
    user = _pending_user(request)
    if user is None:
        messages.error(
            request, _("Your login has expired. Enter your user name and password again.")
        )
        return redirect("login")
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if organizations.totp_matches(user, form.cleaned_data["code"]):
            backend = request.session.get(PENDING_BACKEND)
            next_url = request.session.get(PENDING_NEXT, "")
            auth_login(request, user, backend=backend)
            return redirect(_safe_next(request, next_url))
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


@csrf_protect
@role_required(*User.STAFF_ROLES)
def security(request):
    """Two-factor login (TOTP) for staff roles: begin shows a fresh secret, confirm switches it on."""
    user = request.user
    form = TotpForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "begin":
                organizations.totp_begin(user=user)
                messages.info(
                    request,
                    _("Add the key to your authenticator app, then enter a code to confirm."),
                )
                return redirect("security")
            if action == "confirm":
                form = TotpForm(request.POST)
                if form.is_valid():
                    organizations.totp_confirm(user=user, code=form.cleaned_data["code"])
                    messages.success(request, _("Two-factor login is on."))
                    return redirect("security")
        except DomainError as exc:
            add_domain_error(form, exc)
    pending = bool(user.totp_secret) and not user.totp_enabled
    context = {"form": form, "pending": pending}
    if pending:
        context["secret"] = user.totp_secret
        context["uri"] = pyotp.TOTP(user.totp_secret).provisioning_uri(
            name=user.username, issuer_name=str(settings.PLATFORM_NAME)
        )
    return render(request, "accounts/security.html", context)
