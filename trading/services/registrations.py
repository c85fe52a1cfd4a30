"""报名: bidders sign up for a section. Who signed up is secret until the opening (R14)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading import signals
from trading.models import Registration, Section, User
from trading.services.errors import Conflict, PermissionDenied, SectionError


def require_bidder(user: User) -> None:
    if not user.has_role(User.Role.BIDDER) or user.organization is None:
        raise PermissionDenied(_("Only a bidder can do this."))


def require_registered(*, user: User, section: Section) -> Registration:
    require_bidder(user)
    registration = Registration.objects.filter(section=section, organization=user.organization).first()
    if registration is None:
        raise PermissionDenied(_("Sign up for this section first."), code="not_registered")
    return registration


@transaction.atomic
def registration_create(*, user: User, section_id: int, now: datetime | None = None) -> Registration:
    now = now or timezone.now()
    require_bidder(user)
    section = Section.objects.select_for_update().get(pk=section_id)
    if not section.accepts_bids(now):
        raise SectionError(_("Sign-up is closed for this section."), code="closed")
    signals.registration_guard.send(sender=Registration, organization=user.organization, section=section, now=now)
    if Registration.objects.filter(section=section, organization=user.organization).exists():
        raise Conflict(_("Your organization has already signed up for this section."), code="registered")
    try:
        with transaction.atomic():
            registration = Registration.objects.create(section=section, organization=user.organization,
                                                       registered_by=user, registered_at=now)
    except IntegrityError as exc:
        raise Conflict(_("Your organization has already signed up for this section."),
                       code="registered") from exc
    # The ledger names the organization: the ledger is for supervisors, never shown to the agency.
    ledger_append(action="registration.created", actor=user, obj=section, now=now,
                  data={"organization": user.organization.credit_code})
    signals.registration_created.send(sender=Registration, registration=registration, now=now)
    return registration
