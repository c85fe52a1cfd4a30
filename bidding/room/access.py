"""Who is who in a room: the host (the section's agency), supervisors, registered bidders, and the public."""

from bidding.room.events import BIDDER, HOST, PUBLIC, SUPERVISOR
from trading.models import Registration, Section, User


def room_role(user, section: Section) -> str:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return PUBLIC
    if user.role in (User.Role.SUPERVISOR, User.Role.ADMIN):
        return SUPERVISOR
    if user.role == User.Role.AGENCY and section.project.agency_id == user.organization_id:
        return HOST
    if user.role == User.Role.BIDDER and Registration.objects.filter(
            section=section, organization=user.organization_id).exists():
        return BIDDER
    return PUBLIC
