"""Public pages (announcement list, section detail) and the bidder's actions on a section."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trading import selectors
from trading.files import open_stored
from trading.models import Section, User
from trading.services import clarifications, registrations
from trading.services.errors import DomainError
from trading.web.decorators import role_required
from trading.web.errors import add_domain_error, flash_domain_error
from trading.web.forms import SearchForm, TextForm

PAGE_SIZE = 20


def home(request):
    """招标公告: every announced section, searchable."""
    form = SearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sections = selectors.sections_public(
        **{k: filters.get(k) or "" for k in ("q", "category", "status", "region")}
    )
    page = Paginator(sections, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "public/home.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "now": timezone.now(),
        },
    )


def _detail_context(request, section: Section, *, now) -> dict:
    user = request.user
    signed_in = user.is_authenticated
    is_bidder = signed_in and user.has_role(User.Role.BIDDER)
    registered = selectors.is_registered(user=user, section=section)
    cutoff = clarifications.objection_cutoff(section)
    return {
        "section": section,
        "project": section.project,
        "now": now,
        "documents": section.documents.all(),
        "can_download": selectors.can_download_documents(user=user, section=section, now=now),
        "clarifications": selectors.clarifications_public(section=section),
        "is_bidder": is_bidder,
        "registered": registered,
        "can_sign_up": is_bidder and not registered and section.accepts_bids(now),
        "can_ask": registered and section.accepts_bids(now),
        "objection_cutoff": cutoff,
        "can_object": registered and section.status == Section.Status.PUBLISHED and now <= cutoff,
        "my_questions": selectors.questions_visible_to(user=user, section=section)
        if is_bidder
        else [],
        "my_objections": selectors.objections_visible_to(user=user, section=section)
        if is_bidder
        else [],
        "is_owner": signed_in
        and user.has_role(User.Role.AGENCY)
        and section.project.agency_id == user.organization_id,
        "question_form": TextForm(prefix="question"),
        "objection_form": TextForm(prefix="objection"),
    }


def section_detail(request, public_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    return render(
        request, "public/section_detail.html", _detail_context(request, section, now=timezone.now())
    )


def document_download(request, public_id: str, document_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    if not selectors.can_download_documents(user=request.user, section=section, now=timezone.now()):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404(_("Sign up for this section to download its documents."))
    document = get_object_or_404(section.documents, public_id=document_id)
    return FileResponse(
        open_stored(document.storage_path), as_attachment=True, filename=document.name
    )


@require_POST
@role_required(User.Role.BIDDER)
def section_sign_up(request, public_id: str):
    """报名: sign the bidder's organization up for the section."""
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    try:
        registrations.registration_create(user=request.user, section_id=section.pk)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("Your organization has signed up for this section."))
    return redirect("section_detail", public_id=section.public_id)


def _bidder_text_action(request, public_id: str, *, prefix: str, service, done: str):
    section = selectors.section_get_visible(user=request.user, public_id=public_id)
    registrations.require_registered(user=request.user, section=section)  # refused before the form is read
    form = TextForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            service(user=request.user, section_id=section.pk, text=form.cleaned_data["text"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("section_detail", public_id=section.public_id)
    context = _detail_context(request, section, now=timezone.now())
    context[f"{prefix}_form"] = form
    return render(request, "public/section_detail.html", context, status=400)


@require_POST
@role_required(User.Role.BIDDER)
def question_ask(request, public_id: str):
    return _bidder_text_action(
        request,
        public_id,
        prefix="question",
        service=clarifications.question_ask,
        done=_("Your question was sent. The answer is published as a clarification."),
    )


@require_POST
@role_required(User.Role.BIDDER)
def objection_submit(request, public_id: str):
    return _bidder_text_action(
        request,
        public_id,
        prefix="objection",
        service=clarifications.objection_submit,
        done=_("Your objection was filed. The tenderer must answer within 3 days."),
    )


WORKSPACES = {
    User.Role.AGENCY: "agency_workspace",
    User.Role.BIDDER: "bidder_workspace",
    User.Role.SUPERVISOR: "supervision_dashboard",
    User.Role.EXPERT: "expert_home",
}


@role_required(*User.Role.values)
def workspace(request):
    """Send each role to its own workspace; experts and administrators get a landing page for now."""
    target = WORKSPACES.get(request.user.role)
    if target:
        return redirect(target)
    return render(request, "workspace_landing.html")
