"""开标大厅: the opening room page and the list of live openings (DESIGN.md §8).

The page renders the room as the visitor's role may see it (the same snapshot the WebSocket sends), then
static/js/room.js connects to ``/ws/sections/<id>/opening/`` with the session cookie and keeps it live.
Texts go through gettext: the templates use {% translate %}, and room.js gets its texts from Django's
JavaScript catalogue (jsi18n/, djangojs domain). Where the room words a term differently from the rest of
the site, the msgid carries the context "opening room".
"""

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, pgettext_lazy

from bidding.models import OpeningRoom
from bidding.room.access import room_role
from bidding.room.snapshot import room_snapshot
from trading import selectors
from trading.demo import LIVE_PROJECT

ROLE_LABELS = {
    "host": gettext_lazy("Host (agency)"),
    "supervisor": gettext_lazy("Supervisor"),
    "bidder": gettext_lazy("Bidder"),
    "public": gettext_lazy("Public observer"),
}
PHASE_LABELS = {
    "signin": gettext_lazy("Sign-in"),
    "extraction": pgettext_lazy("opening room", "Extracting bids"),
    "decryption": gettext_lazy("Decryption"),
    "reading": gettext_lazy("Reading prices"),
    "objections": gettext_lazy("Objections"),
    "record": gettext_lazy("Opening record"),
    "closed": pgettext_lazy("opening room", "Closed"),
    "failed": gettext_lazy("Failed"),
}
STEPS = [
    ("signin", gettext_lazy("Sign-in")),
    ("decryption", gettext_lazy("Decryption")),
    ("reading", gettext_lazy("Price reading")),
    ("objections", gettext_lazy("Objections")),
    ("record", pgettext_lazy("opening room", "Record")),
]

LIVE_PHASES = [OpeningRoom.Phase.SIGNIN, OpeningRoom.Phase.EXTRACTION, OpeningRoom.Phase.DECRYPTION,
               OpeningRoom.Phase.READING, OpeningRoom.Phase.OBJECTIONS, OpeningRoom.Phase.RECORD]


def opening_room(request, section_id: str):
    section = selectors.section_get_visible(user=request.user, public_id=section_id)
    room = OpeningRoom.objects.filter(section=section).first()
    if room is None:
        raise Http404
    role = room_role(request.user, section)
    me = None
    if role == "bidder":
        org = request.user.organization
        me = {"organization": org.name, "credit_code": org.credit_code}
    snapshot = room_snapshot(room, role=role, org_id=getattr(request.user, "organization_id", None))
    config = {
        "section": section.public_id,
        "ws": f"/ws/sections/{section.public_id}/opening/",
        "snapshot_url": f"/api/v1/sections/{section.public_id}/opening",
        "header_url": "/api/v1/bids/{id}/envelope-header",
        "draft_url": f"/api/v1/sections/{section.public_id}/opening/record-draft.pdf",
        "signer_id": str(request.user.pk) if role in ("host", "supervisor") else None,  # whose staff key (ADR 0032)
        "lang": "en" if translation.get_language().startswith("en") else "zh-hans",
        "me": me,
    }
    return render(request, "room/room.html", {
        "section": section, "project": section.project, "room": room, "role": role,
        "role_label": ROLE_LABELS[role], "snapshot": snapshot, "config": config, "steps": STEPS,
        "demo": _demo(request.user, section, role),
    })


def _demo(user, section, role: str) -> dict | None:
    """The live demo opening: the robot's label, and a demo bidder's own key backup to import."""
    from bidding.web_demo import demo_backup_available

    if section.project.code != LIVE_PROJECT:
        return None
    return {"robot": settings.DEMO_ROBOT,
            "backup": role == "bidder" and demo_backup_available(user),
            "passphrase": settings.DEMO_KEY_PASSPHRASE}


def openings(request):
    """Today's openings and every opening still under way, soonest first."""
    now = timezone.localtime()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rooms = (OpeningRoom.objects.select_related("section__project")
             .exclude(section__status="draft").exclude(section__status="cancelled")
             .filter(section__bid_deadline__gte=start, section__bid_deadline__lt=start + timedelta(days=1))
             | OpeningRoom.objects.select_related("section__project").filter(
                 phase__in=LIVE_PHASES[1:]))
    rows = [{"room": room, "phase_label": PHASE_LABELS.get(room.phase, room.phase),
             "live": room.phase in LIVE_PHASES[1:]}
            for room in rooms.distinct().order_by("section__bid_deadline")[:200]]
    return render(request, "room/openings.html", {"rows": rows})


urlpatterns = [
    path("sections/<str:section_id>/opening/", opening_room, name="opening_room"),
    path("openings/", openings, name="openings"),
]
