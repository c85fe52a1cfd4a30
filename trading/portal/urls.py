from django.urls import path

from trading.portal import feeds
from trading.portal.anchors import portal_anchors
from trading.portal.views import (
    portal_blacklist,
    portal_blacklist_appeal,
    portal_blacklist_document,
    portal_blacklist_record,
    portal_home,
    portal_opening,
    portal_rate,
)

urlpatterns = [
    path("portal/", portal_home, name="portal_home"),
    path("portal/ledger/anchors/", portal_anchors, name="portal_anchors"),
    path("portal/blacklist/", portal_blacklist, name="portal_blacklist"),
    path("portal/blacklist/<str:record_id>/", portal_blacklist_record, name="portal_blacklist_record"),
    path("portal/blacklist/<str:record_id>/document/", portal_blacklist_document, name="portal_blacklist_document"),
    path("portal/blacklist/<str:record_id>/appeal/", portal_blacklist_appeal, name="portal_blacklist_appeal"),
    path("portal/sections/<str:public_id>/opening/", portal_opening, name="portal_opening"),
    path("portal/sections/<str:public_id>/rate/", portal_rate, name="portal_rate"),
    path("portal/feeds/announcements.rss", feeds.AnnouncementsFeed(), name="feed_announcements"),
    path("portal/feeds/announcements.atom", feeds.AnnouncementsAtomFeed(), name="feed_announcements_atom"),
    path("portal/feeds/results.rss", feeds.ResultsFeed(), name="feed_results"),
    path("portal/feeds/blacklist.rss", feeds.BlacklistFeed(), name="feed_blacklist"),
]
