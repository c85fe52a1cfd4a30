"""好差评: participants rate each stage of a section; a poor rating (≤ 2) opens a follow-up (差评整改)
that a supervisor must close within ``RATING_FOLLOWUP_DAYS`` (5) days."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import Registration, Section, User
from trading.services.errors import Conflict, DomainError, NotFound, PermissionDenied
from trading.services.text import clean_text
from trading.supervision.models import RatingFollowUp, ServiceRating

S, STAGE = Section.Status, ServiceRating.Stage
POOR = 2
ORDER = [S.PUBLISHED, S.BIDDING_CLOSED, S.OPENING, S.OPENED, S.EVALUATING, S.PUBLICIZING, S.AWARDED,
         S.CONTRACTED, S.ARCHIVED]
# The section status from which a stage is over and can be rated.
STAGE_DONE_FROM = {STAGE.REGISTRATION: S.PUBLISHED, STAGE.BIDDING: S.BIDDING_CLOSED, STAGE.OPENING: S.OPENED,
                   STAGE.EVALUATION: S.PUBLICIZING, STAGE.AWARD: S.AWARDED, STAGE.DEPOSIT: S.AWARDED}


def follow_up_days() -> int:
    return int(settings.RATING_FOLLOWUP_DAYS)


class RatingError(DomainError):
    pass


def stage_over(section: Section, stage: str) -> bool:
    if section.status == S.FAILED:  # a failed opening ends the process: what happened can be rated
        return stage in (STAGE.REGISTRATION, STAGE.BIDDING, STAGE.OPENING, STAGE.DEPOSIT)
    if section.status not in ORDER:
        return False
    return ORDER.index(section.status) >= ORDER.index(STAGE_DONE_FROM[stage])


def is_participant(user, section: Section) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(User.Role.AGENCY):
        return section.project.agency_id == user.organization_id
    if user.has_role(User.Role.BIDDER):
        return Registration.objects.filter(section=section, organization=user.organization_id).exists()
    if user.has_role(User.Role.EXPERT):
        try:
            from experts.selectors import member_of
        except ImportError:
            return False
        return member_of(user=user, section=section) is not None
    return False


def require_participant(user, section: Section) -> None:
    if not is_participant(user, section):
        raise PermissionDenied(_("Only a participant of this section can rate its service."))


def stages_open_to(*, user, section: Section) -> list[tuple[str, str]]:
    if not is_participant(user, section):
        return []
    done = set(ServiceRating.objects.filter(section=section, user=user).values_list("stage", flat=True))
    return [(value, label) for value, label in STAGE.choices if stage_over(section, value) and value not in done]


@transaction.atomic
def rating_submit(*, user: User, section: Section, stage: str, score, comment: str = "",
                  now: datetime | None = None) -> ServiceRating:
    now = now or timezone.now()
    require_participant(user, section)
    if stage not in STAGE.values:
        raise RatingError(_("Choose the stage you are rating."), field="stage")
    if not stage_over(section, stage):
        raise RatingError(_("This stage is not over yet."), field="stage", code="stage_not_over")
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise RatingError(_("The score is a whole number from 1 to 5."), field="score")
    comment = clean_text(comment, field="comment", label=_("Comment"), max_length=2000, required=score <= POOR)
    try:
        with transaction.atomic():
            rating = ServiceRating.objects.create(section=section, stage=stage, user=user,
                                                  organization=user.organization, score=score, comment=comment,
                                                  created_at=now)
    except IntegrityError as exc:
        raise Conflict(_("You have already rated this stage."), code="rated") from exc
    if score <= POOR:
        RatingFollowUp.objects.create(rating=rating, due_at=now + timedelta(days=follow_up_days()))
    ledger_append(action="rating.submitted", actor=user, obj=section, now=now,
                  data={"stage": stage, "score": score, "follow_up": score <= POOR})
    return rating


@transaction.atomic
def follow_up_close(*, user: User, follow_up_id: str, resolution: str,
                    now: datetime | None = None) -> RatingFollowUp:
    now = now or timezone.now()
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only a supervisor can close a follow-up."))
    follow_up = RatingFollowUp.objects.select_for_update().filter(public_id=follow_up_id).first()
    if follow_up is None:
        raise NotFound(_("No such follow-up."))
    if follow_up.status == RatingFollowUp.Status.CLOSED:
        raise Conflict(_("This follow-up is already closed."), code="closed")
    follow_up.resolution = clean_text(resolution, field="resolution", label=_("Resolution"), max_length=5000)
    follow_up.status, follow_up.closed_by, follow_up.closed_at = RatingFollowUp.Status.CLOSED, user, now
    follow_up.save(update_fields=["resolution", "status", "closed_by", "closed_at"])
    ledger_append(action="rating.follow_up_closed", actor=user, obj=("trading.ratingfollowup", follow_up.public_id),
                  now=now, data={"rating": follow_up.rating_id})
    return follow_up
