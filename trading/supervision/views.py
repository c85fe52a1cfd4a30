"""监督 console (电子监察): one page for the supervisors with every section by status, open alerts, pending
objections, collusion signals, service ratings, appeals and the audit ledger; and the pages it links to.

Before a section's opening the console hides who signed up and how many, from supervisors too (R14); a
supervisor who must look earlier uses the section's break-glass (破窗查看), which is logged and announced.
"""

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from timestamps.models import LedgerAnchor
from trading import selectors
from trading.credit.models import CreditAppeal, CreditRecord
from trading.credit.selectors import collusion_signals_visible_to, signal_as_dict
from trading.credit.services import blacklist, collusion
from trading.models import Organization, Section, User
from trading.services.errors import DomainError
from trading.supervision import selectors as console
from trading.supervision.forms import BreakGlassForm, RecordForm
from trading.supervision.models import DeadlineAlert
from trading.supervision.services import alerts as supervision
from trading.supervision.services import ratings
from trading.supervision.services.break_glass import break_glass_duration, break_glass_open
from trading.web.decorators import role_required
from trading.web.errors import add_domain_error, flash_domain_error

supervisor_only = role_required(User.Role.SUPERVISOR, User.Role.ADMIN)
LEDGER_ROWS = 50


@supervisor_only
def supervision_dashboard(request):
    """The one console; the old overview path ``/supervisor/`` renders it too."""
    status = request.GET.get("status", "")
    if status not in Section.Status.values:
        status = ""
    sections = console.sections_for_console(user=request.user, status=status)
    phases = supervision.section_phases(sections)
    tabs = console.section_status_tabs(user=request.user)
    return render(request, "supervision/dashboard.html", {
        "sections": [{"section": s, "phase": phases.get(s.pk, "")} for s in sections],
        "status": status,
        "tabs": tabs,
        "total": sum(n for _value, _label, n in tabs),
        "live_count": sum(n for value, _label, n in tabs if value in supervision.LIVE_STATUSES),
        "alerts": console.alerts_for_console(user=request.user),
        "pending_objections": console.objections_pending(user=request.user),
        "signals": [(s, collusion.kind_label(s.kind))
                    for s in collusion_signals_visible_to(user=request.user)[:20]],
        "ratings": supervision.rating_summary(),
        "appeals": CreditAppeal.objects.filter(status=CreditAppeal.Status.PENDING).select_related("record"),
        "ledger": console.ledger_for_console(user=request.user, limit=LEDGER_ROWS),
        "now": timezone.now(),
    })


@supervisor_only
@require_http_methods(["GET", "POST"])
def ledger_check(request):
    """Recompute the whole audit ledger and its timestamped anchors; name the first tampered entry (R33).

    A POST (the old console's button) is answered with a redirect, so that reloading does not post again.
    """
    from timestamps.anchors import anchor_token_valid
    from timestamps.ledger import ledger_verify

    if request.method == "POST":
        return redirect("supervision_ledger_verify")
    report = ledger_verify(anchor_check=anchor_token_valid)
    return render(request, "supervision/ledger.html", {
        "report": report,
        "anchors": LedgerAnchor.objects.order_by("-seq")[:20],
        "ledger": console.ledger_for_console(user=request.user, limit=LEDGER_ROWS),
        "checked_at": timezone.now(),
    })


@supervisor_only
def supervision_alert(request, alert_id: str):
    try:
        alert = supervision.alert_for(user=request.user, alert_id=alert_id)
    except DomainError:
        raise Http404(_("No such alert.")) from None
    if request.method == "POST":
        supervision.alert_acknowledge(user=request.user, alert_id=alert.public_id)
        messages.success(request, _("The alert is acknowledged."))
        return redirect("supervision_alert", alert_id=alert.public_id)
    order = {DeadlineAlert.Level.REMINDER: 0, DeadlineAlert.Level.WARNING: 1, DeadlineAlert.Level.OVERDUE: 2}
    history = sorted(DeadlineAlert.objects.filter(kind=alert.kind, subject_type=alert.subject_type,
                                                  subject_id=alert.subject_id),
                     key=lambda a: (a.raised_at, order[a.level]))
    return render(request, "supervision/alert.html", {"alert": alert, "history": history, "now": timezone.now()})


@supervisor_only
def supervision_signals(request, public_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    signals = [signal_as_dict(s) for s in collusion_signals_visible_to(user=request.user, section=section)]
    return render(request, "supervision/signals.html", {"section": section, "signals": signals})


@role_required(User.Role.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def supervision_break_glass(request, public_id: str):
    """破窗查看: a supervisor gives a written reason to see one sealed section for a limited time."""
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            break_glass_open(user=request.user, section=section, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Break-glass is open for this section; the other supervisors are told."))
            return redirect("supervision_break_glass", public_id=section.public_id)
    now = timezone.now()
    return render(request, "supervision/break_glass.html", {
        "section": section, "form": form, "now": now,
        "active": console.break_glass_active(user=request.user, section=section, now=now),
        "sealed": console.registrants_sealed(user=request.user, section=section, now=now),
        "grants": console.break_glasses_of(user=request.user, section=section),
        "minutes": int(break_glass_duration().total_seconds() // 60)})


@supervisor_only
def supervision_record_new(request):
    form = RecordForm(request.POST or None, request.FILES or None,
                      initial={"decision_date": date.today(), "starts_on": date.today()})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        party, document = data.pop("party").strip(), data.pop("document")
        organization = None
        if data["party_kind"] != CreditRecord.PartyKind.EXPERT:
            organization = Organization.objects.filter(credit_code=party).first()
            if organization is None:
                form.add_error("party", _("No organization has this credit code."))
        if form.is_valid():
            try:
                record = blacklist.credit_record_create(
                    user=request.user, organization=organization, expert_code=party if organization is None else "",
                    document_name=document.name, document_chunks=document.chunks(), **data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Record %(id)s is published.") % {"id": record.public_id})
                return redirect("portal_blacklist_record", record_id=record.public_id)
    return render(request, "supervision/record_form.html", {"form": form})


@supervisor_only
@require_POST
def supervision_appeal_decide(request, appeal_id: str):
    try:
        blacklist.credit_appeal_decide(user=request.user, appeal_id=appeal_id,
                                       upheld=request.POST.get("upheld") == "1",
                                       decision=request.POST.get("decision", ""))
        messages.success(request, _("The decision on the appeal is recorded."))
    except DomainError as exc:
        flash_domain_error(request, exc)
    return redirect("supervision_dashboard")


@supervisor_only
@require_POST
def supervision_follow_up_close(request, follow_up_id: str):
    try:
        ratings.follow_up_close(user=request.user, follow_up_id=follow_up_id,
                                resolution=request.POST.get("resolution", ""))
        messages.success(request, _("The follow-up is closed."))
    except DomainError as exc:
        flash_domain_error(request, exc)
    return redirect("supervision_dashboard")
