"""The access and secrecy matrix (issue 13): every URL pattern × anonymous and every role, one expected outcome a cell.

The world (tests/core/matrix_world.py) has agency A's sections (a draft, a published one with bidder A's sign-up,
paid deposit, sealed bid, question and objection, and an evaluated one whose candidates are publicized) and agency
B's published section with bidder B. Every object-scoped URL is filled with an object of agency A / bidder A, so the
"other" columns (bidder B, agency B, an expert not on the committee) ask for another organization's object.
"own" and "other" are relative to that object. There is no finance role: finance staff are platform administrators.

Outcomes (tests/core/matrix_kit.py OUTCOMES): ok, login, deny (403), hidden (404), bad (400/415: the role may act,
the empty body is refused), conflict (409), method (405). A POST is sent with an empty body and rolled back, so a
role without the right must be refused before the body is validated. A 5xx fails any cell.
"""

import json
import re

import pytest
from django.test import Client

from experts.models import Expert, Pick
from experts.services import draws
from tests.core.matrix_fill import FILL_DEFAULT, FILL_OVERRIDE, LITERAL
from tests.core.matrix_kit import (
    OUTCOMES,
    ROLES,
    admin_object_values,
    body_of,
    fill,
    outcome_of,
    request_as,
    url_patterns,
)
from tests.core.matrix_world import build_world
from tests.experts.test_experts_kit import complete_draw, drawable_section, make_experts
from tests.factories import bidder_user
from trading.deposits.bank.client import use_client
from trading.deposits.bank.simulator import BankSimulator, deliver_with
from trading.deposits.models import DepositAccount
from trading.health import heartbeat_record
from trading.models import Section
from trading.services.registrations import registration_create
from trading.supervision import selectors as console
from trading.supervision.services.break_glass import break_glass_open

pytestmark = pytest.mark.django_db

# fmt: off
MATRIX: dict[tuple[str, str], str] = {
    #                                                                                 anon     bidder   bidder   agency   agency   expert   expert   super-   admin
    # (URL name, or route when unnamed; method)                                                own      other    own      other             other    visor
    ("healthz", "GET"):                                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("healthz", "POST"):                                                             "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("readyz", "GET"):                                                               "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("readyz", "POST"):                                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("tsa", "POST"):                                                                 "bad      bad      bad      bad      bad      bad      bad      bad      bad",
    ("tsa-certs", "GET"):                                                            "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("seal-ca", "GET"):                                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("certificates", "GET"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("verify", "GET"):                                                               "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("verify", "POST"):                                                              "bad      bad      bad      bad      bad      bad      bad      bad      bad",
    ("api-schema", "GET"):                                                           "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-docs", "GET"):                                                             "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-token", "POST"):                                                           "bad      bad      bad      bad      bad      bad      bad      bad      bad",
    ("api-logout", "POST"):                                                          "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-me", "GET"):                                                               "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-bidder-signup", "POST"):                                                   "bad      bad      bad      bad      bad      bad      bad      bad      bad",
    ("api-notifications", "GET"):                                                    "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-projects", "GET"):                                                         "login    deny     deny     ok       ok       deny     deny     deny     deny",
    ("api-projects", "POST"):                                                        "login    deny     deny     bad      bad      deny     deny     deny     deny",
    ("api-project", "GET"):                                                          "login    hidden   hidden   ok       hidden   hidden   hidden   hidden   hidden",
    ("api-project-sections", "POST"):                                                "login    hidden   hidden   bad      hidden   hidden   hidden   hidden   hidden",
    ("api-sections", "GET"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-section", "GET"):                                                          "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-section-publish", "POST"):                                                 "login    hidden   hidden   bad      hidden   hidden   hidden   deny     deny",
    ("api-section-cancel", "POST"):                                                  "login    deny     deny     bad      deny     deny     deny     bad      bad",
    ("api-registrations", "POST"):                                                   "login    deny     ok       deny     deny     deny     deny     deny     deny",
    ("api-documents", "GET"):                                                        "login    ok       deny     ok       deny     deny     deny     ok       ok",
    ("api-documents", "POST"):                                                       "login    deny     deny     bad      deny     deny     deny     deny     deny",
    ("api-document", "GET"):                                                         "login    ok       deny     ok       deny     deny     deny     ok       ok",
    ("api-questions", "GET"):                                                        "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-questions", "POST"):                                                       "login    bad      deny     deny     deny     deny     deny     deny     deny",
    ("api-clarifications", "GET"):                                                   "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-clarifications", "POST"):                                                  "deny     deny     deny     bad      deny     deny     deny     deny     deny",
    ("api-objections", "GET"):                                                       "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-objections", "POST"):                                                      "login    bad      deny     deny     deny     deny     deny     deny     deny",
    ("api-objection-answer", "POST"):                                                "login    deny     hidden   bad      hidden   hidden   hidden   deny     deny",
    ("api-deposit", "GET"):                                                          "login    ok       hidden   deny     deny     deny     deny     deny     deny",
    ("api-section-deposits", "GET"):                                                 "login    deny     deny     deny     deny     deny     deny     deny     deny",
    ("api-bank-notifications", "POST"):                                              "login    login    login    login    login    login    login    login    login",
    ("api-forfeitures", "GET"):                                                      "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-forfeiture-confirm", "POST"):                                              "login    deny     deny     deny     deny     deny     deny     ok       deny",
    ("api-forfeiture-reject", "POST"):                                               "login    deny     deny     deny     deny     deny     deny     bad      deny",
    ("api-deposit-alerts", "GET"):                                                   "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-reconciliation", "GET"):                                                   "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-reconciliation-csv", "GET"):                                               "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-bidder-keys", "POST"):                                                     "login    bad      bad      deny     deny     deny     deny     deny     deny",
    ("api-opening-key", "GET"):                                                      "login    ok       deny     ok       ok       deny     deny     ok       ok",
    ("api-upload-create", "POST"):                                                   "login    bad      deny     deny     deny     deny     deny     deny     deny",
    ("api-my-bids", "GET"):                                                          "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("api-upload", "GET"):                                                           "login    ok       hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-upload-chunk", "PUT"):                                                     "login    bad      hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-upload-submit", "POST"):                                                   "login    bad      hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-bid", "GET"):                                                              "login    ok       hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-bid-header", "GET"):                                                       "login    ok       hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-bid-decrypt", "POST"):                                                     "login    bad      hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-opening", "GET"):                                                          "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-opening-record", "GET"):                                                   "hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-opening-record-draft", "GET"):                                             "hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-bid-receipt-pdf", "GET"):                                                  "login    ok       hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-bid-receipt-tsr", "GET"):                                                  "login    ok       hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-bid-receipt-zip", "GET"):                                                  "login    ok       hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("demo_key_backup", "GET"):                                                      "login    hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("set_language", "GET"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("set_language", "POST"):                                                        "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("javascript-catalog", "GET"):                                                   "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("django-admin/login/", "GET"):                                                  "login    login    login    login    login    login    login    login    login",
    ("django-admin/login/", "POST"):                                                 "login    login    login    login    login    login    login    login    login",
    ("admin:index", "GET"):                                                          "login    login    login    login    login    login    login    login    ok",
    ("admin:login", "GET"):                                                          "login    login    login    login    login    login    login    login    login",
    ("admin:logout", "GET"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       method",
    ("admin:password_change", "GET"):                                                "login    login    login    login    login    login    login    login    ok",
    ("admin:password_change_done", "GET"):                                           "login    login    login    login    login    login    login    login    ok",
    ("admin:autocomplete", "GET"):                                                   "login    login    login    login    login    login    login    login    deny",
    ("admin:jsi18n", "GET"):                                                         "login    login    login    login    login    login    login    login    ok",
    ("admin:view_on_site", "GET"):                                                   "login    login    login    login    login    login    login    login    hidden",
    ("admin:auth_group_changelist", "GET"):                                          "login    login    login    login    login    login    login    login    ok",
    ("admin:auth_group_add", "GET"):                                                 "login    login    login    login    login    login    login    login    ok",
    ("admin:auth_group_history", "GET"):                                             "login    login    login    login    login    login    login    login    ok",
    ("admin:auth_group_delete", "GET"):                                              "login    login    login    login    login    login    login    login    ok",
    ("admin:auth_group_change", "GET"):                                              "login    login    login    login    login    login    login    login    ok",
    ("django-admin/auth/group/<path:object_id>/", "GET"):                            "login    login    login    login    login    login    login    login    ok",
    ("django-admin/auth/group/<path:object_id>/", "POST"):                           "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_periodictask_changelist", "GET"):                     "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_periodictask_add", "GET"):                            "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_periodictask_history", "GET"):                        "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_periodictask_delete", "GET"):                         "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_periodictask_change", "GET"):                         "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/periodictask/<path:object_id>/", "GET"):       "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/periodictask/<path:object_id>/", "POST"):      "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_clockedschedule_changelist", "GET"):                  "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_clockedschedule_add", "GET"):                         "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_clockedschedule_history", "GET"):                     "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_clockedschedule_delete", "GET"):                      "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_clockedschedule_change", "GET"):                      "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/clockedschedule/<path:object_id>/", "GET"):    "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/clockedschedule/<path:object_id>/", "POST"):   "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_crontabschedule_changelist", "GET"):                  "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_crontabschedule_add", "GET"):                         "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_crontabschedule_history", "GET"):                     "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_crontabschedule_delete", "GET"):                      "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_crontabschedule_change", "GET"):                      "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/crontabschedule/<path:object_id>/", "GET"):    "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/crontabschedule/<path:object_id>/", "POST"):   "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_solarschedule_changelist", "GET"):                    "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_solarschedule_add", "GET"):                           "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_solarschedule_history", "GET"):                       "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_solarschedule_delete", "GET"):                        "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_solarschedule_change", "GET"):                        "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/solarschedule/<path:object_id>/", "GET"):      "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/solarschedule/<path:object_id>/", "POST"):     "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_intervalschedule_changelist", "GET"):                 "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_intervalschedule_add", "GET"):                        "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_intervalschedule_history", "GET"):                    "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_intervalschedule_delete", "GET"):                     "login    login    login    login    login    login    login    login    ok",
    ("admin:django_celery_beat_intervalschedule_change", "GET"):                     "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/intervalschedule/<path:object_id>/", "GET"):   "login    login    login    login    login    login    login    login    ok",
    ("django-admin/django_celery_beat/intervalschedule/<path:object_id>/", "POST"):  "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessattempt_changelist", "GET"):                                  "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessattempt_add", "GET"):                                         "login    login    login    login    login    login    login    login    deny",
    ("admin:axes_accessattempt_history", "GET"):                                     "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessattempt_delete", "GET"):                                      "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessattempt_change", "GET"):                                      "login    login    login    login    login    login    login    login    ok",
    ("django-admin/axes/accessattempt/<path:object_id>/", "GET"):                    "login    login    login    login    login    login    login    login    ok",
    ("django-admin/axes/accessattempt/<path:object_id>/", "POST"):                   "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accesslog_changelist", "GET"):                                      "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accesslog_add", "GET"):                                             "login    login    login    login    login    login    login    login    deny",
    ("admin:axes_accesslog_history", "GET"):                                         "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accesslog_delete", "GET"):                                          "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accesslog_change", "GET"):                                          "login    login    login    login    login    login    login    login    ok",
    ("django-admin/axes/accesslog/<path:object_id>/", "GET"):                        "login    login    login    login    login    login    login    login    ok",
    ("django-admin/axes/accesslog/<path:object_id>/", "POST"):                       "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessfailurelog_changelist", "GET"):                               "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessfailurelog_add", "GET"):                                      "login    login    login    login    login    login    login    login    deny",
    ("admin:axes_accessfailurelog_history", "GET"):                                  "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessfailurelog_delete", "GET"):                                   "login    login    login    login    login    login    login    login    ok",
    ("admin:axes_accessfailurelog_change", "GET"):                                   "login    login    login    login    login    login    login    login    ok",
    ("django-admin/axes/accessfailurelog/<path:object_id>/", "GET"):                 "login    login    login    login    login    login    login    login    ok",
    ("django-admin/axes/accessfailurelog/<path:object_id>/", "POST"):                "login    login    login    login    login    login    login    login    ok",
    ("admin:app_list", "GET"):                                                       "login    login    login    login    login    login    login    login    hidden",
    ("django-admin/(?P<url>.*)$", "GET"):                                            "login    login    login    login    login    login    login    login    hidden",
    ("django-admin/(?P<url>.*)$", "POST"):                                           "login    login    login    login    login    login    login    login    hidden",
    ("opening_room", "GET"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("opening_room", "POST"):                                                        "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("openings", "GET"):                                                             "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("openings", "POST"):                                                            "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("bid_page", "GET"):                                                             "login    ok       deny     deny     deny     deny     deny     deny     deny",
    ("bid_page", "POST"):                                                            "login    ok       deny     deny     deny     deny     deny     deny     deny",
    ("bidder_keys", "GET"):                                                          "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("bidder_keys", "POST"):                                                         "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("bidder_deposit", "GET"):                                                       "login    ok       hidden   deny     deny     deny     deny     deny     deny",
    ("bidder_deposit", "POST"):                                                      "login    ok       hidden   deny     deny     deny     deny     deny     deny",
    ("section_deposits", "GET"):                                                     "login    deny     deny     deny     deny     deny     deny     deny     deny",
    ("section_deposits", "POST"):                                                    "login    deny     deny     deny     deny     deny     deny     deny     deny",
    ("deposit_reconciliation", "GET"):                                               "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("deposit_reconciliation", "POST"):                                              "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("deposit_supervision", "GET"):                                                  "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("deposit_supervision", "POST"):                                                 "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("forfeiture_confirm", "POST"):                                                  "login    deny     deny     deny     deny     deny     deny     ok       deny",
    ("forfeiture_reject", "POST"):                                                   "login    deny     deny     deny     deny     deny     deny     ok       deny",
    ("api-blacklist", "GET"):                                                        "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-blacklist", "POST"):                                                       "login    deny     deny     deny     deny     deny     deny     bad      bad",
    ("api-credit-record", "GET"):                                                    "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-credit-record-document", "GET"):                                           "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-credit-appeal", "POST"):                                                   "login    bad      deny     deny     deny     deny     deny     deny     deny",
    ("api-credit-appeals", "GET"):                                                   "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-credit-appeal-decision", "POST"):                                          "login    deny     deny     deny     deny     deny     deny     bad      bad",
    ("api-collusion-signals", "GET"):                                                "login    deny     deny     deny     deny     ok       deny     ok       ok",
    ("api-collusion-signals-all", "GET"):                                            "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-section-ratings", "POST"):                                                 "login    deny     deny     bad      deny     bad      deny     deny     deny",
    ("api-supervision-alerts", "GET"):                                               "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-supervision-alert-ack", "POST"):                                           "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-supervision-ratings", "GET"):                                              "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-supervision-follow-up-close", "POST"):                                     "login    deny     deny     deny     deny     deny     deny     bad      bad",
    ("api-ocds-section", "GET"):                                                     "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-ocds-bulk", "GET"):                                                        "bad      bad      bad      bad      bad      bad      bad      bad      bad",
    ("portal_home", "GET"):                                                          "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_home", "POST"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist", "GET"):                                                     "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist", "POST"):                                                    "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist_record", "GET"):                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist_record", "POST"):                                             "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist_document", "GET"):                                            "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist_document", "POST"):                                           "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_blacklist_appeal", "POST"):                                             "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_opening", "GET"):                                                       "hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("portal_opening", "POST"):                                                      "hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("portal_rate", "GET"):                                                          "login    hidden   hidden   ok       hidden   ok       hidden   hidden   hidden",
    ("portal_rate", "POST"):                                                         "login    hidden   hidden   ok       hidden   ok       hidden   hidden   hidden",
    ("feed_announcements", "GET"):                                                   "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_announcements", "POST"):                                                  "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_announcements_atom", "GET"):                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_announcements_atom", "POST"):                                             "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_results", "GET"):                                                         "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_results", "POST"):                                                        "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_blacklist", "GET"):                                                       "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("feed_blacklist", "POST"):                                                      "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-experts", "GET"):                                                          "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-experts", "POST"):                                                         "login    deny     deny     deny     deny     deny     deny     bad      bad",
    ("api-experts-import", "POST"):                                                  "login    deny     deny     deny     deny     deny     deny     bad      bad",
    ("api-expert", "GET"):                                                           "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-expert-status", "POST"):                                                   "login    deny     deny     deny     deny     deny     deny     bad      bad",
    ("api-expert-unavailable", "POST"):                                              "login    deny     deny     deny     deny     bad      deny     bad      bad",
    ("api-draws", "GET"):                                                            "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-draw", "GET"):                                                             "login    deny     deny     ok       deny     deny     deny     ok       ok",
    ("api-draw-audit", "GET"):                                                       "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-draw-replay", "GET"):                                                      "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-draw-entropy", "POST"):                                                    "login    deny     deny     deny     deny     deny     deny     conflict conflict",
    ("api-section-draws", "GET"):                                                    "login    deny     deny     ok       deny     deny     deny     ok       ok",
    ("api-section-draws", "POST"):                                                   "login    deny     deny     bad      deny     deny     deny     deny     deny",
    ("api-invitations", "GET"):                                                      "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-invitation-answer", "POST"):                                               "login    hidden   hidden   hidden   hidden   ok       hidden   hidden   hidden",
    ("api-evaluation", "GET"):                                                       "login    deny     deny     deny     deny     ok       deny     ok       ok",
    ("api-report-pdf", "GET"):                                                       "login    deny     deny     ok       deny     ok       deny     ok       ok",
    ("api-evaluation-documents", "GET"):                                             "login    deny     deny     deny     deny     hidden   deny     deny     deny",
    ("api-evaluation-action", "POST"):                                               "login    deny     deny     deny     deny     bad      deny     deny     deny",
    ("api-publicity", "GET"):                                                        "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-publicity", "POST"):                                                       "deny     deny     deny     bad      deny     deny     deny     deny     deny",
    ("api-publicity-objections", "POST"):                                            "login    deny     deny     deny     deny     deny     deny     deny     deny",
    ("api-publicity-answer", "POST"):                                                "login    deny     deny     bad      deny     deny     deny     deny     deny",
    ("api-award", "POST"):                                                           "login    deny     deny     bad      deny     deny     deny     deny     deny",
    ("api-award-notice", "GET"):                                                     "login    hidden   hidden   hidden   hidden   hidden   hidden   hidden   hidden",
    ("api-contract", "POST"):                                                        "login    deny     deny     bad      deny     deny     deny     deny     deny",
    ("expert_pool", "GET"):                                                          "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("expert_pool", "POST"):                                                         "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("draw_list", "GET"):                                                            "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("draw_list", "POST"):                                                           "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("draw_detail", "GET"):                                                          "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("draw_detail", "POST"):                                                         "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("section_experts", "GET"):                                                      "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("section_experts", "POST"):                                                     "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("expert_home", "GET"):                                                          "login    deny     deny     deny     deny     ok       ok       deny     deny",
    ("expert_home", "POST"):                                                         "login    deny     deny     deny     deny     ok       ok       deny     deny",
    ("evaluation_room", "GET"):                                                      "login    deny     deny     deny     deny     ok       hidden   deny     deny",
    ("evaluation_room", "POST"):                                                     "login    deny     deny     deny     deny     ok       hidden   deny     deny",
    ("evaluation_document", "GET"):                                                  "login    deny     deny     deny     deny     hidden   hidden   deny     deny",
    ("evaluation_document", "POST"):                                                 "login    deny     deny     deny     deny     hidden   hidden   deny     deny",
    ("evaluation_report", "GET"):                                                    "login    deny     deny     ok       hidden   ok       hidden   ok       ok",
    ("evaluation_report", "POST"):                                                   "login    deny     deny     ok       hidden   ok       hidden   ok       ok",
    ("home", "GET"):                                                                 "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("home", "POST"):                                                                "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("section_detail", "GET"):                                                       "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("section_detail", "POST"):                                                      "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("document_download", "GET"):                                                    "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("document_download", "POST"):                                                   "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("section_sign_up", "POST"):                                                     "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("question_ask", "POST"):                                                        "login    bad      deny     deny     deny     deny     deny     deny     deny",
    ("objection_submit", "POST"):                                                    "login    bad      deny     deny     deny     deny     deny     deny     deny",
    ("login", "GET"):                                                                "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("login", "POST"):                                                               "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("login_verify", "GET"):                                                         "login    login    login    login    login    login    login    login    login",
    ("login_verify", "POST"):                                                        "login    login    login    login    login    login    login    login    login",
    ("logout", "POST"):                                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("bidder_signup", "GET"):                                                        "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("bidder_signup", "POST"):                                                       "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("security", "GET"):                                                             "login    deny     deny     ok       ok       deny     deny     ok       ok",
    ("security", "POST"):                                                            "login    deny     deny     ok       ok       deny     deny     ok       ok",
    ("password_change", "GET"):                                                      "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("password_change", "POST"):                                                     "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api_tokens", "GET"):                                                           "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api_tokens", "POST"):                                                          "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("workspace", "GET"):                                                            "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("workspace", "POST"):                                                           "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("agency_workspace", "GET"):                                                     "login    deny     deny     ok       ok       deny     deny     deny     deny",
    ("agency_workspace", "POST"):                                                    "login    deny     deny     ok       ok       deny     deny     deny     deny",
    ("project_create", "GET"):                                                       "login    deny     deny     ok       ok       deny     deny     deny     deny",
    ("project_create", "POST"):                                                      "login    deny     deny     ok       ok       deny     deny     deny     deny",
    ("section_create", "GET"):                                                       "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("section_create", "POST"):                                                      "login    deny     deny     bad      hidden   deny     deny     deny     deny",
    ("agency_section", "GET"):                                                       "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("agency_section", "POST"):                                                      "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("section_edit", "GET"):                                                         "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("section_edit", "POST"):                                                        "login    deny     deny     bad      hidden   deny     deny     deny     deny",
    ("document_upload", "POST"):                                                     "login    deny     deny     bad      hidden   deny     deny     deny     deny",
    ("section_publish", "GET"):                                                      "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("section_publish", "POST"):                                                     "login    deny     deny     ok       hidden   deny     deny     deny     deny",
    ("clarification_publish", "POST"):                                               "login    deny     deny     bad      hidden   deny     deny     deny     deny",
    ("section_cancel", "POST"):                                                      "login    deny     deny     bad      hidden   deny     deny     deny     deny",
    ("objection_answer", "POST"):                                                    "login    deny     deny     bad      hidden   deny     deny     deny     deny",
    ("bidder_workspace", "GET"):                                                     "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("bidder_workspace", "POST"):                                                    "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("supervision_dashboard", "GET"):                                                "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_dashboard", "POST"):                                               "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervisor_overview", "GET"):                                                  "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervisor_overview", "POST"):                                                 "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_ledger_verify", "GET"):                                            "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_ledger_verify", "POST"):                                           "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("ledger_check", "GET"):                                                         "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("ledger_check", "POST"):                                                        "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_alert", "GET"):                                                    "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_alert", "POST"):                                                   "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_signals", "GET"):                                                  "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_signals", "POST"):                                                 "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_break_glass", "GET"):                                              "login    deny     deny     deny     deny     deny     deny     ok       deny",
    ("supervision_break_glass", "POST"):                                             "login    deny     deny     deny     deny     deny     deny     ok       deny",
    ("supervision_record_new", "GET"):                                               "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_record_new", "POST"):                                              "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_appeal_decide", "GET"):                                            "login    deny     deny     deny     deny     deny     deny     method   method",
    ("supervision_appeal_decide", "POST"):                                           "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("supervision_follow_up_close", "GET"):                                          "login    deny     deny     deny     deny     deny     deny     method   method",
    ("supervision_follow_up_close", "POST"):                                         "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("complaint_list", "GET"):                                                       "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("complaint_list", "POST"):                                                      "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("complaint_new", "GET"):                                                        "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("complaint_new", "POST"):                                                       "login    ok       ok       deny     deny     deny     deny     deny     deny",
    ("complaint_detail", "GET"):                                                     "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("complaint_detail", "POST"):                                                    "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("complaint_evidence", "GET"):                                                   "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("complaint_evidence", "POST"):                                                  "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("complaint_action", "POST"):                                                    "login    deny     hidden   deny     hidden   hidden   hidden   ok       ok",
    ("portal_complaints", "GET"):                                                    "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_complaints", "POST"):                                                   "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-complaints", "GET"):                                                       "login    ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-complaint-decisions", "GET"):                                              "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-complaint", "GET"):                                                        "login    ok       hidden   ok       hidden   hidden   hidden   ok       ok",
    ("archive_download", "GET"):                                                     "login    hidden   hidden   ok       hidden   hidden   hidden   ok       ok",
    ("archive_download", "POST"):                                                    "login    hidden   hidden   ok       hidden   hidden   hidden   ok       ok",
    ("portal_anchors", "GET"):                                                       "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("portal_anchors", "POST"):                                                      "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-ledger-anchors", "GET"):                                                   "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("api-expert-invite", "POST"):                                                   "login    deny     deny     deny     deny     deny     deny     ok       ok",
    ("api-pick-phone", "POST"):                                                      "login    deny     deny     deny     deny     deny     deny     deny     ok",
    ("expert_activate", "GET"):                                                      "ok       ok       ok       ok       ok       ok       ok       ok       ok",
    ("expert_activate", "POST"):                                                     "ok       ok       ok       ok       ok       ok       ok       ok       ok",
}
# fmt: on


def expected(key: tuple[str, str]) -> dict[str, str]:
    cells = MATRIX[key].split()
    assert len(cells) == len(ROLES) and set(cells) <= set(OUTCOMES), key
    return dict(zip(ROLES, cells, strict=True))


def test_the_matrix_covers_every_url_pattern_and_only_existing_ones():
    patterns = set(url_patterns())
    listed = {name for name, _method in MATRIX}

    assert sorted(patterns - listed) == [], "URL patterns without a row in MATRIX"
    assert sorted(listed - patterns) == [], "rows in MATRIX for URL patterns that no longer exist"
    assert all(method in ("GET", "POST", "PUT") for _name, method in MATRIX)


def paths_of(world) -> dict[tuple[str, str], str]:
    routes = url_patterns()
    base = {**LITERAL, **admin_object_values()}
    paths = {}
    for name, method in MATRIX:
        choice = {**FILL_DEFAULT, **FILL_OVERRIDE.get(name, {})}
        paths[name, method] = fill(routes[name], {**base, **{p: world.ids[o] for p, o in choice.items()}})
    return paths


def test_every_cell_of_the_matrix_has_its_expected_outcome_and_none_is_a_server_error(record_property):
    world = build_world()
    heartbeat_record()  # /readyz needs a recent sweep
    clients = {role: Client() for role in ROLES}
    for role, client in clients.items():
        if role != "anonymous":
            client.force_login(world.users[role])
    wrong, errors, counts = [], [], dict.fromkeys(OUTCOMES, 0)

    for key, path in paths_of(world).items():
        for role, want in expected(key).items():
            response = request_as(clients[role], key[1], path, world.users.get(role))
            got = outcome_of(response)
            if response.status_code >= 500:
                errors.append(f"{key} {role} {path}: {response.status_code}")
            elif got != want:
                wrong.append(f"{key} {role} {path}: expected {want}, got {got} ({response.status_code})")
            counts[want] += 1

    record_property("matrix_counts", counts)
    assert errors == []
    assert wrong == []
    assert sum(counts.values()) == len(MATRIX) * len(ROLES)


def test_the_matrix_prints_its_counts(capsys):
    """The summary CI shows with or without -s: N patterns, M rows (pattern × method), the cells by outcome."""
    by_outcome = {o: sum(row.split().count(o) for row in MATRIX.values()) for o in OUTCOMES}
    with capsys.disabled():
        print(f"\naccess matrix: {len(url_patterns())} URL patterns, {len(MATRIX)} rows (pattern × method), "
              f"{len(ROLES)} roles, {len(MATRIX) * len(ROLES)} cells; by outcome: "
              + ", ".join(f"{o} {n}" for o, n in by_outcome.items() if n))
    assert sum(by_outcome.values()) == len(MATRIX) * len(ROLES)


# --- secrecy: R14 (who signed up, and how many) before the opening, R25 (the committee) before the result ------


def signed_in_clients(world) -> dict[str, Client]:
    clients = {role: Client() for role in ROLES}
    for role, client in clients.items():
        if role != "anonymous":
            client.force_login(world.users[role])
    return clients


def leaks(clients, world, paths: dict[tuple[str, str], str], secrets: list[str], *, allow=None) -> list[str]:
    """Every GET cell of the matrix, read by its role, whatever its outcome: where does any of ``secrets`` show?"""
    found = []
    for key, path in paths.items():
        if key[1] != "GET" or key[0].startswith("admin:"):
            continue
        for role in ROLES:
            body = body_of(request_as(clients[role], "GET", path, world.users.get(role)))
            shown = [s for s in secrets if s in body and (allow is None or not allow(role, s))]
            if shown:
                found.append(f"{role} {key[0]} {path}: {shown}")
    return found


STAFF_PAGES = ["/finance/deposits/reconciliation/", "/finance/deposits/reconciliation/?format=csv",
               "/api/v1/deposits/reconciliation", "/api/v1/deposits/reconciliation.csv", "/supervisor/deposits/",
               "/supervision/", "/supervisor/", "/supervision/ledger/verify/", "/supervisor/ledger/",
               "/api/v1/deposits/alerts", "/api/v1/deposits/collusion-signals", "/api/v1/supervision/alerts"]


def test_r14_before_the_opening_no_role_learns_a_registrants_name_from_any_page_or_api(settings):
    """Supervisors and administrators included: the deposits list, reconciliation, ledger and console too."""
    world = build_world()
    clients = signed_in_clients(world)
    secret = world.objects["secret_registrant"]
    # Not its username: the ledger names the actor of what is tied to no section (its key registration).
    secrets = [secret.organization.name, secret.organization.credit_code, secret.organization.basic_account_number]
    published = world.ids["published"]
    found = leaks(clients, world, paths_of(world), secrets)
    # the staff pages again, with their query strings, and the deposits list that refuses them before the opening
    for url in [*STAFF_PAGES, f"/sections/{published}/deposits/", f"/api/v1/sections/{published}/deposits"]:
        for role in ("supervisor", "admin", "agency_own"):
            body = body_of(request_as(clients[role], "GET", url, world.users[role]))
            found += [f"{role} {url}: {s}" for s in secrets if s in body]

    assert found == []
    # the control: after the opening the same list names the registrant, so the search above can find it
    Section.objects.filter(public_id=published).update(status=Section.Status.OPENED)
    body = request_as(clients["supervisor"], "GET", f"/sections/{published}/deposits/").content.decode()
    assert secret.organization.name in body


def test_r14_only_break_glass_shows_a_supervisor_the_registrants_before_the_opening():
    world = build_world()
    clients = signed_in_clients(world)
    section = world.objects["published"]
    secret = world.objects["secret_registrant"].organization.name
    url = f"/sections/{section.public_id}/deposits/"
    for role in ("supervisor", "admin", "agency_own"):
        assert request_as(clients[role], "GET", url).status_code == 403
        assert secret not in request_as(clients[role], "GET", url).content.decode()
    listed = {s.pk: s.registration_count for s in console.sections_for_console(user=world.users["supervisor"])}
    assert listed[section.pk] is None

    break_glass_open(user=world.users["supervisor"], section=section, reason="举报线索：疑似围标，需核查报名单位（监督函 2026-17 号）")

    assert secret in request_as(clients["supervisor"], "GET", url).content.decode()
    assert request_as(clients["admin"], "GET", url).status_code == 403


def test_r14_the_staff_pages_read_the_same_with_one_more_paid_registrant_before_the_opening():
    """The number of sign-ups does not show either: one more paid registrant changes nothing staff read about the
    section. Not compared: the ledger pages and the console's ledger tail (a masked row per action, platform-wide)
    and the reconciliation's pooled totals (money across every section before its opening, see the next test)."""
    world = build_world()
    clients = signed_in_clients(world)
    published = world.objects["published"]
    sid = published.public_id
    pages = [f"/sections/{sid}/deposits/", f"/api/v1/sections/{sid}/deposits", f"/agency/sections/{sid}/",
             f"/api/v1/sections/{sid}", f"/sections/{sid}/", "/supervisor/deposits/", "/api/v1/deposits/alerts",
             "/api/v1/deposits/collusion-signals", "/api/v1/supervision/alerts", f"/supervision/sections/{sid}/signals/",
             f"/api/v1/sections/{sid}/questions", f"/api/v1/sections/{sid}/objections", "/api/v1/deposits/forfeitures"]

    def seen() -> dict[str, str]:
        out = {}
        for role in ("supervisor", "admin", "agency_own"):
            for url in pages:
                body = body_of(request_as(clients[role], "GET", url))
                out[f"{role} {url}"] = re.sub(r'csrf[^"]*" (value|content)="[^"]+"', "<csrf>", body)
        listed = console.sections_for_console(user=world.users["supervisor"])
        out["console"] = str({s.pk: s.registration_count for s in listed}[published.pk])
        return out

    before = seen()
    one_more = bidder_user()
    registration_create(user=one_more, section_id=published.pk)
    paid_by_the_bank(published, one_more)
    after = seen()

    assert before["console"] == "None"
    assert [page for page in before if before[page] != after[page]] == []


def test_r14_reconciliation_pools_the_sections_before_their_opening_and_refuses_one_of_them():
    """A section's own row would be its paid deposits: its count times the published deposit amount."""
    world = build_world()
    clients = signed_in_clients(world)
    sealed = [world.objects["published"], world.objects["published_b"]]
    for role in ("supervisor", "admin"):
        for url in ("/finance/deposits/reconciliation/", "/finance/deposits/reconciliation/?format=csv",
                    "/api/v1/deposits/reconciliation", "/api/v1/deposits/reconciliation.csv"):
            body = body_of(request_as(clients[role], "GET", url))
            assert [s.public_id for s in sealed if s.public_id in body] == [], (role, url)
        for url in (f"/finance/deposits/reconciliation/?section={sealed[0].public_id}",
                    f"/api/v1/deposits/reconciliation?section={sealed[0].public_id}"):
            assert request_as(clients[role], "GET", url).status_code == 403, (role, url)
        rows = json.loads(body_of(request_as(clients[role], "GET", "/api/v1/deposits/reconciliation")))["rows"]
        # one pooled row: bidder A's and the secret registrant's deposits on agency A's section with bidder B's
        assert [(r["section"], r["received"]) for r in rows] == [("开标前标段（合并列示，R14）", "600000.00")]


def paid_by_the_bank(section, user) -> None:
    bank = BankSimulator(seed=5)
    use_client(bank)
    try:
        account = DepositAccount.objects.get(section=section, organization=user.organization)
        bank.pay(deliver_with(Client()), virtual_account=account.virtual_account, amount=section.deposit_amount,
                 payer_account=user.organization.basic_account_number, payer_name=user.organization.name)
    finally:
        use_client(None)
    assert DepositAccount.objects.get(pk=account.pk).status == DepositAccount.Status.PAID


def test_r25_before_the_result_no_role_learns_who_sits_on_a_committee():
    """A committee drawn and confirmed for another section of agency A, evaluation not started: no page or API of
    the matrix, the pool's included, names any member to any role (supervisors see the draw's expert codes, by
    design, and the pool seals their names); a member sees only itself. After the result the names are readable."""
    world = build_world()
    section = drawable_section(project=world.objects["published"].project, title="甲 待评标段")
    members = make_experts(9, prefix="RX", start=500, with_users=True, specialties=("土建",))
    Expert.objects.exclude(pk__in=[m.pk for m in members]).update(status=Expert.Status.REMOVED)
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    picks = list(Pick.objects.filter(draw=draw).select_related("expert__user"))
    for pick in picks:
        if pick.primary:
            draws.pick_confirm(user=pick.expert.user, pick_id=pick.public_id)
    member = next(p for p in picks if p.primary).expert
    world.users["expert"] = member.user
    world.ids.update(evaluated=section.public_id, draw=draw.public_id, expert_code=member.code,
                     pick=next(p for p in picks if p.expert == member).public_id)
    clients = signed_in_clients(world)
    names = [p.expert.name for p in picks]

    found = leaks(clients, world, paths_of(world), names,
                  allow=lambda role, shown: role == "expert" and shown == member.name)

    assert len(picks) == 7 and found == []
    Section.objects.filter(pk=section.pk).update(status=Section.Status.PUBLICIZING)  # the control
    assert member.name in body_of(request_as(clients["supervisor"], "GET", f"/api/v1/experts/{member.code}"))
