"""Who may act: the small role checks every service of this app starts with."""

from django.utils.translation import gettext_lazy as _

from trading import selectors
from trading.models import Section, User
from trading.services.errors import PermissionDenied


def require_supervisor(user) -> None:
    if not is_supervisor(user):
        raise PermissionDenied(_("Only a supervisor can do this."))


def require_section_agency(user, section: Section) -> None:
    if not is_section_agency(user, section):
        raise PermissionDenied(_("Only the section's agency can do this."))


def is_supervisor(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN)


def is_section_agency(user, section: Section) -> bool:
    return selectors.is_section_agency(user=user, section=section)
