"""Reads of complaints, with the access check inside: the complainant, the agency concerned, supervisors."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from trading.complaints.models import Complaint, SectionSuspension
from trading.models import User
from trading.services.errors import NotFound


def _is_supervisor(user) -> bool:
    return user.is_authenticated and user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN)


def complaints_visible_to(*, user) -> QuerySet[Complaint]:
    """Every complaint this user may read: supervisors all; an organization its own and its sections'."""
    qs = Complaint.objects.select_related("section__project__agency", "complainant")
    if _is_supervisor(user):
        return qs
    if not user.is_authenticated or user.organization_id is None:
        return qs.none()
    if user.has_role(User.Role.BIDDER):
        return qs.filter(complainant_id=user.organization_id)
    if user.has_role(User.Role.AGENCY):
        return qs.filter(section__project__agency_id=user.organization_id)
    return qs.none()


def complaint_get_visible(*, user, public_id: str) -> Complaint:
    """One complaint, or 404 for anybody who may not read it (its existence is not told)."""
    complaint = complaints_visible_to(user=user).filter(public_id=public_id).first()
    if complaint is None:
        raise NotFound(_("No such complaint."))
    return complaint


def complaints_decided_public() -> QuerySet[Complaint]:
    """The decisions published in the portal (R36); the complainant is anonymised by the view."""
    return (Complaint.objects.filter(status=Complaint.Status.DECIDED)
            .select_related("section__project__agency").order_by("-decided_at"))


def complaints_overdue(*, now: datetime) -> QuerySet[Complaint]:
    """Complaints whose running clock (accept or decide, R36) has passed."""
    return Complaint.objects.filter(pause="").filter(
        Q(status=Complaint.Status.RECEIVED, accept_due__lte=now)
        | Q(status=Complaint.Status.ACCEPTED, decision_due__lte=now))


def section_suspension_active(*, section) -> SectionSuspension | None:
    return SectionSuspension.objects.filter(section=section, lifted_at__isnull=True).first()
