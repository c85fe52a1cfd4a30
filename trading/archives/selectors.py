"""Who may download a section's archive: the section's agency, supervisors and administrators."""

from django.utils.translation import gettext as _

from trading import selectors
from trading.archives.models import SectionArchive
from trading.models import Section, User
from trading.services.errors import NotFound


def may_download_archive(*, user, section: Section) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN) or selectors.is_section_agency(user=user,
                                                                                              section=section)


def archive_get_downloadable(*, user, public_id: str) -> SectionArchive:
    """The section's archive if this user may download it; otherwise, or before it is built, NotFound."""
    section = selectors.section_get_visible(user=user, public_id=public_id)
    archive = SectionArchive.objects.filter(section=section, discarded_at__isnull=True).select_related("section").first()
    if archive is None or not may_download_archive(user=user, section=section):
        raise NotFound(_("No archive for this section."))
    return archive
