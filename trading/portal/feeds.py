"""RSS and Atom feeds of the public portal: announcements, results (openings and awards) and the blacklist."""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from trading import selectors
from trading.credit.services import blacklist
from trading.models import Section

LIMIT = 50


class AnnouncementsFeed(Feed):
    title = _("Tender announcements")
    description = _("Sections newly announced on the public resource trading platform.")

    def link(self):
        return reverse("portal_home")

    def items(self):
        return selectors.sections_public().exclude(published_at__isnull=True).order_by("-published_at")[:LIMIT]

    def item_title(self, section: Section) -> str:
        return f"{section.project.code} {section.project.name} {section.title}"

    def item_description(self, section: Section) -> str:
        return (section.announcement or "")[:500]

    def item_link(self, section: Section) -> str:
        return reverse("section_detail", args=[section.public_id])

    def item_pubdate(self, section: Section) -> datetime:
        return section.published_at

    def item_guid(self, section: Section) -> str:
        return f"announcement:{section.public_id}"

    item_guid_is_permalink = False


class AnnouncementsAtomFeed(AnnouncementsFeed):
    feed_type = Atom1Feed
    subtitle = AnnouncementsFeed.description


@dataclass
class Result:
    guid: str
    title: str
    description: str
    link: str
    at: datetime


def _results() -> list[Result]:
    from bidding.models import RoomEvent

    found = []
    for event in RoomEvent.objects.filter(type="record_ready", room__phase__in=["closed", "failed"]) \
            .select_related("room__section__project").order_by("-at")[:LIMIT]:
        section = event.room.section
        found.append(Result(f"opening:{section.public_id}", f"开标结果 {section.project.name} {section.title}",
                            event.room.failure_reason or "开标完成", reverse("portal_opening", args=[section.public_id]),
                            event.at))
    try:
        award = apps.get_model("experts", "Award")
    except LookupError:
        award = None
    if award is not None:
        for a in award.objects.select_related("section__project", "bid__organization").order_by("-awarded_at")[:LIMIT]:
            found.append(Result(f"award:{a.section.public_id}", f"中标结果 {a.section.project.name} {a.section.title}",
                                f"中标人：{a.bid.organization.name}", reverse("section_detail", args=[a.section.public_id]),
                                a.awarded_at))
    return sorted(found, key=lambda r: r.at, reverse=True)[:LIMIT]


class ResultsFeed(Feed):
    title = _("Opening results and awards")
    description = _("Opening records and award results published on the platform.")

    def link(self):
        return reverse("portal_home") + "?type=openings"

    def items(self):
        return _results()

    def item_title(self, item: Result) -> str:
        return item.title

    def item_description(self, item: Result) -> str:
        return item.description

    def item_link(self, item: Result) -> str:
        return item.link

    def item_pubdate(self, item: Result) -> datetime:
        return item.at

    def item_guid(self, item: Result) -> str:
        return item.guid

    item_guid_is_permalink = False


class BlacklistFeed(Feed):
    title = _("Blacklist")
    description = _("Penalty decisions in force (R30).")

    def link(self):
        return reverse("portal_blacklist")

    def items(self):
        return blacklist.records_in_force(now=timezone.now()).order_by("-created_at")[:LIMIT]

    def item_title(self, record) -> str:
        return f"{record.party_name}（{record.get_basis_display()}）"

    def item_description(self, record) -> str:
        return (f"{record.public_id} · {record.legal_basis} · {record.authority} {record.decision_number} · "
                f"{record.starts_on} — {record.ends_on or '—'}")

    def item_link(self, record) -> str:
        return reverse("portal_blacklist_record", args=[record.public_id])

    def item_pubdate(self, record) -> datetime:
        return record.created_at

    def item_guid(self, record) -> str:
        return f"credit:{record.public_id}"

    item_guid_is_permalink = False
