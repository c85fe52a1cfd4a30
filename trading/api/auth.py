"""Bearer tokens for the API (DESIGN.md §11)."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from trading.models import ApiToken
from trading.services.two_factor import staff_2fa_required


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid bearer token header.")
        return token_user(header[1].decode("latin-1"))

    def authenticate_header(self, request):
        return self.keyword


def token_user(raw: str):
    """Look a token up by its SHA-256: the database never compares the secret itself.

    A token ends when its lifetime is over, when it is revoked (deleted), and, while staff must use
    two-factor login, for a staff account that has not set it up.
    """
    token = ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(raw)).first()
    now = timezone.now()
    if token is None or not token.user.is_active or token.is_expired(now):
        raise exceptions.AuthenticationFailed("Invalid or expired token.")
    if staff_2fa_required(token.user) and not token.user.totp_enabled:
        raise exceptions.AuthenticationFailed("Two-factor login must be set up first.")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "trading.api.auth.BearerTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
