"""招标人/代理 workspace: projects, sections, documents, publishing, clarifications and objections.

R14: nothing here shows who signed up for a section, nor how many did.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trading import selectors
from trading.models import DocumentObjection, Project, Section, User
from trading.services import clarifications, lifecycle, projects
from trading.services.errors import DomainError
from trading.web.decorators import role_required
from trading.web.errors import add_domain_error, flash_domain_error
from trading.web.forms import (
    AnswerForm,
    ClarificationForm,
    DocumentForm,
    ProjectForm,
    ReasonForm,
    SectionForm,
    criteria_formset,
    opening_form_text,
)

agency_only = role_required(User.Role.AGENCY)


def own_project(request, public_id: str) -> Project:
    project = selectors.projects_of_agency(user=request.user).filter(public_id=public_id).first()
    if project is None:
        raise Http404(_("No such project."))
    return project


@agency_only
def agency_workspace(request):
    project_list = list(selectors.projects_of_agency(user=request.user))
    pending = {row["section"]: row["n"] for row in _pending_objection_counts(request.user)}
    for project in project_list:
        for section in project.sections.all():
            section.pending_objection_count = pending.get(section.pk, 0)
    return render(
        request, "agency/workspace.html", {"projects": project_list, "now": timezone.now()}
    )


def _pending_objection_counts(user: User):
    from django.db.models import Count

    return (
        DocumentObjection.objects.filter(
            section__project__agency=user.organization_id, status=DocumentObjection.Status.PENDING
        )
        .values("section")
        .annotate(n=Count("id"))
    )


@agency_only
def project_create(request):
    form = ProjectForm(request.POST or None, initial={"must_tender": True})
    if request.method == "POST" and form.is_valid():
        try:
            project = projects.project_register(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Project %(code)s is registered. Now add its sections.") % {"code": project.code},
            )
            return redirect("section_create", project_id=project.public_id)
    return render(
        request, "agency/project_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _section_form_result(request, form, formset):
    """Both forms valid → the service arguments; otherwise None (the errors stay on the forms)."""
    if not (form.is_valid() and formset.is_valid()):
        return None
    data = form.service_arguments()
    data["criteria"] = [c for c in (f.as_criterion() for f in formset.forms) if c is not None]
    return data


def _render_section_form(request, *, form, formset, project, section=None):
    return render(
        request,
        "agency/section_form.html",
        {
            "form": form,
            "formset": formset,
            "project": project,
            "section": section,
        },
        status=400 if (form.errors or formset.total_error_count()) else 200,
    )


def _section_service_error(form, formset, exc: DomainError) -> None:
    if exc.field == "criteria":
        formset._non_form_errors = formset.error_class([str(exc.message)])
    elif exc.field == "opening_form_fields":
        form.add_error("opening_form", str(exc.message))
    else:
        add_domain_error(form, exc)


@agency_only
def section_create(request, project_id: str):
    project = own_project(request, project_id)
    if request.method == "POST":
        form, formset = SectionForm(request.POST), criteria_formset(request.POST)
        data = _section_form_result(request, form, formset)
        if data is not None:
            try:
                section = projects.section_create(user=request.user, project=project, **data)
            except DomainError as exc:
                _section_service_error(form, formset, exc)
            else:
                messages.success(request, _("The section is saved as a draft."))
                return redirect("agency_section", public_id=section.public_id)
    else:
        form = SectionForm(
            initial={
                "estimated_price": project.estimated_price,
                "bid_validity_days": 90,
                "title": _("Section %(n)d") % {"n": project.sections.count() + 1},
            }
        )
        formset = criteria_formset()
    return _render_section_form(request, form=form, formset=formset, project=project)


@agency_only
def section_edit(request, public_id: str):
    section = selectors.section_get_managed(user=request.user, public_id=public_id)
    if section.status != Section.Status.DRAFT:
        messages.error(
            request, _("A published section changes only through clarifications and amendments.")
        )
        return redirect("agency_section", public_id=section.public_id)
    if request.method == "POST":
        form, formset = SectionForm(request.POST), criteria_formset(request.POST)
        data = _section_form_result(request, form, formset)
        if data is not None:
            try:
                projects.section_update(user=request.user, section_id=section.pk, **data)
            except DomainError as exc:
                _section_service_error(form, formset, exc)
            else:
                messages.success(request, _("The draft is saved."))
                return redirect("agency_section", public_id=section.public_id)
    else:
        local = timezone.localtime
        form = SectionForm(
            initial={
                "title": section.title,
                "estimated_price": section.estimated_price,
                "deposit_amount": section.deposit_amount,
                "bid_deadline": local(section.bid_deadline),
                "documents_from": section.documents_from and local(section.documents_from),
                "documents_until": section.documents_until and local(section.documents_until),
                "bid_validity_days": section.bid_validity_days,
                "evaluation_method": section.evaluation_method,
                "announcement": section.announcement,
                "opening_form": opening_form_text(section.opening_form_fields or []),
            }
        )
        formset = criteria_formset(initial=section.criteria, blank_rows=1)
    return _render_section_form(
        request, form=form, formset=formset, project=section.project, section=section
    )


def _section_page(request, section: Section, *, status: int = 200, **forms):
    now = timezone.now()
    questions = selectors.questions_visible_to(user=request.user, section=section)
    open_questions = [q for q in questions if q.clarification_id is None]
    answer_forms = forms.get("answer_forms") or {}
    context = {
        "section": section,
        "project": section.project,
        "now": now,
        "documents": section.documents.all(),
        "questions": questions,
        "clarifications": selectors.clarifications_public(section=section),
        "objection_rows": [
            (o, answer_forms.get(o.public_id) or AnswerForm(prefix=f"objection-{o.public_id}"))
            for o in selectors.objections_visible_to(user=request.user, section=section)
        ],
        "objection_cutoff": clarifications.objection_cutoff(section),
        "document_form": forms.get("document_form") or DocumentForm(),
        "clarification_form": forms.get("clarification_form")
        or ClarificationForm(questions=open_questions),
        "cancel_form": forms.get("cancel_form") or ReasonForm(),
        "can_cancel": section.status in _CANCELLABLE,
        "days_left": (section.bid_deadline - now).days,
    }
    return render(request, "agency/section.html", context, status=status)


_CANCELLABLE = {
    s for s, allowed in lifecycle.ALLOWED.items() if Section.Status.CANCELLED in allowed
}


@agency_only
def agency_section(request, public_id: str):
    return _section_page(request, selectors.section_get_managed(user=request.user, public_id=public_id))


@require_POST
@agency_only
def document_upload(request, public_id: str):
    section = selectors.section_get_managed(user=request.user, public_id=public_id)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            projects.document_add(
                user=request.user, section_id=section.pk, name=upload.name, chunks=upload.chunks()
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request, _("The document %(name)s is uploaded.") % {"name": upload.name}
            )
            return redirect("agency_section", public_id=section.public_id)
    return _section_page(request, section, status=400, document_form=form)


@agency_only
def section_publish(request, public_id: str):
    """招标公告发布: a checklist of every rule that still stops publication, then the button."""
    section = selectors.section_get_managed(user=request.user, public_id=public_id)
    if request.method == "POST":
        try:
            lifecycle.section_publish(user=request.user, section_id=section.pk)
        except DomainError as exc:
            flash_domain_error(request, exc)
        else:
            messages.success(request, _("The section is published and open for bids."))
            return redirect("agency_section", public_id=section.public_id)
        section.refresh_from_db()
    now = timezone.now()
    problems = (
        lifecycle.publication_problems(section, now=now)
        if section.status == Section.Status.DRAFT
        else []
    )
    return render(
        request,
        "agency/publish.html",
        {
            "section": section,
            "project": section.project,
            "problems": problems,
            "now": now,
            "documents": section.documents.all(),
        },
    )


@require_POST
@agency_only
def clarification_publish(request, public_id: str):
    section = selectors.section_get_managed(user=request.user, public_id=public_id)
    open_questions = [
        q
        for q in selectors.questions_visible_to(user=request.user, section=section)
        if q.clarification_id is None
    ]
    form = ClarificationForm(request.POST, questions=open_questions)
    if form.is_valid():
        try:
            clarification = clarifications.clarification_publish(
                user=request.user,
                section_id=section.pk,
                text=form.cleaned_data["text"],
                affects_preparation=form.cleaned_data["affects_preparation"],
                answers=list(form.cleaned_data["answers"]),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request, _("Clarification No. %(n)d is published.") % {"n": clarification.number}
            )
            if clarification.moved_deadline:
                messages.warning(
                    request,
                    _("R03: the bid deadline moved to %(deadline)s.")
                    % {
                        "deadline": timezone.localtime(clarification.deadline_after).strftime(
                            "%Y-%m-%d %H:%M"
                        )
                    },
                )
            return redirect("agency_section", public_id=section.public_id)
    return _section_page(request, section, status=400, clarification_form=form)


@require_POST
@agency_only
def objection_answer(request, objection_id: str):
    objection = (
        DocumentObjection.objects.select_related("section__project")
        .filter(public_id=objection_id, section__project__agency=request.user.organization_id)
        .first()
    )
    if objection is None:
        raise Http404(_("No such objection."))
    form = AnswerForm(request.POST, prefix=f"objection-{objection.public_id}")
    if form.is_valid():
        try:
            clarifications.objection_answer(
                user=request.user, objection_id=objection.pk, answer=form.cleaned_data["answer"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The objection is answered."))
            return redirect("agency_section", public_id=objection.section.public_id)
    return _section_page(request, objection.section, status=400, answer_forms={objection.public_id: form})


@require_POST
@agency_only
def section_cancel(request, public_id: str):
    section = selectors.section_get_managed(user=request.user, public_id=public_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            lifecycle.section_cancel(
                user=request.user, section_id=section.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The section is cancelled."))
            return redirect("agency_section", public_id=section.public_id)
    return _section_page(request, section, status=400, cancel_form=form)
