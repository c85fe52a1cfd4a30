"""公开 portal: public pages (announcements, clarifications, opening results, candidates, awards, the
blacklist, feeds, service ratings). The supervisors' console is in ``trading.supervision.views``."""


from django import forms
from django.apps import apps
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trading import selectors
from trading.credit.models import CreditAppeal, CreditRecord
from trading.credit.services import blacklist
from trading.files import open_stored
from trading.models import Clarification
from trading.services.errors import DomainError
from trading.supervision.services import ratings
from trading.web.errors import add_domain_error, flash_domain_error

KINDS = [("announcements", gettext_lazy("Announcements")), ("clarifications", gettext_lazy("Clarifications")),
         ("openings", gettext_lazy("Opening results")), ("candidates", gettext_lazy("Candidates")),
         ("awards", gettext_lazy("Awards")), ("blacklist", gettext_lazy("Blacklist"))]
PER_PAGE = 20


# --- the public portal ---------------------------------------------------------------------------


def _openings(q: str):
    qs = selectors.sections_public(q=q).filter(opening_room__phase__in=["closed", "failed"],
                                                opening_room__record_sha256__gt="")
    return qs.order_by("-bid_deadline")


def _candidates(q: str, now):
    model = apps.get_model("experts.Publicity")
    qs = model.objects.filter(starts_at__lte=now).select_related("section__project").order_by("-starts_at")
    if q:
        qs = qs.filter(Q(section__title__icontains=q) | Q(section__project__name__icontains=q)
                       | Q(section__project__code__icontains=q))
    return qs


def _awards(q: str):
    model = apps.get_model("experts.Award")
    qs = model.objects.select_related("section__project", "bid__organization").order_by("-awarded_at")
    if q:
        qs = qs.filter(Q(section__title__icontains=q) | Q(section__project__name__icontains=q)
                       | Q(bid__organization__name__icontains=q))
    return qs


def portal_home(request):
    """信息公开: one search over everything the public may read."""
    now = timezone.now()
    q = request.GET.get("q", "").strip()[:100]
    kind = request.GET.get("type", "announcements")
    if kind not in dict(KINDS):
        kind = "announcements"
    if kind == "announcements":
        rows = selectors.sections_public(q=q)
    elif kind == "clarifications":
        rows = Clarification.objects.filter(section__status__in=selectors.PUBLIC_STATUSES).select_related(
            "section__project").order_by("-published_at")
        rows = rows.filter(Q(text__icontains=q) | Q(section__title__icontains=q)
                           | Q(section__project__name__icontains=q)) if q else rows
    elif kind == "openings":
        rows = _openings(q)
    elif kind == "candidates":
        rows = _candidates(q, now)
    elif kind == "awards":
        rows = _awards(q)
    else:
        rows = blacklist.blacklist_public(q=q, now=now)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/home.html", {"kinds": KINDS, "kind": kind, "q": q, "page": page, "now": now})


def portal_blacklist(request):
    """黑名单公示: records in force by default; ``scope=all`` adds expired and revoked ones."""
    now = timezone.now()
    q = request.GET.get("q", "").strip()[:100]
    scope = "all" if request.GET.get("scope") == "all" else "active"
    party_kind = request.GET.get("party_kind", "")
    records = blacklist.blacklist_public(q=q, scope=scope, party_kind=party_kind, now=now)
    page = Paginator(records, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/blacklist.html", {
        "page": page, "q": q, "scope": scope, "party_kind": party_kind, "today": blacklist.local_today(now),
        "party_kinds": CreditRecord.PartyKind.choices})


def portal_blacklist_record(request, record_id: str):
    record = _record_or_404(record_id)
    today = blacklist.local_today(timezone.now())
    can_appeal = blacklist.is_party(request.user, record) and record.status == CreditRecord.Status.ACTIVE
    return render(request, "portal/blacklist_record.html", {
        "record": record, "in_force": record.in_force(today), "can_appeal": can_appeal,
        "appeals": record.appeals.all() if can_appeal or blacklist.is_party(request.user, record) else [],
        "decided": record.appeals.exclude(status=CreditAppeal.Status.PENDING)})


def _record_or_404(record_id: str) -> CreditRecord:
    record = CreditRecord.objects.filter(public_id=record_id).first()
    if record is None:
        raise Http404(_("No such credit record."))
    return record


def portal_blacklist_document(request, record_id: str):
    record = _record_or_404(record_id)
    return FileResponse(open_stored(record.document_path), as_attachment=True, filename=record.document_name)


@require_POST
def portal_blacklist_appeal(request, record_id: str):
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next=/portal/blacklist/{record_id}/")
    try:
        blacklist.credit_appeal_submit(user=request.user, record_id=record_id, text=request.POST.get("text", ""))
        messages.success(request, _("Your appeal has been submitted; a supervisor will decide on it."))
    except DomainError as exc:
        flash_domain_error(request, exc)
    return redirect("portal_blacklist_record", record_id=record_id)


def portal_opening(request, public_id: str):
    """开标结果: published once the opening record is signed (R12); nothing before (R14)."""
    from bidding.models import Bid

    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    if not _openings("").filter(pk=section.pk).exists():
        raise Http404(_("The opening result of this section is not public."))
    bids = Bid.objects.filter(section=section, opening_no__isnull=False).select_related("organization") \
        .order_by("read_order", "opening_no")
    return render(request, "portal/opening.html", {"section": section, "bids": bids,
                                                   "room": section.opening_room})


class RatingForm(forms.Form):
    stage = forms.ChoiceField(label=gettext_lazy("Stage"))
    score = forms.TypedChoiceField(label=gettext_lazy("Score"), coerce=int,
                                   choices=[(i, f"{i} ★") for i in range(5, 0, -1)], widget=forms.RadioSelect)
    comment = forms.CharField(label=gettext_lazy("Comment (required for a score of 2 or less)"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


def portal_rate(request, public_id: str):
    """好差评: a participant rates a stage that is over."""
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next=/portal/sections/{public_id}/rate/")
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    if not ratings.is_participant(request.user, section):
        raise Http404(_("No such section."))
    stages = ratings.stages_open_to(user=request.user, section=section)
    form = RatingForm(request.POST or None)
    form.fields["stage"].choices = stages
    if request.method == "POST" and form.is_valid():
        try:
            rating = ratings.rating_submit(user=request.user, section=section, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Thank you: your rating has been recorded.")
                             if rating.score > ratings.POOR else
                             _("Thank you: a supervisor will follow up on your rating."))
            return redirect("portal_rate", public_id=public_id)
    return render(request, "portal/rate.html", {"section": section, "form": form, "stages": stages})
