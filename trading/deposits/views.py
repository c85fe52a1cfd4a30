"""Deposit pages: the bidder's own deposit, the agency's view after the opening, the finance
reconciliation report (page and CSV) and the supervisors' forfeiture desk."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trading import selectors
from trading.credit.selectors import collusion_signals_visible_to
from trading.deposits import selectors as sel
from trading.deposits.api import _day, report_csv
from trading.deposits.models import DepositForfeiture
from trading.deposits.services import deposits
from trading.models import User
from trading.services.errors import DomainError
from trading.web.decorators import role_required


@role_required(User.Role.BIDDER)
def bidder_deposit(request, public_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    account = sel.deposit_of_bidder(user=request.user, section=section)
    return render(request, "deposits/bidder.html", {
        "section": section, "account": account, "deposit": sel.deposit_view(account),
        "held": deposits.held_balance(account), "basic_account": request.user.organization.basic_account_number,
        "transactions": sel.transactions_of(account), "refunds": sel.refunds_of(account)})


@role_required(User.Role.AGENCY, User.Role.SUPERVISOR, User.Role.ADMIN)
def section_deposits(request, public_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    rows = sel.section_deposits(user=request.user, section=section)
    signals = collusion_signals_visible_to(user=request.user, section=section) \
        if sel.is_platform(request.user) else []
    return render(request, "deposits/section.html", {"section": section, "rows": rows, "signals": signals})


@role_required(User.Role.ADMIN, User.Role.SUPERVISOR)
def reconciliation(request):
    section = None
    if request.GET.get("section"):
        section = selectors.section_get_visible(user=request.user, public_id=request.GET["section"])
    try:
        day_from, day_to = _day(request.GET.get("from"), "from"), _day(request.GET.get("to"), "to")
    except DomainError as exc:
        messages.error(request, str(exc.message))
        day_from = day_to = None
    rows = sel.reconciliation(user=request.user, section=section, day_from=day_from, day_to=day_to)
    if request.GET.get("format") == "csv":
        return report_csv(rows)
    return render(request, "deposits/reconciliation.html", {
        "rows": rows, "totals": sel.reconciliation_totals(rows), "section": section,
        "unknown": sel.unknown_payments(user=request.user)[:50], "alerts": sel.alerts_visible_to(user=request.user),
        "query": request.GET.urlencode()})


@role_required(User.Role.SUPERVISOR, User.Role.ADMIN)
def supervision(request):
    return render(request, "deposits/supervision.html", {
        "forfeitures": sel.forfeitures_visible_to(user=request.user, status=DepositForfeiture.Status.PENDING),
        "decided": sel.forfeitures_visible_to(user=request.user).exclude(
            status=DepositForfeiture.Status.PENDING)[:50],
        "signals": collusion_signals_visible_to(user=request.user).filter(kind="same_payer_account")[:100],
        "alerts": sel.alerts_visible_to(user=request.user)})


@require_POST
@role_required(User.Role.SUPERVISOR)
def forfeiture_decide(request, forfeiture_id: str, decision: str):
    forfeiture = get_object_or_404(DepositForfeiture, public_id=forfeiture_id)
    service = deposits.deposit_forfeit_confirm if decision == "confirm" else deposits.deposit_forfeit_reject
    try:
        service(user=request.user, forfeiture_id=forfeiture.public_id, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The decision is recorded."))
    return redirect("deposit_supervision")
