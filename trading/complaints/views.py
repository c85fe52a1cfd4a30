"""投诉 pages: filing (a bidder), the case (complainant, agency, supervisors) and the portal's decisions."""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from trading import selectors as core
from trading.complaints import forms, selectors, services
from trading.complaints.models import Complaint
from trading.files import open_stored
from trading.models import User
from trading.services.errors import DomainError, PermissionDenied
from trading.web.decorators import role_required
from trading.web.errors import add_domain_error, flash_domain_error
from trading.workingdays import SHANGHAI


def _uploads(request) -> list:
    return [(f.name, f.chunks()) for f in request.FILES.getlist("evidence")]


@login_required
def complaint_list(request):
    complaints = selectors.complaints_visible_to(user=request.user)
    return render(request, "complaints/list.html", {"complaints": complaints, "now": timezone.now()})


@role_required(User.Role.BIDDER)
@require_http_methods(["GET", "POST"])
def complaint_new(request, public_id: str):
    """投诉: a bidder or another interested party complains about one section (R35)."""
    section = core.section_get_visible(user=request.user, public_id=public_id)
    form = forms.ComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_file(
                user=request.user, section_id=section.pk, matter=data["matter"], request=data["request"],
                facts=data["facts"], objection_id=data["objection_id"], evidence=_uploads(request),
                known_at=datetime.combine(data["known_at"], time.min, tzinfo=SHANGHAI))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your complaint is received."))
            return redirect("complaint_detail", public_id=complaint.public_id)
    return render(request, "complaints/new.html", {"section": section, "form": form})


@login_required
def complaint_detail(request, public_id: str):
    complaint = selectors.complaint_get_visible(user=request.user, public_id=public_id)
    is_supervisor = request.user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN)
    return render(request, "complaints/detail.html", {
        "complaint": complaint, "evidence": complaint.evidence.all(), "now": timezone.now(),
        "suspension": selectors.section_suspension_active(section=complaint.section),
        "is_supervisor": is_supervisor,
        "is_complainant": request.user.organization_id == complaint.complainant_id
        and request.user.has_role(User.Role.BIDDER),
        "reject_form": forms.RejectForm(), "stop_form": forms.ClockStopForm(), "decide_form": forms.DecideForm(),
        "suspend_form": forms.SuspendForm()})


@login_required
def complaint_evidence(request, public_id: str, evidence_id: str):
    complaint = selectors.complaint_get_visible(user=request.user, public_id=public_id)
    item = get_object_or_404(complaint.evidence, public_id=evidence_id)
    return FileResponse(open_stored(item.path), as_attachment=True, filename=item.name)


def _act(request, complaint: Complaint, action: str) -> None:
    user, pk, post = request.user, complaint.pk, request.POST
    if action == "accept":
        services.complaint_accept(user=user, complaint_id=pk)
    elif action == "reject":
        services.complaint_reject(user=user, complaint_id=pk, reason=post.get("reason", ""))
    elif action == "stop":
        services.complaint_clock_stop(user=user, complaint_id=pk, pause=post.get("pause", ""),
                                      note=post.get("note", ""))
    elif action == "resume":
        services.complaint_clock_resume(user=user, complaint_id=pk)
    elif action == "decide":
        services.complaint_decide(user=user, complaint_id=pk, outcome=post.get("outcome", ""),
                                  decision=post.get("decision", ""))
    elif action == "suspend":
        services.section_suspend(user=user, complaint_id=pk, reason=post.get("reason", ""))
    elif action == "lift":
        services.section_suspension_lift(user=user, complaint_id=pk)
    elif action == "material":
        services.complaint_material_supply(user=user, complaint_id=pk, files=_uploads(request))
    else:
        raise DomainError(_("Unknown action."))


@login_required
@require_POST
def complaint_action(request, public_id: str, action: str):
    """One step of the case; the service checks who may take it, and a refusal is a 403, not a flashed message."""
    complaint = selectors.complaint_get_visible(user=request.user, public_id=public_id)
    try:
        _act(request, complaint, action)
    except PermissionDenied:
        raise
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("Done."))
    return redirect("complaint_detail", public_id=complaint.public_id)


def portal_complaints(request):
    """投诉处理决定公告: decided complaints; the complainant is not named (it may be a natural person)."""
    page = Paginator(selectors.complaints_decided_public(), 20).get_page(request.GET.get("page"))
    return render(request, "complaints/portal.html", {"page": page})
