"""Two-factor login (双因素认证): TOTP keys, one-time recovery codes, and re-authentication for risky changes."""

import secrets
import time

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import RecoveryCode, User
from trading.services.api_tokens import api_tokens_revoke_all
from trading.services.errors import DomainError

TOTP_STEP_SECONDS = 30
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _wrong_code() -> DomainError:
    return DomainError(_("The verification code is wrong or has expired."), field="code")


def _totp_step_matching(secret: str, code: str, now: float) -> int | None:
    """The time step (one before, now, one after) whose code is ``code``."""
    code = (code or "").strip()
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now) // TOTP_STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


def _totp_step_claim(*, user: User, step: int) -> bool:
    """Record ``step`` as used; False if it, or a later one, was used already (a replayed code)."""
    claimed = (
        User.objects.filter(pk=user.pk)
        .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
        .update(totp_last_step=step)
    )
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


def totp_verify(*, user: User, code: str, now: float | None = None) -> bool:
    """A current code from the user's enabled key, accepted once only."""
    if not user.totp_enabled:
        return False
    step = _totp_step_matching(user.totp_secret, code, time.time() if now is None else now)
    return step is not None and _totp_step_claim(user=user, step=step)


def recovery_code_use(*, user: User, code: str) -> bool:
    """Spend one unused recovery code; each works once."""
    if not user.totp_enabled or not RecoveryCode.normalize(code):
        return False
    used = RecoveryCode.objects.filter(
        user=user, digest=RecoveryCode.digest_of(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    if used:
        ledger_append(action="user.recovery_code_used", actor=user, obj=("trading.user", user.username))
    return bool(used)


def second_factor_verify(*, user: User, code: str) -> bool:
    """A TOTP code or, failing that, a recovery code."""
    return totp_verify(user=user, code=code) or recovery_code_use(user=user, code=code)


def reauthenticate(*, user: User, password: str, code: str = "") -> None:
    """Ask again for the password, and for a second factor when 2FA is on, before a risky change."""
    if not user.check_password(password or ""):
        raise DomainError(_("The password is wrong."), field="password")
    if user.totp_enabled and not second_factor_verify(user=user, code=code):
        raise _wrong_code()


def _recovery_code_new() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(16))  # about 79 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def recovery_codes_replace(*, user: User) -> list[str]:
    """Issue a fresh set of recovery codes (shown once) and void the old ones."""
    codes = [_recovery_code_new() for _ in range(settings.RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, digest=RecoveryCode.digest_of(code)) for code in codes
    )
    return codes


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def recovery_codes_regenerate(*, user: User, password: str, code: str) -> list[str]:
    reauthenticate(user=user, password=password, code=code)
    codes = recovery_codes_replace(user=user)
    ledger_append(action="user.recovery_codes_regenerated", actor=user, obj=("trading.user", user.username))
    return codes


def totp_begin(*, user: User, password: str = "", code: str = "") -> str:
    """Give the user a fresh key to scan; it replaces the current one only once a code from it is confirmed.

    Replacing a key that is on needs the password and a current code, like switching it off.
    """
    if not user.is_staff_role:
        raise DomainError(_("Two-factor login is for staff roles."))
    if user.totp_enabled:
        reauthenticate(user=user, password=password, code=code)
    user.totp_pending_secret = pyotp.random_base32()
    user.save(update_fields=["totp_pending_secret"])
    return user.totp_pending_secret


@transaction.atomic
def totp_confirm(*, user: User, code: str, now: float | None = None) -> list[str]:
    """Switch on (or move to) the pending key; returns the new recovery codes.

    Every API token issued so far is revoked: it was issued without the second factor.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    step = _totp_step_matching(user.totp_pending_secret, code, time.time() if now is None else now)
    if step is None:
        raise _wrong_code()
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, ""
    user.totp_enabled, user.totp_last_step = True, step
    user.save(update_fields=["totp_secret", "totp_pending_secret", "totp_enabled", "totp_last_step"])
    codes = recovery_codes_replace(user=user)
    api_tokens_revoke_all(user=user, reason="totp_enabled")
    ledger_append(action="user.totp_enabled", actor=user, obj=("trading.user", user.username))
    return codes


def staff_2fa_required(user: User) -> bool:
    return settings.REQUIRE_STAFF_2FA and user.is_staff_role


@transaction.atomic
def totp_disable(*, user: User, password: str, code: str) -> None:
    if staff_2fa_required(user):
        raise DomainError(_("Your role must keep two-factor login on."))
    if not user.totp_enabled:
        return
    reauthenticate(user=user, password=password, code=code)
    user.totp_secret = user.totp_pending_secret = ""
    user.totp_enabled, user.totp_last_step = False, None
    user.save(update_fields=["totp_secret", "totp_pending_secret", "totp_enabled", "totp_last_step"])
    RecoveryCode.objects.filter(user=user).delete()
    ledger_append(action="user.totp_disabled", actor=user, obj=("trading.user", user.username))


@transaction.atomic
def password_change(*, user: User, old_password: str, code: str, new_password: str) -> None:
    """Change the password after asking for the old one (and a code with 2FA); every API token ends."""
    reauthenticate(user=user, password=old_password, code=code)
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="new_password") from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    api_tokens_revoke_all(user=user, reason="password_changed")
    ledger_append(action="user.password_changed", actor=user, obj=("trading.user", user.username))
