"""破窗查看 (break-glass): a supervisor who must see a sealed section early (R14 before the opening, R25 before
the result) writes a reason; the view is logged to the ledger, announced to the other supervisors, printed in
the opening record, and ends after ``BREAK_GLASS_MINUTES``."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import Notification, Section, User
from trading.services.errors import DomainError, PermissionDenied
from trading.supervision.models import BreakGlass


class BreakGlassError(DomainError):
    pass


def break_glass_duration() -> timedelta:
    return timedelta(minutes=settings.BREAK_GLASS_MINUTES)


def reason_min_length() -> int:
    return settings.BREAK_GLASS_REASON_MIN_LENGTH


def _notify_other_supervisors(*, grant: BreakGlass, now: datetime) -> int:
    """One notice per organization of every other active supervisor (a notice goes to an organization)."""
    organizations = (User.objects.filter(role=User.Role.SUPERVISOR, is_active=True, organization__isnull=False)
                     .exclude(pk=grant.user_id).values_list("organization", flat=True).distinct())
    local = timezone.localtime
    body = (f"{grant.user.username} 于 {local(grant.opened_at):%Y-%m-%d %H:%M} 对标段 {grant.section.public_id} "
            f"启用破窗查看，有效至 {local(grant.expires_at):%Y-%m-%d %H:%M}。理由：{grant.reason}")
    notices = [Notification(organization_id=org, section=grant.section, created_at=now,
                            subject=f"破窗查看：{grant.section.public_id}", body=body) for org in organizations]
    Notification.objects.bulk_create(notices)
    return len(notices)


@transaction.atomic
def break_glass_open(*, user, section: Section, reason: str, now: datetime | None = None) -> BreakGlass:
    """Grant this supervisor a time-limited view of this section's sealed parts, on a written reason."""
    now = now or timezone.now()
    if not (getattr(user, "is_authenticated", False) and user.has_role(User.Role.SUPERVISOR)):
        raise PermissionDenied(_("Only a supervisor can use the break-glass."))
    reason = (reason or "").strip()
    if len(reason) < reason_min_length():
        raise BreakGlassError(_("Give a written reason of at least %(n)d characters.") % {"n": reason_min_length()},
                              code="reason_too_short", field="reason")
    grant = BreakGlass.objects.create(section=section, user=user, reason=reason, opened_at=now,
                                      expires_at=now + break_glass_duration())
    ledger_append(action="supervision.break_glass", actor=user, obj=section, now=now,
                  data={"reason": reason, "status": section.status, "expires_at": grant.expires_at.isoformat()})
    _notify_other_supervisors(grant=grant, now=now)
    return grant
