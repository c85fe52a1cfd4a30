"""专家确认: answers that do not come through the expert's own account.

- Platform staff (the platform administrator's role, who may see the pool's phone numbers) record a telephone
  confirmation or decline (电话确认). Supervisors follow it in the draw's log on the draw page and in the ledger;
  the agency never sees who was called (R25).
- An invitation left unanswered for EXPERT_CONFIRM_MINUTES is closed by `sweep_expert_confirmations`.
Either way a vacated seat goes to the group's next backup in draw order, then to a supplementary draw.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from experts.models import Draw, Evaluation, Pick
from experts.services.draws import seat_refill
from experts.services.errors import ExpertError
from timestamps.ledger import ledger_append
from trading.models import User
from trading.services.errors import NotFound, PermissionDenied


def can_record_phone(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role(User.Role.ADMIN)


def _locked_pick(pick_id: str) -> Pick:
    pick = (Pick.objects.select_for_update().select_related("draw__section", "expert")
            .filter(public_id=pick_id).first())
    if pick is None:
        raise NotFound(_("No such invitation."))
    return pick


@transaction.atomic
def pick_phone_answer(*, user: User, pick_id: str, confirmed: bool, reason: str = "",
                      now: datetime | None = None) -> Pick:
    """Record what the expert said on the telephone: a confirmation, or a decline with its reason."""
    now = now or timezone.now()
    if not can_record_phone(user):
        raise PermissionDenied(_("Only platform staff record a telephone answer."))
    pick = _locked_pick(pick_id)
    wanted = Pick.Status.CONFIRMED if confirmed else Pick.Status.DECLINED
    if pick.status == wanted:
        return pick  # recorded already
    allowed = (Pick.Status.INVITED,) if confirmed else (Pick.Status.INVITED, Pick.Status.CONFIRMED)
    if pick.status not in allowed:
        raise ExpertError(_("This invitation is no longer open."), code="closed")
    if Evaluation.objects.filter(section=pick.draw.section).exists():
        raise ExpertError(_("The evaluation has started: declare a conflict of interest instead."),
                          code="evaluating")
    reason = (reason or "").strip()[:300]
    if not confirmed and not reason:
        raise ExpertError(_("Give the reason the expert declined."), field="reason")
    pick.status, pick.answered_at, pick.answer_channel, pick.decline_reason = wanted, now, "phone", reason
    pick.save(update_fields=["status", "answered_at", "answer_channel", "decline_reason"])
    ledger_append(action="draw.phone_confirmed" if confirmed else "draw.phone_declined", actor=user,
                  obj=("draw", pick.draw.public_id), now=now,
                  data={"expert": pick.expert.code, "seat": pick.seat, "reason": reason})
    if not confirmed:
        _refill(pick, now=now)
    return pick


def _refill(vacated: Pick, *, now: datetime) -> None:
    """The next backup or a supplementary draw; when the pool has nobody left, the answer still stands, the seat
    stays vacant (it blocks evaluation) and the ledger says why."""
    try:
        with transaction.atomic():
            seat_refill(vacated=vacated, now=now)
    except ExpertError as exc:
        ledger_append(action="draw.refill_failed", actor="system", obj=("draw", vacated.draw.public_id), now=now,
                      data={"seat": vacated.seat, "specialty": vacated.specialty, "reason": str(exc.message)})


def overdue_invitations(*, now: datetime):
    """Seats invited more than EXPERT_CONFIRM_MINUTES ago and still unanswered, before evaluation starts."""
    cutoff = now - timedelta(minutes=settings.EXPERT_CONFIRM_MINUTES)
    return (Pick.objects.filter(status=Pick.Status.INVITED, invited_at__lte=cutoff,
                                draw__status=Draw.Status.COMPLETE, draw__section__evaluation__isnull=True)
            .order_by("invited_at", "pk"))


@transaction.atomic
def pick_expire(*, pick_id: int, now: datetime) -> Pick | None:
    """Close one unanswered invitation and call the next backup; None when it was answered meanwhile."""
    pick = Pick.objects.select_for_update().select_related("draw__section", "expert").get(pk=pick_id)
    cutoff = now - timedelta(minutes=settings.EXPERT_CONFIRM_MINUTES)
    if pick.status != Pick.Status.INVITED or pick.invited_at is None or pick.invited_at > cutoff:
        return None
    if Evaluation.objects.filter(section=pick.draw.section).exists():
        return None
    pick.status, pick.answered_at, pick.answer_channel = Pick.Status.UNANSWERED, now, "timeout"
    pick.save(update_fields=["status", "answered_at", "answer_channel"])
    ledger_append(action="draw.unanswered", actor="system", obj=("draw", pick.draw.public_id), now=now,
                  data={"expert": pick.expert.code, "seat": pick.seat,
                        "minutes": settings.EXPERT_CONFIRM_MINUTES})
    _refill(pick, now=now)
    return pick


def sweep_expert_confirmations(sender=None, *, now: datetime, **kwargs) -> int:
    """periodic_sweep: each overdue invitation goes to the next backup; run twice, the second run does nothing."""
    expired = 0
    for pick_id in list(overdue_invitations(now=now).values_list("pk", flat=True)):
        expired += pick_expire(pick_id=pick_id, now=now) is not None
    return expired
