"""黑名单 and 信用档案: penalty records (R30), their enforcement everywhere a party acts (R31), and appeals (申诉).

A record is in force from ``starts_on`` to ``ends_on`` inclusive, in Beijing dates: the day after ``ends_on``
the party may act again. Every refusal names the record (its id and basis) so the party knows why.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.credit.models import CreditAppeal, CreditRecord
from trading.models import Notification, Organization, Section, User
from trading.services.errors import Conflict, DomainError, NotFound, PermissionDenied
from trading.services.projects import _clean_file_name, _store_stream
from trading.services.text import clean_text

B, M, K = CreditRecord.Basis, CreditRecord.Measure, CreditRecord.PartyKind
# R30 ([R] 67, 68): the bar's length in whole years, (minimum, maximum). Local rules may change them.
BAR_YEARS = {B.COLLUSION: (1, 2), B.BRIBERY: (1, 2), B.FRAUD: (1, 3)}
# For experts and agencies the regulation leaves the length to the authority; a local cap keeps it sane.
OTHER_MAX_YEARS = 3
ALLOWED = {  # basis -> (party kinds, measures)
    B.COLLUSION: ({K.BIDDER}, {M.BAR}),
    B.BRIBERY: ({K.BIDDER}, {M.BAR}),
    B.FRAUD: ({K.BIDDER}, {M.BAR}),
    B.EXPERT_MISCONDUCT: ({K.EXPERT}, {M.SUSPENSION, M.REMOVAL}),
    B.AGENCY_MISCONDUCT: ({K.AGENCY}, {M.BAR}),
}


class CreditError(DomainError):
    pass


class Barred(DomainError):
    """R31: the party is on the blacklist; the message cites the record."""

    status_code = 403

    def __init__(self, message, *, record: CreditRecord):
        super().__init__(message, code="barred")
        self.record = record


def local_today(now: datetime) -> date:
    return timezone.localdate(now)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def period_problem(*, basis: str, measure: str, starts_on: date, ends_on: date | None) -> str:
    """Why these dates do not fit the basis (R30), or "" when they do. ``ends_on`` is inclusive."""
    if measure == M.REMOVAL:
        return "" if ends_on is None else str(_("A removal from the pool has no end date."))
    if ends_on is None:
        return str(_("Give the last day of the period."))
    if ends_on < starts_on:
        return str(_("The period cannot end before it starts."))
    low, high = BAR_YEARS.get(basis, (0, OTHER_MAX_YEARS))
    shortest = add_years(starts_on, low) - timedelta(days=1) if low else starts_on
    longest = add_years(starts_on, high) - timedelta(days=1)
    if not shortest <= ends_on <= longest:
        if low:
            return str(_("R30: for %(basis)s the bar lasts %(low)d to %(high)d years: from %(start)s it must end "
                         "between %(first)s and %(last)s.")
                       % {"basis": B(basis).label, "low": low, "high": high, "start": starts_on,
                          "first": shortest, "last": longest})
        return str(_("The period may last at most %(high)d years (until %(last)s).")
                   % {"high": high, "last": longest})
    return ""


def _require_supervisor(user: User) -> None:
    if not getattr(user, "is_authenticated", False) or not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only a supervisor can do this."))


@dataclass
class Party:
    kind: str
    name: str
    identifier: str
    organization: Organization | None = None
    expert_code: str = ""
    expert_user: User | None = None


def _party(*, party_kind: str, organization: Organization | None, expert_code: str) -> Party:
    if party_kind not in K.values:
        raise CreditError(_("Choose whether the party is a bidder, an expert or an agency."), field="party_kind")
    if party_kind == K.EXPERT:
        code = (expert_code or "").strip()
        if not code:
            raise CreditError(_("Give the expert's code."), field="expert_code")
        name, user = code, None
        try:
            from experts.models import Expert

            expert = Expert.objects.filter(code=code).select_related("user").first()
        except ImportError:  # pragma: no cover - the experts app is always installed in this project
            expert = None
        if expert is None:
            raise CreditError(_("No expert has the code %(code)s.") % {"code": code}, field="expert_code")
        name, user = expert.name, expert.user
        return Party(K.EXPERT, name, code, expert_code=code, expert_user=user)
    if organization is None:
        raise CreditError(_("Choose the organization."), field="organization")
    wanted = Organization.Kind.BIDDER if party_kind == K.BIDDER else Organization.Kind.AGENCY
    if organization.kind != wanted:
        raise CreditError(_("This organization is not of the chosen kind."), field="organization")
    return Party(party_kind, organization.name, organization.credit_code, organization=organization)


@transaction.atomic
def credit_record_create(*, user: User, party_kind: str, conduct: str, basis: str, legal_basis: str,
                         measure: str, authority: str, decision_number: str, decision_date: date,
                         starts_on: date, ends_on: date | None, document_name: str, document_chunks,
                         organization: Organization | None = None, expert_code: str = "",
                         now: datetime | None = None) -> CreditRecord:
    """记入黑名单: record and publish a penalty decision, with its document and SHA-256."""
    now = now or timezone.now()
    _require_supervisor(user)
    party = _party(party_kind=party_kind, organization=organization, expert_code=expert_code)
    if basis not in B.values:
        raise CreditError(_("Choose the basis of the decision."), field="basis")
    kinds, measures = ALLOWED[basis]
    if party.kind not in kinds:
        raise CreditError(_("%(basis)s does not apply to this kind of party.") % {"basis": B(basis).label},
                          field="basis")
    if measure not in measures:
        raise CreditError(_("This measure does not fit %(basis)s.") % {"basis": B(basis).label}, field="measure")
    if starts_on is None:
        raise CreditError(_("Give the first day of the period."), field="starts_on")
    problem = period_problem(basis=basis, measure=measure, starts_on=starts_on, ends_on=ends_on)
    if problem:
        raise CreditError(problem, field="ends_on", code="bad_period")
    if decision_date is None or decision_date > local_today(now):
        raise CreditError(_("The decision date cannot be in the future."), field="decision_date")
    name = _clean_file_name(document_name)
    path, size, sha = _store_stream(document_chunks, prefix="credit/decisions",
                                    max_bytes=settings.TENDER_DOCUMENT_MAX_BYTES)
    record = CreditRecord.objects.create(
        party_kind=party.kind, organization=party.organization, expert_code=party.expert_code,
        expert_user=party.expert_user, party_name=party.name, party_identifier=party.identifier,
        conduct=clean_text(conduct, field="conduct", label=_("Conduct"), max_length=5000),
        basis=basis, measure=measure,
        legal_basis=clean_text(legal_basis, field="legal_basis", label=_("Legal basis"), max_length=300),
        authority=clean_text(authority, field="authority", label=_("Deciding authority"), max_length=200),
        decision_number=clean_text(decision_number, field="decision_number", label=_("Decision number"),
                                   max_length=100),
        decision_date=decision_date, document_name=name, document_path=path, document_sha256=sha,
        document_size=size, starts_on=starts_on, ends_on=ends_on, created_by=user, created_at=now)
    ledger_append(action="credit.record_created", actor=user, obj=record, now=now,
                  data={"party": party.identifier, "basis": basis, "measure": measure,
                        "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat() if ends_on else None,
                        "decision": record.decision_number, "document_sha256": sha})
    if party.organization is not None:
        Notification.objects.create(
            organization=party.organization, created_at=now,
            subject=str(_("Credit record %(id)s: %(measure)s") % {"id": record.public_id,
                                                                  "measure": record.get_measure_display()}),
            body=str(_("From %(start)s to %(end)s, decision %(number)s by %(authority)s. You may appeal.")
                     % {"start": starts_on, "end": ends_on or "—", "number": record.decision_number,
                        "authority": record.authority}))
    return record


# --- reads ---------------------------------------------------------------------------------------


def _in_force(today: date) -> Q:
    return Q(status=CreditRecord.Status.ACTIVE, starts_on__lte=today) & (Q(ends_on__isnull=True)
                                                                        | Q(ends_on__gte=today))


def records_in_force(*, now: datetime) -> QuerySet:
    return CreditRecord.objects.filter(_in_force(local_today(now)))


def record_barring_organization(*, organization: Organization | None, now: datetime) -> CreditRecord | None:
    if organization is None:
        return None
    return records_in_force(now=now).filter(organization=organization).order_by("ends_on").last()


def blacklist_public(*, q: str = "", party_kind: str = "", scope: str = "active",
                     now: datetime | None = None) -> QuerySet:
    """The published blacklist: in force by default; ``scope="all"`` adds expired and revoked records."""
    now = now or timezone.now()
    qs = CreditRecord.objects.all() if scope == "all" else records_in_force(now=now)
    if q:
        qs = qs.filter(Q(party_name__icontains=q) | Q(party_identifier__icontains=q)
                       | Q(decision_number__icontains=q) | Q(public_id=q))
    if party_kind in K.values:
        qs = qs.filter(party_kind=party_kind)
    return qs


def record_public(*, public_id: str) -> CreditRecord:
    record = CreditRecord.objects.filter(public_id=public_id).first()
    if record is None:
        raise NotFound(_("No such credit record."))
    return record


# --- enforcement (R31) ---------------------------------------------------------------------------


def barred_message(record: CreditRecord, action) -> str:
    return str(_("R31: %(party)s is on the blacklist (record %(id)s, %(basis)s, %(legal)s) until %(end)s, "
                 "so it cannot %(action)s.")
               % {"party": record.party_name, "id": record.public_id, "basis": record.get_basis_display(),
                  "legal": record.legal_basis, "end": record.ends_on or _("further notice"), "action": action})


def _refuse_if_barred(organization, now: datetime, action) -> None:
    record = record_barring_organization(organization=organization, now=now)
    if record is not None:
        raise Barred(barred_message(record, action), record=record)


def registration_guard(organization, section: Section, now: datetime) -> None:
    """registration_guard: a barred bidder cannot sign up."""
    _refuse_if_barred(organization, now, _("sign up for a tender"))


def bid_guard(organization, section: Section, now: datetime) -> None:
    """bid_guard: a barred bidder cannot upload or submit a bid."""
    _refuse_if_barred(organization, now, _("submit a bid"))


def deposit_guard(organization, section: Section, now: datetime) -> None:
    """deposit_payment_guard: a barred bidder's payment is not accepted as a deposit."""
    _refuse_if_barred(organization, now, _("pay a bid deposit"))


def draw_exclusion(expert_codes, section: Section, now: datetime) -> set[str]:
    """expert_draw_exclusions: experts suspended or removed by a record in force are not drawn."""
    codes = set(expert_codes)
    return set(records_in_force(now=now).filter(party_kind=K.EXPERT, expert_code__in=codes)
               .values_list("expert_code", flat=True))


def opening_check(*, bid, now: datetime) -> str | None:
    """opening_bid_check: a bidder barred after submitting is disqualified before evaluation (R31)."""
    record = record_barring_organization(organization=bid.organization, now=now)
    if record is None:
        return None
    return barred_message(record, _("take part in this opening: the bid is disqualified"))


@transaction.atomic
def bids_disqualify_barred(*, section: Section, now: datetime | None = None) -> list:
    """Disqualify every live bid of a barred bidder; safe to call again (before evaluation, say)."""
    from bidding.models import Bid

    now = now or timezone.now()
    live = Bid.objects.select_for_update().select_related("organization").filter(
        section=section, status__in=[Bid.Status.SUBMITTED, Bid.Status.DECRYPTED])
    done = []
    for bid in live:
        reason = opening_check(bid=bid, now=now)
        if not reason:
            continue
        bid.status, bid.outcome_reason = Bid.Status.DISQUALIFIED, reason[:300]
        bid.save(update_fields=["status", "outcome_reason"])
        ledger_append(action="bid.disqualified", actor="system", obj=section, now=now,
                      data={"bid": bid.public_id, "reason": bid.outcome_reason})
        _flag_in_room(section, bid, now)
        done.append(bid)
    return done


def _flag_in_room(section: Section, bid, now: datetime) -> None:
    """Show the disqualification in the opening room: names to staff, a masked line to the public."""
    from bidding.models import OpeningRoom
    from bidding.room.events import event_emit

    room = OpeningRoom.objects.select_for_update().select_related("section").filter(section=section).first()
    if room is None:
        return
    event_emit(room, "bid_outcome", {"no": bid.opening_no, "bidder": bid.organization.name,
                                     "status": bid.status, "reason": bid.outcome_reason},
               public={"no": bid.opening_no, "bidder": None, "status": bid.status,
                       "reason": str(_("R31: the bidder is on the blacklist."))}, now=now)


# --- appeals (申诉) -------------------------------------------------------------------------------


def is_party(user: User, record: CreditRecord) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if record.organization_id is not None:
        return user.organization_id == record.organization_id and user.has_role(User.Role.BIDDER,
                                                                                User.Role.AGENCY)
    return record.expert_user_id is not None and record.expert_user_id == user.pk


def require_party(*, user: User, record_id: str) -> CreditRecord:
    """The record, if this user is its party; checked before the appeal's text is read."""
    record = CreditRecord.objects.filter(public_id=record_id).first()
    if record is None:
        raise NotFound(_("No such credit record."))
    if not is_party(user, record):
        raise PermissionDenied(_("Only the party named in the record can appeal."))
    return record


@transaction.atomic
def credit_appeal_submit(*, user: User, record_id: str, text: str, now: datetime | None = None) -> CreditAppeal:
    now = now or timezone.now()
    record = CreditRecord.objects.select_for_update().filter(public_id=record_id).first()
    if record is None:
        raise NotFound(_("No such credit record."))
    if not is_party(user, record):
        raise PermissionDenied(_("Only the party named in the record can appeal."))
    if record.status != CreditRecord.Status.ACTIVE:
        raise Conflict(_("This record has already been revoked."), code="revoked")
    if record.appeals.filter(status=CreditAppeal.Status.PENDING).exists():
        raise Conflict(_("An appeal against this record is already awaiting a decision."), code="appeal_pending")
    appeal = CreditAppeal.objects.create(record=record, submitted_by=user, submitted_at=now,
                                         text=clean_text(text, field="text", label=_("Appeal"), max_length=5000))
    ledger_append(action="credit.appeal_submitted", actor=user, obj=record, now=now, data={"appeal": appeal.public_id})
    return appeal


@transaction.atomic
def credit_appeal_decide(*, user: User, appeal_id: str, upheld: bool, decision: str,
                         now: datetime | None = None) -> CreditAppeal:
    """A supervisor decides; an upheld appeal revokes the record, and both are recorded."""
    now = now or timezone.now()
    _require_supervisor(user)
    appeal = CreditAppeal.objects.select_for_update().select_related("record").filter(public_id=appeal_id).first()
    if appeal is None:
        raise NotFound(_("No such appeal."))
    if appeal.status != CreditAppeal.Status.PENDING:
        raise Conflict(_("This appeal has already been decided."), code="decided")
    appeal.decision = clean_text(decision, field="decision", label=_("Decision"), max_length=5000)
    appeal.status = CreditAppeal.Status.UPHELD if upheld else CreditAppeal.Status.REJECTED
    appeal.decided_by, appeal.decided_at = user, now
    appeal.save(update_fields=["decision", "status", "decided_by", "decided_at"])
    record = appeal.record
    if upheld:
        record.status, record.revoked_at = CreditRecord.Status.REVOKED, now
        record.save(update_fields=["status", "revoked_at"])
    ledger_append(action="credit.appeal_decided", actor=user, obj=record, now=now,
                  data={"appeal": appeal.public_id, "status": appeal.status, "decision": appeal.decision})
    return appeal


def appeals_visible_to(*, user: User) -> QuerySet:
    qs = CreditAppeal.objects.select_related("record")
    if user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        return qs
    return qs.filter(submitted_by=user)
