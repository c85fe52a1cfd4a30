"""Reads of the credit app, with access control inside."""

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.credit.models import CollusionSignal
from trading.credit.services.collusion import AFTER_OPENING, kind_label
from trading.models import Section, User
from trading.services.errors import PermissionDenied
from trading.supervision.selectors import BEFORE_OPENING, break_glass_sections


def _is_committee_member(user, section: Section) -> bool:
    if not user.has_role(User.Role.EXPERT) or section.status not in AFTER_OPENING:
        return False
    try:
        from experts.selectors import member_of
    except ImportError:
        return False
    return member_of(user=user, section=section) is not None


def collusion_signals_visible_to(*, user, section: Section | None = None) -> QuerySet:
    """串标线索 (R17, R32): evidence for supervisors, and for one section's evaluation committee once the opening
    has started. Without a section (every signal on the platform) only supervisors; anyone else PermissionDenied.
    A signal names bidders: before its section's opening it stays hidden (R14) unless this supervisor's
    break-glass for the section is active.
    """
    authenticated = getattr(user, "is_authenticated", False)
    platform = authenticated and user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN)
    if not platform and not (authenticated and section is not None and _is_committee_member(user, section)):
        raise PermissionDenied(_("Only supervisors and the evaluation committee see collusion signals."))
    granted = break_glass_sections(user=user, now=timezone.now())
    qs = (CollusionSignal.objects.select_related("section").prefetch_related("organizations")
          .filter(~Q(section__status__in=BEFORE_OPENING) | Q(section__in=granted)))
    if section is None:
        return qs.order_by("-created_at")
    return qs.filter(section=section).order_by("kind", "created_at")


def signal_as_dict(signal: CollusionSignal) -> dict:
    return {"id": signal.public_id, "kind": signal.kind, "label": kind_label(signal.kind),
            "section": signal.section.public_id,
            "organizations": [{"id": o.public_id, "name": o.name, "credit_code": o.credit_code}
                              for o in signal.organizations.all()],
            "evidence": signal.evidence, "created_at": signal.created_at.isoformat()}
