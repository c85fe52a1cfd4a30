"""开标: the opening room's transitions (DESIGN.md §4, §8; R05, R07, R11–R14).

Each transition locks the room row, re-checks the phase and is a no-op when already done, so the sweep,
a host's click and a restarted worker can all call it safely.
"""

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.models import Bid, OpeningObjection, OpeningRoom, RoomSignIn
from bidding.room.events import event_emit
from timestamps.ledger import ledger_append
from trading import signals
from trading.models import Section, User
from trading.services import lifecycle
from trading.services.errors import DomainError, PermissionDenied
from trading.services.text import clean_text

P = OpeningRoom.Phase
MIN_VALID_BIDS = 3  # R07


class RoomError(DomainError):
    pass


def _locked(section_id: int) -> OpeningRoom:
    return OpeningRoom.objects.select_for_update().select_related("section__project").get(section_id=section_id)


def _masked(no: int) -> None:
    """The public sees bid numbers, not names, until the prices are read; the page labels them."""
    return None


def _set_phase(room: OpeningRoom, phase: str, *, now: datetime, minutes: float | None = None) -> None:
    room.phase = phase
    room.phase_ends_at = now + timedelta(minutes=minutes) if minutes is not None else None
    room.save(update_fields=["phase", "phase_ends_at"])
    event_emit(room, "phase", {"phase": phase, "phase_ends_at": _iso(room.phase_ends_at), "paused": room.paused},
               now=now)
    ledger_append(action=f"opening.{phase}", actor="system", obj=room.section, now=now,
                  data={"phase_ends_at": _iso(room.phase_ends_at)})


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def room_create(*, section: Section, now: datetime | None = None) -> OpeningRoom:
    """On section_published: the room exists from the start, sign-in opens before the deadline."""
    room, _created = OpeningRoom.objects.get_or_create(
        section=section, defaults={"phase": P.SIGNIN, "phase_ends_at": section.bid_deadline})
    return room


def room_deadline_moved(*, section: Section, now: datetime | None = None) -> None:
    OpeningRoom.objects.filter(section=section, phase=P.SIGNIN).update(phase_ends_at=section.bid_deadline)


def signin_opens_at(section: Section) -> datetime:
    return section.bid_deadline - timedelta(minutes=section.opening_minutes("signin_minutes"))


@transaction.atomic
def room_sign_in(*, user: User, section: Section, now: datetime | None = None) -> RoomSignIn:
    """签到: a registered bidder signs in. Before the deadline only it and the platform know (R14)."""
    now = now or timezone.now()
    room = _locked(section.pk)
    if not user.has_role(User.Role.BIDDER) or not section.registrations.filter(
            organization=user.organization_id).exists():
        raise PermissionDenied(_("Only a bidder that signed up for this section can sign in."))
    if now < signin_opens_at(section):
        raise RoomError(_("Sign-in opens %(minutes)d minutes before the bid deadline.")
                        % {"minutes": section.opening_minutes("signin_minutes")}, code="signin_not_open")
    if room.phase not in (P.SIGNIN, P.EXTRACTION, P.DECRYPTION):
        raise RoomError(_("Sign-in has closed."), code="signin_closed")
    existing = RoomSignIn.objects.filter(room=room, organization=user.organization_id).first()
    if existing:
        return existing
    sign_in = RoomSignIn.objects.create(room=room, organization=user.organization, user=user, at=now)
    before_deadline = now < section.bid_deadline
    event_emit(room, "signed_in", {"bidder": user.organization.name, "at": now.isoformat()}, now=now,
               audience=f"private:{user.organization_id}" if before_deadline else "all",
               public={"bidder": None, "at": now.isoformat()})
    ledger_append(action="opening.signed_in", actor=user, obj=section, now=now,
                  data={"organization": user.organization.credit_code})
    return sign_in


def _valid_bids(section: Section):
    return Bid.objects.filter(section=section, status__in=[Bid.Status.SUBMITTED, Bid.Status.DECRYPTED])


def room_start(*, section: Section, now: datetime | None = None) -> None:
    """On section_opening (same transaction as the close): extract and count the bids, then open decryption."""
    now = now or timezone.now()
    room_create(section=section)  # a section published without a room still gets its opening
    room = _locked(section.pk)
    if room.phase != P.SIGNIN:
        return
    bids = list(_valid_bids(section).select_related("organization").order_by("received_at"))
    for no, bid in enumerate(bids, start=1):
        bid.opening_no = no
        bid.save(update_fields=["opening_no"])
    _set_phase(room, P.EXTRACTION, now=now)
    disqualified = _disqualify(room, bids, now=now)
    bids = [b for b in bids if b.pk not in disqualified]
    signed = [s.organization.name for s in room.sign_ins.select_related("organization").order_by("at")]
    event_emit(room, "signin_list", {"signed_in": signed}, public={"signed_in": [None] * len(signed)}, now=now)
    event_emit(room, "bids_extracted",
               {"count": len(bids), "bids": [{"no": b.opening_no, "bidder": b.organization.name} for b in bids]},
               public={"count": len(bids), "bids": [{"no": b.opening_no, "bidder": _masked(b.opening_no)}
                                                    for b in bids]}, now=now)
    if len(bids) < MIN_VALID_BIDS:
        _fail(room, now=now, valid=len(bids),
              reason=str(_("R07: fewer than 3 bids were received (%(n)d).") % {"n": len(bids)}))
        return
    _set_phase(room, P.DECRYPTION, now=now, minutes=section.opening_minutes("decrypt_minutes"))


def _disqualify(room: OpeningRoom, bids: list[Bid], *, now: datetime) -> set[int]:
    """R31: a bidder barred after it submitted is flagged in the room and disqualified before evaluation."""
    disqualified = set()
    for bid in bids:
        answers = signals.opening_bid_check.send(sender=Section, bid=bid, now=now)
        reason = next((r for _receiver, r in answers if r), "")
        if not reason:
            continue
        bid.status, bid.outcome_reason = Bid.Status.DISQUALIFIED, str(reason)[:300]
        bid.save(update_fields=["status", "outcome_reason"])
        event_emit(room, "bid_outcome", {"no": bid.opening_no, "bidder": bid.organization.name,
                                         "status": bid.status, "reason": bid.outcome_reason},
                   public={"no": bid.opening_no, "bidder": None, "status": bid.status,
                           "reason": str(_("R31: the bidder is on the blacklist."))}, now=now)
        ledger_append(action="bid.disqualified", actor="system", obj=room.section, now=now,
                      data={"bid": bid.public_id, "reason": bid.outcome_reason})
        disqualified.add(bid.pk)
    return disqualified


def _fail(room: OpeningRoom, *, now: datetime, valid: int, reason: str) -> None:
    """流标 (R07): the section fails and must be re-tendered; the record still documents the opening."""
    from bidding.room.record import record_make

    room.failure_reason = reason
    room.save(update_fields=["failure_reason"])
    event_emit(room, "failed", {"reason": reason, "valid": valid}, now=now)
    _set_phase(room, P.FAILED, now=now)
    record_make(room=room, now=now)
    lifecycle.section_transition(section_id=room.section_id, to=Section.Status.FAILED, actor="system", now=now,
                                 data={"reason": reason})


def _running(room: OpeningRoom, phase: str, now: datetime) -> None:
    if room.paused:
        raise RoomError(_("The room is paused by the supervisor: %(reason)s") % {"reason": room.pause_reason},
                        code="paused")
    if room.phase != phase:
        raise RoomError(_("This is not possible in the current phase."), code="wrong_phase")
    if room.phase_ends_at and now >= room.phase_ends_at:
        raise RoomError(_("The time for this step is over."), code="phase_over")


@transaction.atomic
def room_pause(*, user: User, section: Section, reason: str, now: datetime | None = None) -> OpeningRoom:
    now = now or timezone.now()
    if not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only a supervisor can pause the room."))
    reason = clean_text(reason, field="reason", label=_("Reason"), max_length=500)
    room = _locked(section.pk)
    if room.paused or room.phase in (P.CLOSED, P.FAILED):
        return room
    room.paused, room.paused_at, room.pause_reason = True, now, reason
    room.save(update_fields=["paused", "paused_at", "pause_reason"])
    event_emit(room, "paused", {"reason": reason, "by": user.get_full_name() or user.username}, now=now)
    ledger_append(action="opening.paused", actor=user, obj=section, now=now, data={"reason": reason})
    return room


@transaction.atomic
def room_resume(*, user: User, section: Section, reason: str = "", now: datetime | None = None) -> OpeningRoom:
    now = now or timezone.now()
    if not user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN):
        raise PermissionDenied(_("Only a supervisor can resume the room."))
    room = _locked(section.pk)
    if not room.paused:
        return room
    if room.phase_ends_at:  # the clock stood still while paused
        room.phase_ends_at += now - room.paused_at
    room.paused, room.paused_at = False, None
    room.save(update_fields=["paused", "paused_at", "phase_ends_at"])
    event_emit(room, "resumed", {"reason": (reason or "")[:500], "by": user.get_full_name() or user.username,
                                 "phase_ends_at": _iso(room.phase_ends_at)}, now=now)
    ledger_append(action="opening.resumed", actor=user, obj=section, now=now, data={"reason": reason})
    return room


@transaction.atomic
def room_close_decryption(*, section: Section, now: datetime | None = None, early: bool = False) -> None:
    """R11: what is not decrypted when the window closes is revoked (bidder's fault) or withdrawn (platform's)."""
    from bidding.room.decrypt import opening_key_usable, platform_fault

    now = now or timezone.now()
    room = _locked(section.pk)
    if room.phase != P.DECRYPTION or room.paused:
        return
    if not early and room.phase_ends_at and now < room.phase_ends_at:
        return
    pending = list(Bid.objects.select_for_update().filter(section=section, status=Bid.Status.SUBMITTED)
                   .select_related("organization", "section"))
    key_usable = opening_key_usable(section) if pending else True  # one unwrap for the whole window
    for bid in pending:
        fault = platform_fault(bid, key_usable=key_usable)
        bid.status = Bid.Status.FAILED_PLATFORM if fault else Bid.Status.REVOKED
        bid.outcome_reason = fault or str(_("Not decrypted within the window (R11: revoked)."))
        bid.save(update_fields=["status", "outcome_reason"])
        event_emit(room, "bid_outcome", {"no": bid.opening_no, "bidder": bid.organization.name, "status": bid.status,
                                         "reason": bid.outcome_reason},
                   public={"no": bid.opening_no, "bidder": _masked(bid.opening_no), "status": bid.status,
                           "reason": bid.outcome_reason}, now=now)
        ledger_append(action=f"bid.{bid.status}", actor="system", obj=section, now=now,
                      data={"bid": bid.public_id, "reason": bid.outcome_reason})
        signals.opening_bid_outcome.send(sender=Section, bid=bid, now=now)
    decrypted = list(Bid.objects.filter(section=section, status=Bid.Status.DECRYPTED).select_related("organization"))
    if len(decrypted) < MIN_VALID_BIDS:
        _fail(room, now=now, valid=len(decrypted),
              reason=str(_("R07: fewer than 3 bids were decrypted (%(n)d).") % {"n": len(decrypted)}))
        return
    _read_prices(room, decrypted, now=now)


def _deposit_check(bid: Bid) -> dict:
    for _receiver, result in signals.opening_deposit_check.send(sender=Section, bid=bid):
        if result is not None:
            return result
    return {"status": "not_checked", "label": str(_("Not checked"))}


def _read_prices(room: OpeningRoom, bids: list[Bid], *, now: datetime) -> None:
    """唱标 (R12): every valid bid's opening form, in a random order, to everyone."""
    _set_phase(room, P.READING, now=now)
    order = list(bids)
    secrets.SystemRandom().shuffle(order)
    for position, bid in enumerate(order, start=1):
        bid.read_order = position
        bid.save(update_fields=["read_order"])
        data = {"no": bid.opening_no, "order": position, "bidder": bid.organization.name,
                "form": _form(room.section, bid), "deposit": _deposit_check(bid)}
        event_emit(room, "price_read", data, now=now)
    ledger_append(action="opening.prices_read", actor="system", obj=room.section, now=now,
                  data={"order": [b.public_id for b in order]})
    signals.opening_prices_read.send(sender=Section, section=room.section, now=now)
    _set_phase(room, P.OBJECTIONS, now=now, minutes=room.section.opening_minutes("objection_minutes"))


def _form(section: Section, bid: Bid) -> dict:
    summary = bid.summary or {}
    keys = [f["key"] for f in section.opening_form_fields] or ["price"]
    return {key: summary.get(key) for key in keys}


@transaction.atomic
def room_objection_raise(*, user: User, section: Section, text: str, now: datetime | None = None
                         ) -> OpeningObjection:
    now = now or timezone.now()
    room = _locked(section.pk)
    if not user.has_role(User.Role.BIDDER) or not Bid.objects.filter(
            section=section, organization=user.organization_id, opening_no__isnull=False).exists():
        raise PermissionDenied(_("Only a bidder in this opening can raise an objection."))
    _running(room, P.OBJECTIONS, now)
    objection = OpeningObjection.objects.create(
        room=room, organization=user.organization, raised_at=now,
        text=clean_text(text, field="text", label=_("Objection"), max_length=5000))
    event_emit(room, "objection_raised", {"id": objection.public_id, "bidder": user.organization.name, "text": objection.text,
                                          "at": now.isoformat()}, now=now)
    ledger_append(action="opening.objection_raised", actor=user, obj=section, now=now,
                  data={"objection": objection.public_id, "text": objection.text})
    return objection


@transaction.atomic
def room_objection_answer(*, user: User, section: Section, objection_id: str, answer: str,
                          now: datetime | None = None) -> OpeningObjection:
    now = now or timezone.now()
    room = _locked(section.pk)
    if not user.has_role(User.Role.AGENCY) or section.project.agency_id != user.organization_id:
        raise PermissionDenied(_("Only the host answers objections."))
    if room.paused:
        raise RoomError(_("The room is paused by the supervisor: %(reason)s") % {"reason": room.pause_reason},
                        code="paused")
    objection = OpeningObjection.objects.select_for_update().filter(room=room, public_id=objection_id).first()
    if objection is None:
        raise RoomError(_("No such objection."), code="not_found")
    if objection.answered_at:
        raise RoomError(_("This objection has already been answered."), code="answered")
    objection.answer = clean_text(answer, field="answer", label=_("Answer"), max_length=5000)
    objection.answered_at = now
    objection.save(update_fields=["answer", "answered_at"])
    event_emit(room, "objection_answered", {"id": objection.public_id, "answer": objection.answer, "at": now.isoformat()},
               now=now)
    ledger_append(action="opening.objection_answered", actor=user, obj=section, now=now,
                  data={"objection": objection.public_id, "answer": objection.answer})
    return objection


@transaction.atomic
def room_close_objections(*, section: Section, now: datetime | None = None, early: bool = False) -> None:
    """R13 then R12: once every objection is answered, make the signed record and finish the opening."""
    from bidding.room.record import record_draft_make

    now = now or timezone.now()
    room = _locked(section.pk)
    if room.phase != P.OBJECTIONS or room.paused:
        return
    if not early and room.phase_ends_at and now < room.phase_ends_at:
        return
    if room.objections.filter(answered_at__isnull=True).exists():
        return  # the host must answer first; supervision raises the alarm
    minutes = section.opening_minutes("confirm_minutes")
    _set_phase(room, P.RECORD, now=now, minutes=minutes if minutes > 0 else None)
    if minutes <= 0:  # no confirmation round: the record is sealed at once
        record_finish(room, now=now)
        return
    record_draft_make(room=room, now=now)


@transaction.atomic
def room_close_record(*, section: Section, now: datetime | None = None) -> None:
    """The confirmation window is over: who has not signed is absent; seal the record and finish (R12)."""
    now = now or timezone.now()
    room = _locked(section.pk)
    if room.phase != P.RECORD or room.paused or (room.phase_ends_at and now < room.phase_ends_at):
        return
    record_finish(room, now=now)


def record_finish(room: OpeningRoom, *, now: datetime) -> None:
    """Seal the final record and close the opening; the caller holds the room's lock in the RECORD phase."""
    from bidding.room.cosign import record_absent
    from bidding.room.record import record_make

    if room.draft_path:
        record_absent(room, now=now)
    record_make(room=room, now=now)
    _set_phase(room, P.CLOSED, now=now)
    lifecycle.section_transition(section_id=room.section_id, to=Section.Status.OPENED, actor="system", now=now)


def room_advance(*, user: User, section: Section, now: datetime | None = None) -> None:
    """The host ends the current phase early where that is fair to every bidder."""
    now = now or timezone.now()
    if not user.has_role(User.Role.AGENCY) or section.project.agency_id != user.organization_id:
        raise PermissionDenied(_("Only the host advances the opening."))
    room = OpeningRoom.objects.get(section=section)
    if room.paused:
        raise RoomError(_("The room is paused by the supervisor: %(reason)s") % {"reason": room.pause_reason},
                        code="paused")
    if room.phase == P.DECRYPTION:
        if Bid.objects.filter(section=section, status=Bid.Status.SUBMITTED).exists():
            raise RoomError(_("Bidders are still decrypting; the window stays open until it ends."),
                            code="still_decrypting")
        with transaction.atomic():
            _advanced(section, user, P.DECRYPTION, now)
            room_close_decryption(section=section, now=now, early=True)
    elif room.phase == P.OBJECTIONS:
        if room.objections.filter(answered_at__isnull=True).exists():
            raise RoomError(_("Answer every objection first (R13)."), code="objections_pending")
        with transaction.atomic():
            _advanced(section, user, P.OBJECTIONS, now)
            room_close_objections(section=section, now=now, early=True)
    else:
        raise RoomError(_("This phase ends on its own."), code="wrong_phase")


def _advanced(section: Section, user: User, phase: str, now: datetime) -> None:
    """The record says who ended a phase early (``advanced``, a message added to the protocol)."""
    room = _locked(section.pk)
    if room.phase == phase:
        event_emit(room, "advanced", {"phase": phase, "by": user.get_full_name() or user.username}, now=now)
        ledger_append(action="opening.advanced", actor=user, obj=section, now=now, data={"phase": phase})


def sweep_rooms(*, now: datetime | None = None) -> int:
    """The periodic sweep: close every window whose time is up. Idempotent."""
    now = now or timezone.now()
    moved = 0
    due = OpeningRoom.objects.filter(paused=False, phase__in=[P.DECRYPTION, P.OBJECTIONS, P.RECORD],
                                     phase_ends_at__lte=now)
    for room in due.select_related("section"):
        if room.phase == P.DECRYPTION:
            room_close_decryption(section=room.section, now=now)
        elif room.phase == P.OBJECTIONS:
            room_close_objections(section=room.section, now=now)
        else:
            room_close_record(section=room.section, now=now)
        moved += 1
    stuck = OpeningRoom.objects.filter(phase=P.SIGNIN, section__status=Section.Status.OPENING)
    for room in stuck.select_related("section"):  # opened by a worker that died before the room started
        with transaction.atomic():
            room_start(section=room.section, now=now)
        moved += 1
    return moved
