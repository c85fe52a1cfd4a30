"""Reads of the experts app, with access control inside. Names stay sealed until the result (R25), from every
role: the directory does not map a sealed committee's codes to names, except through a supervisor's break-glass."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from experts.models import Draw, Evaluation, Expert, Pick
from experts.services.access import is_section_agency, is_supervisor
from trading.models import Section, User
from trading.services.errors import NotFound, PermissionDenied
from trading.supervision.selectors import break_glass_sections

# Before the committee's result is determined (评标结果: the candidates are publicized), its names are sealed.
RESULT_PENDING = (Section.Status.DRAFT, Section.Status.PUBLISHED, Section.Status.BIDDING_CLOSED,
                  Section.Status.OPENING, Section.Status.OPENED, Section.Status.EVALUATING)


def _sealed_picks(*, user, now: datetime | None) -> QuerySet:
    """The picks of committees whose result is pending (R25), less the sections under this user's break-glass."""
    granted = break_glass_sections(user=user, now=now or timezone.now())
    return Pick.objects.filter(draw__section__status__in=RESULT_PENDING).exclude(draw__section__in=granted)


def sealed_codes_for(*, user, now: datetime | None = None) -> set[str]:
    """The codes drawn for a committee whose result is pending (R25), unless under this user's break-glass."""
    return set(_sealed_picks(user=user, now=now).values_list("expert__code", flat=True))


def sealed_usernames_for(*, user, now: datetime | None = None) -> set[str]:
    """The accounts of those experts: the names a ledger view must not show yet."""
    return set(_sealed_picks(user=user, now=now).filter(expert__user__isnull=False)
               .values_list("expert__user__username", flat=True))


def expert_lookup(*, user, code: str, now: datetime | None = None) -> Expert:
    """专家库 lookup of one code. A code of a sealed committee is refused (R25), unless break-glass."""
    from experts.services.pool import expert_get

    if not is_supervisor(user):
        raise PermissionDenied(_("Only a supervisor can do this."))
    expert = expert_get(code)
    if expert.code in sealed_codes_for(user=user, now=now):
        raise PermissionDenied(sealed_message(expert.code), code="committee_sealed")
    return expert


def sealed_message(code: str) -> str:
    return str(_("R25: expert %(code)s sits on an evaluation committee whose result is not determined yet; the name "
                 "stays confidential until then. A supervisor may use the section's break-glass.") % {"code": code})


def experts_for_supervisor(*, user, q: str = "", specialty: str = "", status: str = "") -> QuerySet:
    """The pool for supervisors. A sealed expert (R25) is found by its code only, never by name or employer."""
    if not is_supervisor(user):
        return Expert.objects.none()
    qs = Expert.objects.all()
    if q:
        by_name = (Q(name__icontains=q) | Q(employer_name__icontains=q)) & ~Q(code__in=sealed_codes_for(user=user))
        qs = qs.filter(Q(code__icontains=q) | by_name)
    if specialty:
        qs = qs.filter(specialties__icontains=f'"{specialty}"')
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("code")


def draws_visible_to(*, user, status: str = "") -> QuerySet:
    """Supervisors see every draw; an agency only its own sections' draws (as counts, see draw_summary)."""
    qs = Draw.objects.select_related("section__project").order_by("-requested_at")
    if status:
        qs = qs.filter(status=status)
    if is_supervisor(user):
        return qs
    if getattr(user, "is_authenticated", False) and user.has_role(User.Role.AGENCY):
        return qs.filter(section__project__agency=user.organization_id)
    return qs.none()


def draw_summary(draw: Draw, *, user) -> dict:
    """What a draw shows: the agency gets counts and confirmation status only (R25); supervisors get codes."""
    picks = list(draw.picks.select_related("expert"))
    groups = []
    for index, group in enumerate(draw.groups):
        mine = [p for p in picks if p.group == index]
        row = {"specialty": group["specialty"], "count": group["count"], "backups": group["backups"],
               "confirmed": sum(p.status == Pick.Status.CONFIRMED for p in mine),
               "invited": sum(p.status == Pick.Status.INVITED for p in mine),
               "declined": sum(p.status == Pick.Status.DECLINED for p in mine),
               "unanswered": sum(p.status == Pick.Status.UNANSWERED for p in mine),
               "withdrawn": sum(p.status == Pick.Status.WITHDRAWN for p in mine),
               "standby": sum(p.status == Pick.Status.STANDBY for p in mine)}
        if is_supervisor(user):
            row["pool_size"] = len(draw.pools[index])
            row["pool_hash"] = draw.pool_hashes[index]
            row["picks"] = [{"code": p.expert.code, "status": p.status, "primary": p.primary, "seat": p.seat,
                             "status_label": str(p.get_status_display())}
                            for p in sorted(mine, key=lambda p: p.position)]
        groups.append(row)
    return {
        "id": draw.public_id,
        "section": draw.section.public_id,
        "section_title": str(draw.section),
        "status": draw.status,
        "supplement_of": draw.parent.public_id if draw.parent_id else None,
        "commitment": draw.commitment,
        "requested_at": draw.requested_at.isoformat(),
        "drawn_at": draw.drawn_at.isoformat() if draw.drawn_at else None,
        "owner_representatives": draw.owner_representatives,
        "evaluation_starts_at": draw.evaluation_starts_at.isoformat(),
        "evaluation_ends_at": draw.evaluation_ends_at.isoformat(),
        "remote": draw.remote,
        "place": draw.place,
        "groups": groups,
    }


def section_draws_for(*, user, section: Section) -> QuerySet:
    if is_supervisor(user) or is_section_agency(user, section):
        return Draw.objects.filter(section=section).order_by("requested_at")
    return Draw.objects.none()


def invitations_of(*, user) -> QuerySet:
    """An expert's own picks that were ever called (never the standby backups, which it cannot act on)."""
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.EXPERT):
        return Pick.objects.none()
    return (Pick.objects.filter(expert__user=user).exclude(status=Pick.Status.STANDBY)
            .select_related("draw__section__project").order_by("-invited_at"))


def committee(section: Section) -> list[Pick]:
    """The seated members in seat order: invited or confirmed."""
    return list(Pick.objects.filter(draw__section=section, status__in=Pick.SEATED, seat__isnull=False)
                .select_related("expert").order_by("seat"))


def member_of(*, user, section: Section) -> Pick | None:
    """The user's confirmed seat on this section's committee, if any."""
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.EXPERT):
        return None
    return (Pick.objects.filter(draw__section=section, expert__user=user, status=Pick.Status.CONFIRMED,
                                seat__isnull=False).select_related("expert").first())


def evaluation_state_for(*, user, section: Section) -> dict:
    """The evaluation as this user may follow it: a committee member sees anonymous seats (R25), the bids and its
    own scores; supervisors see the same without a seat. Anyone else PermissionDenied; not started NotFound."""
    from experts.services import evaluation

    member = member_of(user=user, section=section)
    if member is None and not is_supervisor(user):
        raise PermissionDenied(_("Only committee members and supervisors follow the evaluation."))
    record = Evaluation.objects.filter(section=section).first()
    if record is None:
        raise NotFound(_("The evaluation has not started."))
    members = committee(section)
    bids = [{"id": b.public_id, "bidder": b.organization.name, "price": str(evaluation.bid_price(b)),
             "received_at": b.received_at.isoformat(),
             "documents": getattr(getattr(b, "evaluation_document", None), "storage_path", "") != ""}
            for b in evaluation.valid_bids(section).select_related("evaluation_document")]
    state = {"section": section.public_id, "status": record.status, "method": section.evaluation_method,
             "criteria": section.criteria, "price_settings": record.price_settings,
             "leader_seat": record.leader.seat if record.leader_id else None,
             "seats": [{"seat": m.seat, "status": m.status, "declared": bool(m.declared_at),
                        "submitted": bool(m.scores_submitted_at), "signed": m.signature_kind or None}
                       for m in members],
             "bids": bids, "result": record.result if record.status != Evaluation.Status.SCORING else None,
             "report": bool(record.report_path)}
    if member is not None:
        state["me"] = {"seat": member.seat, "declared": bool(member.declared_at), "vote": member.leader_vote,
                       "submitted": bool(member.scores_submitted_at), "signed": member.signature_kind or None,
                       "scores": [[s.bid.public_id, s.criterion, str(s.value)]
                                  for s in member.scores.select_related("bid")],
                       "verdicts": [[v.bid.public_id, v.passes, v.reason] for v in member.verdicts.select_related("bid")]}
    return state


def report_readable_by(*, user, section: Section) -> bool:
    """评标报告: the committee, the section's agency and supervisors read it."""
    return (is_supervisor(user) or is_section_agency(user, section)
            or member_of(user=user, section=section) is not None)


DRAW_LOG_ACTIONS = {
    "draw.committed": _("Committed (C published)"),
    "draw.complete": _("Drawn"),
    "draw.confirmed": _("Confirmed in the expert's account"),
    "draw.declined": _("Declined in the expert's account"),
    "draw.phone_confirmed": _("Confirmed by telephone"),
    "draw.phone_declined": _("Declined by telephone"),
    "draw.unanswered": _("No answer in time"),
    "draw.backup_invited": _("Backup invited"),
    "draw.refill_failed": _("No backup and no supplementary draw possible"),
}


def draw_log(*, user, draw: Draw, now: datetime | None = None) -> list[dict]:
    """The ledger entries of a draw and its supplementary draws, for supervisors and platform staff: codes and
    seats only; the account names of a sealed committee's experts are not shown (R25)."""
    from timestamps.models import LedgerEntry

    if not is_supervisor(user):
        return []
    main = draw.parent or draw
    ids = [main.public_id, *main.supplements.values_list("public_id", flat=True)]
    sealed = sealed_usernames_for(user=user, now=now)
    return [{"seq": e.seq, "at": e.at, "draw": e.object_id, "action": str(DRAW_LOG_ACTIONS.get(e.action, e.action)),
             "actor": _("the expert") if e.actor in sealed else e.actor, "expert": e.data.get("expert", ""),
             "seat": e.data.get("seat"), "reason": e.data.get("reason", ""), "replaces": e.data.get("replaces", "")}
            for e in LedgerEntry.objects.filter(object_type="draw", object_id__in=ids).order_by("seq")]


def phone_sheet(*, user, draw: Draw) -> list[Pick]:
    """The invited and confirmed seats of a draw with their phone numbers, for platform staff only (电话确认)."""
    if not (getattr(user, "is_authenticated", False) and user.has_role(User.Role.ADMIN)):
        return []
    return list(draw.picks.filter(status__in=Pick.SEATED).select_related("expert").order_by("seat"))
