"""监督 overview: every section by status, pending objections (overdue ones first) and the audit ledger.

The supervisor may see how many bidders signed up (R14 keeps that from the agency, not from supervision).
"""

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from timestamps.models import LedgerEntry
from trading import selectors
from trading.models import DocumentObjection, Section, User
from trading.web.decorators import role_required

LEDGER_ROWS = 50


@role_required(User.Role.SUPERVISOR, User.Role.ADMIN)
def supervisor_overview(request):
    now = timezone.now()
    status = request.GET.get("status", "")
    if status not in Section.Status.values:
        status = ""
    sections = selectors.sections_for_supervisor(status=status).annotate(
        registration_count=Count("registrations", distinct=True)
    )
    counts = dict(
        selectors.sections_for_supervisor().order_by().values_list("status").annotate(n=Count("id"))
    )
    tabs = [(value, label, counts.get(value, 0)) for value, label in Section.Status.choices]
    pending = (
        DocumentObjection.objects.filter(status=DocumentObjection.Status.PENDING)
        .select_related("section__project__agency")
        .order_by("answer_due")
    )
    return render(
        request,
        "supervisor/overview.html",
        {
            "sections": sections,
            "status": status,
            "tabs": tabs,
            "total": sum(counts.values()),
            "pending_objections": pending,
            "ledger": LedgerEntry.objects.order_by("-seq")[:LEDGER_ROWS],
            "now": now,
        },
    )


@role_required(User.Role.SUPERVISOR, User.Role.ADMIN)
def ledger_check(request):
    """Recompute the whole audit ledger and its timestamped anchors; name the first tampered entry (R33)."""
    from timestamps.anchors import anchor_token_valid
    from timestamps.ledger import ledger_verify
    from timestamps.models import LedgerAnchor

    report = ledger_verify(anchor_check=anchor_token_valid)
    return render(request, "supervisor/ledger.html", {
        "report": report,
        "anchors": LedgerAnchor.objects.order_by("-seq")[:20],
        "ledger": LedgerEntry.objects.order_by("-seq")[:LEDGER_ROWS],
        "checked_at": timezone.now(),
    })
