"""While REQUIRE_STAFF_2FA is on, a staff user without two-factor login can only set it up (DESIGN.md §12)."""

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# The enrolment page itself, and what a user must still be able to do while on it.
ALLOWED_VIEWS = {"security", "logout", "set_language", "javascript-catalog", "healthz", "readyz"}


class StaffEnrolmentMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.REQUIRE_STAFF_2FA:
            return None
        user = request.user
        if not user.is_authenticated or not user.is_staff_role or user.totp_enabled:
            return None
        if request.resolver_match and request.resolver_match.url_name in ALLOWED_VIEWS:
            return None
        message = _("Set up two-factor login on the account security page first.")
        if request.path.startswith("/api/"):
            return JsonResponse({"error": {"code": "2fa_setup_required", "message": message}}, status=403)
        messages.warning(request, message)
        return redirect("security")
