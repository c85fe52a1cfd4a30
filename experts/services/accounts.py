"""专家账号激活: inviting a pool expert to open an account, and the one-time activation link.

The link carries a signed token naming the expert's code and the moment of its latest invitation. It expires
after EXPERT_ACTIVATION_HOURS; it works once (an expert with an account cannot activate again), and a newer
invitation voids the older links.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from experts.models import Expert
from experts.notify import expert_notify
from experts.services.access import require_supervisor
from experts.services.errors import ExpertError
from timestamps.ledger import ledger_append
from trading.models import User
from trading.services.errors import NotFound
from trading.services.organizations import user_create

SALT = "experts.activation"


def activation_token(expert: Expert) -> str:
    return signing.dumps({"c": expert.code, "i": expert.account_invited_at.isoformat()}, salt=SALT)


@transaction.atomic
def expert_account_invite(*, user: User, code: str, activation_url, now: datetime | None = None) -> Expert:
    """Send a pool expert the link that opens its account; `activation_url(token)` makes the absolute link."""
    now = now or timezone.now()
    require_supervisor(user)  # supervisors and platform administrators keep the pool
    expert = Expert.objects.select_for_update().filter(code=code).first()
    if expert is None:
        raise NotFound(_("No such expert."))
    if expert.user_id:
        raise ExpertError(_("Expert %(c)s already has an account.") % {"c": expert.code}, code="has_account")
    if expert.status != Expert.Status.ACTIVE:
        raise ExpertError(_("Only an active expert of the pool can be invited."), code="inactive")
    expert.account_invited_at = now
    expert.save(update_fields=["account_invited_at"])
    link = activation_url(activation_token(expert))
    expert_notify(expert=expert, subject=_("Open your expert account"),
                  body=_("Open your account on the trading platform (valid %(h)d hours, once): %(link)s")
                  % {"h": settings.EXPERT_ACTIVATION_HOURS, "link": link})
    ledger_append(action="expert.account_invited", actor=user, obj=("expert", expert.code), now=now,
                  data={"channel": settings.EXPERT_NOTIFIER})
    return expert


def _expert_of(token: str, now: datetime) -> Expert:
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise ExpertError(_("This activation link is not valid."), code="bad_token") from None
    expert = Expert.objects.select_for_update().filter(code=payload.get("c")).first()
    if expert is None or expert.account_invited_at is None:
        raise ExpertError(_("This activation link is not valid."), code="bad_token")
    if expert.user_id:
        raise ExpertError(_("This activation link has already been used."), code="used")
    if payload.get("i") != expert.account_invited_at.isoformat():
        raise ExpertError(_("A newer invitation replaced this link; use the latest one."), code="superseded")
    if now > expert.account_invited_at + timedelta(hours=settings.EXPERT_ACTIVATION_HOURS):
        raise ExpertError(_("This activation link has expired; ask for a new invitation."), code="expired")
    return expert


@transaction.atomic
def expert_token_check(*, token: str, now: datetime | None = None) -> Expert:
    """The expert an activation link is for, or an ExpertError saying why it cannot be used."""
    return _expert_of(token, now or timezone.now())


@transaction.atomic
def expert_account_activate(*, token: str, password: str, now: datetime | None = None) -> User:
    """Open the account: a new user with the role expert, named after the expert code, linked to the expert."""
    now = now or timezone.now()
    expert = _expert_of(token, now)
    user = user_create(username=expert.code.lower(), password=password, role=User.Role.EXPERT, organization=None,
                       full_name=expert.name, phone=expert.phone, actor="system")
    expert.user = user
    expert.save(update_fields=["user"])
    ledger_append(action="expert.account_activated", actor=user, obj=("expert", expert.code), now=now,
                  data={"username": user.username})
    return user
