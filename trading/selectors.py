"""Reads, with access control inside, so that no view can forget it."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from trading.models import (
    Clarification,
    DocumentObjection,
    Notification,
    Project,
    Registration,
    Section,
    User,
)
from trading.services.errors import NotFound

PUBLIC_STATUSES = [s for s in Section.Status.values if s != Section.Status.DRAFT]


def sections_public(*, q: str = "", category: str = "", status: str = "", region: str = "") -> QuerySet:
    """Sections anyone may see: everything but drafts."""
    qs = Section.objects.filter(status__in=PUBLIC_STATUSES).select_related("project")
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(project__name__icontains=q) | Q(project__code__icontains=q)
                       | Q(project__owner_name__icontains=q))
    if category:
        qs = qs.filter(project__category=category)
    if status:
        qs = qs.filter(status=status)
    if region:
        qs = qs.filter(project__region__icontains=region)
    return qs.order_by("-published_at", "bid_deadline")


def sections_open_for_bidding(*, now: datetime) -> QuerySet:
    return sections_public(status=Section.Status.PUBLISHED).filter(bid_deadline__gt=now)


def section_visible_to(*, user, section: Section) -> bool:
    if section.status != Section.Status.DRAFT:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return True
    return is_section_agency(user=user, section=section)


def section_get_visible(*, user, public_id: str) -> Section:
    """标段 by its public id, if this user may see it; a draft hidden from the user is not found (NotFound)."""
    section = Section.objects.select_related("project__agency").filter(public_id=public_id).first()
    if section is None or not section_visible_to(user=user, section=section):
        raise NotFound(_("No such section."))
    return section


def section_get_managed(*, user, public_id: str) -> Section:
    """A section of the agency's own projects; to any other user it does not exist (NotFound)."""
    section = section_get_visible(user=user, public_id=public_id)
    if not is_section_agency(user=user, section=section):
        raise NotFound(_("No such section."))
    return section


def is_section_agency(*, user, section: Section) -> bool:
    return (getattr(user, "is_authenticated", False) and user.has_role(User.Role.AGENCY)
            and section.project.agency_id == user.organization_id)


def sections_visible_to(*, user) -> QuerySet:
    qs = Section.objects.select_related("project")
    if getattr(user, "is_authenticated", False) and user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return qs
    if getattr(user, "is_authenticated", False) and user.has_role(User.Role.AGENCY):
        return qs.filter(Q(status__in=PUBLIC_STATUSES) | Q(project__agency=user.organization_id))
    return qs.filter(status__in=PUBLIC_STATUSES)


def projects_of_agency(*, user: User) -> QuerySet:
    return Project.objects.filter(agency=user.organization_id).prefetch_related("sections")


def is_registered(*, user, section: Section) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.BIDDER):
        return False
    return Registration.objects.filter(section=section, organization=user.organization_id).exists()


def registrations_of(*, user: User) -> QuerySet:
    """A bidder sees only its own sign-ups (R14)."""
    return Registration.objects.filter(organization=user.organization_id).select_related("section__project")


def can_download_documents(*, user, section: Section, now: datetime) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return True
    if user.has_role(User.Role.AGENCY):
        return section.project.agency_id == user.organization_id
    return is_registered(user=user, section=section) and section.documents_downloadable(now)


def clarifications_public(*, section: Section) -> QuerySet:
    return Clarification.objects.filter(section=section).prefetch_related("questions")


def questions_visible_to(*, user, section: Section) -> QuerySet:
    """The agency sees the questions but never who asked (R14); a bidder sees its own."""
    qs = section.questions.all()
    if user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return qs
    if user.has_role(User.Role.AGENCY) and section.project.agency_id == user.organization_id:
        return qs
    if user.has_role(User.Role.BIDDER):
        return qs.filter(organization=user.organization_id)
    return qs.none()


def objections_visible_to(*, user, section: Section) -> QuerySet:
    qs = DocumentObjection.objects.filter(section=section)
    if user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return qs
    if user.has_role(User.Role.AGENCY) and section.project.agency_id == user.organization_id:
        return qs
    if user.has_role(User.Role.BIDDER):
        return qs.filter(organization=user.organization_id)
    return qs.none()


def notifications_of(*, user: User) -> QuerySet:
    if user.organization_id is None:
        return Notification.objects.none()
    return Notification.objects.filter(organization=user.organization_id).select_related("section")


def sections_for_supervisor(*, status: str = "") -> QuerySet:
    qs = Section.objects.select_related("project", "project__agency").order_by("bid_deadline")
    return qs.filter(status=status) if status else qs
