"""The experts pages: the pool and draws (supervisors), draw requests and results (agency),
invitations and the remote evaluation room (experts). Each view calls one service and renders."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from experts import selectors
from experts.actions import EvaluationAction, evaluation_act
from experts.models import SPECIALTIES, Draw, Evaluation, EvaluationDocument, Expert, Publicity
from experts.services import accounts, confirmations, draws, evaluation, pool
from experts.services import award as award_services
from experts.services.evaluation import scored_criteria, valid_bids
from trading.files import open_stored
from trading.models import Section, User
from trading.selectors import section_get_managed, section_get_visible
from trading.services.errors import DomainError
from trading.web.decorators import role_required

SUPERVISION = (User.Role.SUPERVISOR, User.Role.ADMIN)


def _local(raw: str) -> datetime | None:
    """A datetime-local form value (Beijing time) as an aware datetime."""
    value = parse_datetime(raw or "")
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


def _attempt(request, action, success: str) -> bool:
    try:
        action()
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return False
    messages.success(request, success)
    return True


# --- supervisors: the pool and the draws --------------------------------------------------------


@role_required(*SUPERVISION)
def expert_pool(request):
    report = None
    if request.method == "POST" and request.FILES.get("file"):
        try:
            report = pool.experts_import_csv(actor=request.user, data=request.FILES["file"].read())
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            if report.ok:
                messages.success(request, _("Imported: %(c)d new, %(u)d updated.") % {"c": report.created,
                                                                                     "u": report.updated})
    elif request.method == "POST" and request.POST.get("action") == "invite":
        code = request.POST.get("code", "")
        _attempt(request, lambda: accounts.expert_account_invite(
            user=request.user, code=code,
            activation_url=lambda token: request.build_absolute_uri(reverse("expert_activate", args=[token]))),
            _("Expert %(c)s is invited to open an account.") % {"c": code})
        return redirect("expert_pool")
    elif request.method == "POST":
        code = request.POST.get("code", "")
        _attempt(request, lambda: pool.expert_set_status(actor=request.user, code=code,
                                                         status=request.POST.get("status", "")),
                 _("Status of %(c)s changed.") % {"c": code})
        return redirect("expert_pool")
    q = request.GET.get("q", "").strip()
    experts = selectors.experts_for_supervisor(user=request.user, q=q, specialty=request.GET.get("specialty", ""))
    sealed = selectors.sealed_codes_for(user=request.user)
    if q in sealed:  # a lookup of a sealed committee's code (R25): refused, the row shows no name
        messages.error(request, selectors.sealed_message(q))
    return render(request, "experts/pool.html", {
        "experts": experts[:500], "total": experts.count(), "report": report, "specialties": SPECIALTIES,
        "sealed": sealed,
        "q": request.GET.get("q", ""), "specialty": request.GET.get("specialty", ""), "columns": pool.CSV_COLUMNS})


@role_required(*SUPERVISION)
def draw_list(request):
    return render(request, "experts/draws.html", {"draws": selectors.draws_visible_to(user=request.user)})


@role_required(*SUPERVISION)
def draw_detail(request, draw_id):
    draw = get_object_or_404(Draw.objects.select_related("section__project"), public_id=draw_id)
    if request.method == "POST" and request.POST.get("action") == "phone":
        answer = request.POST.get("answer")
        _attempt(request, lambda: confirmations.pick_phone_answer(
            user=request.user, pick_id=request.POST.get("pick", ""), confirmed=answer == "confirm",
            reason=request.POST.get("reason", "")),
            _("Telephone confirmation recorded.") if answer == "confirm" else _("Telephone decline recorded."))
        return redirect("draw_detail", draw_id=draw_id)
    if request.method == "POST":
        _attempt(request, lambda: draws.draw_add_entropy(user=request.user, draw_id=draw_id,
                                                         entropy=request.POST.get("entropy", "")),
                 _("The draw is complete."))
        return redirect("draw_detail", draw_id=draw_id)
    audit = replay = None
    if draw.is_complete:
        audit = draws.draw_audit_of(draw)
        if request.GET.get("replay"):
            replay = draws.draw_replay_of(draw)
    return render(request, "experts/draw_detail.html", {
        "draw": draw, "summary": selectors.draw_summary(draw, user=request.user), "audit": audit, "replay": replay,
        "log": selectors.draw_log(user=request.user, draw=draw),
        "phone_sheet": selectors.phone_sheet(user=request.user, draw=draw)})


# --- the agency: request a draw, follow it, run evaluation, publicity, award and contract --------------


@role_required(User.Role.AGENCY)
def section_experts(request, public_id):
    section = section_get_managed(user=request.user, public_id=public_id)
    if request.method == "POST":
        _agency_action(request, section)
        return redirect("section_experts", public_id=public_id)
    record = Evaluation.objects.filter(section=section).first()
    return render(request, "experts/section.html", {
        "blockers": evaluation.committee_blockers(section) if record is None else [],
        "section": section, "draws": [selectors.draw_summary(d, user=request.user)
                                      for d in selectors.section_draws_for(user=request.user, section=section)],
        "specialties": SPECIALTIES, "evaluation": record, "publicity": Publicity.objects.filter(section=section).first(),
        "award": getattr(section, "award", None) if hasattr(section, "award") else None,
        "default_start": timezone.localtime(section.bid_deadline + timedelta(days=1)).strftime("%Y-%m-%dT09:00"),
        "default_end": timezone.localtime(section.bid_deadline + timedelta(days=1)).strftime("%Y-%m-%dT17:00"),
        "default_publicity_end": timezone.localtime(timezone.now() + timedelta(days=3, hours=1)).strftime("%Y-%m-%dT%H:%M"),
    })


def _agency_action(request, section: Section) -> None:
    p, user = request.POST, request.user
    action = p.get("action")
    if action == "draw":
        groups = [{"specialty": s, "count": p.get(f"count_{i}") or 0, "backups": p.get(f"backups_{i}") or 0}
                  for i, s in enumerate(p.getlist("specialty")) if s]
        _attempt(request, lambda: draws.draw_request(
            user=user, section_id=section.pk, groups=groups, owner_representatives=p.get("owner_representatives") or 0,
            evaluation_starts_at=_local(p.get("starts_at")), evaluation_ends_at=_local(p.get("ends_at")),
            place=p.get("place", ""), remote=p.get("remote") == "on"),
            _("The draw is committed; it runs when the supervisor adds entropy."))
    elif action == EvaluationAction.START:
        _attempt(request, lambda: evaluation_act(user=user, section_id=section.pk, action=EvaluationAction.START),
                 _("The evaluation has started."))
    elif action == "publicity":
        _attempt(request, lambda: award_services.publicity_publish(user=user, section_id=section.pk,
                                                                   ends_at=_local(p.get("ends_at"))),
                 _("The candidates are public."))
    elif action == "answer":
        _attempt(request, lambda: award_services.publicity_objection_answer(
            user=user, objection_id=str(p.get("objection") or ""), answer=p.get("answer", "")), _("Answered."))
    elif action == "award":
        _attempt(request, lambda: award_services.award_make(user=user, section_id=section.pk,
                                                            bid_id=p.get("bid") or None),
                 _("The award notice and the result notices are sent."))
    elif action == "contract":
        _attempt(request, lambda: award_services.contract_record(user=user, section_id=section.pk,
                                                                 signed_at=_local(p.get("signed_at"))),
                 _("The contract is recorded."))


# --- experts: invitations and the evaluation room -----------------------------------------------------


def expert_activate(request, token):
    """The one-time account activation link (no login: the signed token is the proof)."""
    try:
        expert = accounts.expert_token_check(token=token)
    except DomainError as exc:
        return render(request, "experts/activate.html", {"problem": exc.message}, status=410)
    if request.method == "POST":
        if request.POST.get("password") != request.POST.get("password2"):
            messages.error(request, _("The two passwords differ."))
        else:
            try:
                user = accounts.expert_account_activate(token=token, password=request.POST.get("password", ""))
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("Your account %(u)s is open; sign in with it.") % {"u": user.username})
                return redirect("login")
    return render(request, "experts/activate.html", {"expert": expert, "username": expert.code.lower()})



@role_required(User.Role.EXPERT)
def expert_home(request):
    if request.method == "POST":
        pick_id, answer = request.POST.get("pick", ""), request.POST.get("answer")
        if answer == "confirm":
            _attempt(request, lambda: draws.pick_confirm(user=request.user, pick_id=pick_id),
                     _("Thank you: your participation is confirmed."))
        else:
            _attempt(request, lambda: draws.pick_decline(user=request.user, pick_id=pick_id,
                                                         reason=request.POST.get("reason", "")),
                     _("You declined; a backup expert is invited."))
        return redirect("expert_home")
    return render(request, "experts/expert_home.html", {
        "invitations": selectors.invitations_of(user=request.user),
        "profile": Expert.objects.filter(user=request.user).first()})


def _member_or_404(request, section):
    member = selectors.member_of(user=request.user, section=section)
    if member is None:
        raise Http404
    return member


@role_required(User.Role.EXPERT)
def evaluation_room(request, public_id):
    section = section_get_visible(user=request.user, public_id=public_id)
    member = _member_or_404(request, section)
    if request.method == "POST":
        _member_action(request, section)
        return redirect(request.path + (f"#{request.POST.get('anchor')}" if request.POST.get("anchor") else ""))
    record = Evaluation.objects.filter(section=section).first()
    if record is None:
        raise Http404
    member.refresh_from_db()
    criteria = section.criteria or []
    scored = scored_criteria(section)
    mine = {(s.bid_id, s.criterion): s.value for s in member.scores.all()}
    verdicts = {v.bid_id: v for v in member.verdicts.all()}
    bids = []
    for bid in valid_bids(section):
        document = EvaluationDocument.objects.filter(bid=bid).first()
        bids.append({"bid": bid, "price": evaluation.bid_price(bid), "verdict": verdicts.get(bid.pk),
                     "document": document,
                     "criteria": [{"index": i, "name": criteria[i]["name"], "max": criteria[i]["max_score"],
                                   "kind": criteria[i].get("kind"), "value": mine.get((bid.pk, i))} for i in scored]})
    seats = selectors.committee(section)
    return render(request, "experts/evaluation.html", {
        "section": section, "record": record, "member": member, "bids": bids, "seats": seats,
        "is_leader": record.leader_id == member.pk, "missing": evaluation.member_missing(member, section),
        "price_criteria": [c for c in criteria if c.get("kind") == "price"],
    })


def _member_action(request, section: Section) -> None:
    p = request.POST
    try:
        action = EvaluationAction.parse(p.get("action", ""))
    except DomainError:
        return
    if action == EvaluationAction.START:
        return  # the agency starts the evaluation, from its own page
    conflict = p.get("conflict") == "yes"
    done = {
        EvaluationAction.DECLARATION: _("You withdrew from the committee (R24).") if conflict
        else _("Declaration signed."),
        EvaluationAction.LEADER_VOTE: _("Vote recorded."),
        EvaluationAction.SCORES: _("Saved."),
        EvaluationAction.SUBMIT: _("Your scores are submitted."),
        EvaluationAction.CONCLUDE: _("Scoring closed: the report is ready for signatures."),
        EvaluationAction.SIGN: _("Report signed."),
        EvaluationAction.FINALIZE: _("The report is final."),
    }[action]
    arguments = {"conflict": conflict, "text": p.get("text", ""), "seat": int(p.get("seat") or 0),
                 "bid_id": p.get("bid", ""), "passes": p.get("passes") != "no", "reason": p.get("reason", ""),
                 "agree": p.get("agree") != "no",
                 "scores": {key[6:]: value for key, value in p.items() if key.startswith("score_") and value.strip()}}
    _attempt(request, lambda: evaluation_act(user=request.user, section_id=section.pk, action=action, **arguments),
             done)


@role_required(User.Role.EXPERT)
def evaluation_document(request, public_id, bid_id):
    section = section_get_visible(user=request.user, public_id=public_id)
    try:
        document = evaluation.document_for(user=request.user, section=section, bid_id=bid_id)
    except DomainError:
        raise Http404 from None
    return FileResponse(open_stored(document.storage_path), as_attachment=True,
                        filename=f"bid-{bid_id}.zip", content_type="application/octet-stream")


@role_required(User.Role.EXPERT, User.Role.AGENCY, *SUPERVISION)
def evaluation_report(request, public_id):
    section = section_get_visible(user=request.user, public_id=public_id)
    record = Evaluation.objects.filter(section=section, status=Evaluation.Status.REPORTED).first()
    if record is None or not selectors.report_readable_by(user=request.user, section=section):
        raise Http404
    return FileResponse(open_stored(record.report_path), content_type="application/pdf",
                        filename=f"evaluation-report-{public_id}.pdf")
