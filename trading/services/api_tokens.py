"""API bearer tokens: issue, list, revoke (DESIGN.md §11)."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import ApiToken, User
from trading.services.errors import NotFound


def api_token_issue(*, user: User) -> str:
    """A new token; the raw value is returned once and only its SHA-256 is kept."""
    return ApiToken.issue(user)


def api_tokens_active(*, user: User, now=None) -> QuerySet[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = now or timezone.now()
    return ApiToken.objects.filter(user=user, created_at__gt=now - ApiToken.lifetime()).order_by("-created_at")


def api_token_revoke(*, user: User, token_id: int) -> None:
    deleted, _kinds = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound(_("No such token."))
    ledger_append(action="user.api_token_revoked", actor=user, obj=("trading.user", user.username))


def api_tokens_revoke_all(*, user: User, reason: str) -> int:
    """End every token of the user, for example when the password changes or 2FA is switched on."""
    deleted, _kinds = ApiToken.objects.filter(user=user).delete()
    if deleted:
        ledger_append(action="user.api_tokens_revoked", actor=user, obj=("trading.user", user.username),
                      data={"reason": reason, "count": deleted})
    return deleted
