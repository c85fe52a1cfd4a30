"""Who may act: the small role checks every service of this app starts with."""

from django.utils.translation import gettext_lazy as _

from trading.models import Section, User
from trading.services.errors import PermissionDenied


def require_supervisor(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only a supervisor can do this."))


def require_section_agency(user, section: Section) -> None:
    if (not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.AGENCY)
            or section.project.agency_id != user.organization_id):
        raise PermissionDenied(_("Only the section's agency can do this."))


def is_supervisor(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN)


def is_section_agency(user, section: Section) -> bool:
    return (getattr(user, "is_authenticated", False) and user.has_role(User.Role.AGENCY)
            and section.project.agency_id == user.organization_id)
