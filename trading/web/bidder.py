"""投标人 workspace: the organization, its sign-ups, open sections, notifications, questions and objections."""

from django.shortcuts import render
from django.utils import timezone

from trading import selectors
from trading.models import User
from trading.web.decorators import role_required


@role_required(User.Role.BIDDER)
def bidder_workspace(request):
    now = timezone.now()
    user = request.user
    signups = list(selectors.registrations_of(user=user).order_by("section__bid_deadline"))
    signed_up = {r.section_id for r in signups}
    open_sections = [
        s for s in selectors.sections_open_for_bidding(now=now) if s.pk not in signed_up
    ][:20]
    questions, objections = [], []
    for registration in signups:
        questions += list(
            selectors.questions_visible_to(user=user, section=registration.section).select_related(
                "clarification", "section"
            )
        )
        objections += list(
            selectors.objections_visible_to(user=user, section=registration.section).select_related(
                "section"
            )
        )
    return render(
        request,
        "bidder/workspace.html",
        {
            "organization": user.organization,
            "signups": signups,
            "open_sections": open_sections,
            "notifications": selectors.notifications_of(user=user)[:20],
            "questions": questions,
            "objections": objections,
            "now": now,
        },
    )
