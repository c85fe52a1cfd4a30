"""No counter anywhere a user can see it (R14): every id that reaches a page, a URL, a notification or an API
answer is a random public id, and nothing a bidder sees changes with the number of other sign-ups."""

import json
import os
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.test import APIClient

from bidding.models import Bid, BidUpload, OpeningObjection
from experts.models import Draw, Pick, PublicityObjection
from tests.factories import (
    OrganizationFactory,
    ProjectFactory,
    UserFactory,
    agency_user,
    bidder_user,
    publish_section,
)
from trading.credit.models import CollusionSignal, CreditAppeal, CreditRecord
from trading.deposits.models import DepositAccount, DepositForfeiture, RefundInstruction
from trading.models import (
    DocumentObjection,
    Notification,
    Organization,
    Project,
    Question,
    Section,
    TenderDocument,
)
from trading.services import clarifications, registrations
from trading.supervision.models import (
    DeadlineAlert,
    RatingFollowUp,
    ServiceRating,
    SupervisionAlert,
)

pytestmark = pytest.mark.django_db

# Every object type whose id a user can see, and where it is seen. The field named here holds the id.
EXPOSED: dict[type[models.Model], tuple[str, str]] = {
    Organization: ("public_id", "GET /api/v1/me organization.id, OCDS parties"),
    Project: ("public_id", "ProjectOut.id, agency URLs <project_id>"),
    Section: ("public_id", "every section URL and API path, SBE1 header `section`"),
    TenderDocument: ("public_id", "document_download URL, /api/v1/sections/<id>/documents/<document_id>, .id"),
    Question: ("public_id", "QuestionOut.id, clarification `answers`, agency answer form"),
    DocumentObjection: ("public_id", "objection_answer URL, /api/v1/objections/<objection_id>/answer, .id"),
    Notification: ("public_id", "NotificationOut.id on /api/v1/notifications"),
    BidUpload: ("public_id", "upload_id in /api/v1/bids/uploads/<upload_id>"),
    Bid: ("public_id", "bid_id in the receipt and /api/v1/bids/<bid_id>"),
    OpeningObjection: ("public_id", "opening room events objection_raised/answered, snapshot, answer message"),
    Draw: ("public_id", "/api/v1/draws/<id>/audit, draw pages"),
    Pick: ("public_id", "expert home confirm/decline form, API pick id"),
    PublicityObjection: ("public_id", "/api/v1/publicity-objections/<objection_id>/answer, publicity JSON"),
    CreditRecord: ("public_id", "blacklist pages and /api/v1/credit/records/<record_id>"),
    CreditAppeal: ("public_id", "supervision_appeal_decide URL, /api/v1/credit/appeals/<appeal_id>/decision"),
    CollusionSignal: ("public_id", "collusion-signals API id"),
    DeadlineAlert: ("public_id", "supervision_alert URL, /api/v1/supervision/alerts/<alert_id>/acknowledge"),
    SupervisionAlert: ("public_id", "/api/v1/deposits/alerts id"),
    ServiceRating: ("public_id", "ratings API id"),
    RatingFollowUp: ("public_id", "supervision_follow_up_close URL, /api/v1/supervision/follow-ups/<id>/close"),
    DepositForfeiture: ("public_id", "forfeiture_confirm/reject URLs and /api/v1/deposits/forfeitures/<id>/..."),
    RefundInstruction: ("instruction_id", "refund alerts and the bank's refund instructions"),
}

# The only integer path parameters allowed, each with the reason it counts nothing a user may not know.
INT_PARAMS_ALLOWED = {
    ("api-upload-chunk", "index"): "the chunk index inside the bidder's own upload (fixed path, DESIGN.md §5.3)",
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        pattern = entry.pattern
        converters = dict(getattr(pattern, "converters", {}) or {})
        if isinstance(pattern, RegexPattern):
            # a regex route counts as an integer route when a named group takes only digits
            for name, regex in re.findall(r"\(\?P<(\w+)>([^)]*)\)", pattern._regex):
                if regex in (r"\d+", "[0-9]+"):
                    converters[name] = IntConverter()
        if isinstance(entry, URLResolver):
            for name, converter in converters.items():
                yield prefix + str(pattern), None, name, converter
            yield from _walk(entry.url_patterns, prefix + str(pattern))
        elif isinstance(entry, URLPattern):
            for name, converter in converters.items():
                yield prefix + str(pattern), entry.name, name, converter


def test_no_url_takes_an_integer_id_except_the_allowlist():
    routes = list(_walk(get_resolver().url_patterns))
    assert any(isinstance(p.pattern, RoutePattern) for p in get_resolver().url_patterns)
    found = [(route, name, param) for route, name, param, converter in routes if isinstance(converter, IntConverter)]
    offending = [f for f in found if (f[1], f[2]) not in INT_PARAMS_ALLOWED]
    assert offending == []
    # the allowlist names real routes, so a stale entry does not hide anything
    assert {(name, param) for _route, name, param in found} == set(INT_PARAMS_ALLOWED)
    # and the ids of the table are all reached by some route as strings
    params = {param for _route, _name, param, _c in routes}
    for needed in ("document_id", "objection_id", "alert_id", "appeal_id", "forfeiture_id", "follow_up_id"):
        assert needed in params


@pytest.mark.parametrize("model", list(EXPOSED), ids=lambda m: m.__name__)
def test_consecutive_ids_are_random_not_counted(model):
    field_name, _where = EXPOSED[model]
    field = model._meta.get_field(field_name)
    assert field.unique and callable(field.default)
    codes = [field.default() for _ in range(50)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert not code.isdigit() and len(code) >= 10
    # Not a counter with a prefix: past the type's fixed prefix, even the first character varies. A counter keeps
    # its leading characters and changes only a suffix. (Two random ids may share a few characters by chance, so
    # this looks at 50 of them rather than at one pair.)
    prefix = len(os.path.commonprefix(codes))
    assert prefix <= 3
    assert len({code[prefix] for code in codes}) >= 10
    assert all(len(code) - prefix >= 8 for code in codes)


def _ints_in(value) -> list:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ints_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in _ints_in(v)]
    return []


def test_a_bidders_notifications_expose_no_counter(api, client):
    """R14: the gap between two notification ids would count the sign-ups; ids are random in API and page."""
    section = publish_section()
    bidder = bidder_user()
    registrations.registration_create(user=bidder, section_id=section.pk)
    # Push the counter far away from small numbers so that a leaked pk is recognisable in the page.
    Notification.objects.create(pk=987_650, organization=OrganizationFactory(), subject="x")
    for text in ("第一次澄清", "第二次澄清"):
        clarifications.clarification_publish(user=section.project.created_by, section_id=section.pk, text=text)
    mine = list(Notification.objects.filter(organization=bidder.organization))
    assert len(mine) == 2 and all(n.pk > 987_650 for n in mine)

    api.force_authenticate(user=bidder)
    answer = api.get("/api/v1/notifications")
    assert answer.status_code == 200
    assert {n["id"] for n in answer.json()} == {n.public_id for n in mine}
    assert _ints_in(answer.json()) == []
    client.force_login(bidder)
    html = client.get("/bidder/").content.decode()
    assert "第一次澄清" in html  # the notifications are on the page
    for n in mine:
        assert str(n.pk) not in answer.content.decode() and str(n.pk) not in html


FIXED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _what_a_bidder_sees(others: int) -> str:
    """Everything one bidder sees of a section after ``others`` other bidders signed up, its own ids masked."""
    with time_machine.travel(FIXED, tick=False), transaction.atomic():
        agency = agency_user(username="r14-agency")
        project = ProjectFactory(code="R14-PROJ", name="R14 项目", agency=agency.organization, created_by=agency)
        section = publish_section(project=project, title="R14 标段", number=1)
        for i in range(others):
            other = UserFactory(username=f"r14-other-{i}")
            registrations.registration_create(user=other, section_id=section.pk)
        org = OrganizationFactory(name="R14 投标公司", basic_account_number="6222020099990001")
        bidder = UserFactory(username="r14-bidder", organization=org)
        seen: dict[str, str] = {}
        api = APIClient()
        api.force_authenticate(user=bidder)
        seen["register"] = api.post(f"/api/v1/sections/{section.public_id}/registrations", {}, format="json").content
        for later in range(others):
            other = UserFactory(username=f"r14-late-{later}")
            registrations.registration_create(user=other, section_id=section.pk)
        question = clarifications.question_ask(user=bidder, section_id=section.pk, text="工期能否调整？")
        objection = clarifications.objection_submit(user=bidder, section_id=section.pk, text="评分办法不合理")
        clarifications.objection_answer(user=agency, objection_id=objection.pk, answer="已修改")
        clarifications.clarification_publish(user=agency, section_id=section.pk, text="工期调整为 200 日历天。",
                                             answers=[question.public_id])
        sid = section.public_id
        for path in ("/api/v1/me", "/api/v1/notifications", f"/api/v1/sections/{sid}",
                     f"/api/v1/sections/{sid}/deposit", f"/api/v1/sections/{sid}/documents",
                     f"/api/v1/sections/{sid}/questions", f"/api/v1/sections/{sid}/objections",
                     f"/api/v1/sections/{sid}/clarifications", f"/api/v1/sections/{sid}/opening-key",
                     "/api/v1/sections/?status=published"):
            response = api.get(path)
            assert response.status_code == 200, path
            seen[path] = response.content
        browser = Client()
        browser.force_login(bidder)
        for path in ("/bidder/", f"/sections/{sid}/", "/"):
            response = browser.get(path)
            assert response.status_code == 200, path
            seen[path] = response.content
        own = [section.public_id, project.public_id, org.public_id, org.credit_code, question.public_id,
               objection.public_id, *section.documents.values_list("public_id", flat=True),
               *Notification.objects.filter(organization=org).values_list("public_id", flat=True),
               *DepositAccount.objects.filter(organization=org).values_list("virtual_account", flat=True),
               section.opening_key.kid]
        masked = {}
        for key, body in seen.items():
            text = body.decode()
            for i, value in enumerate(own):
                text = text.replace(value, f"<own-{i}>")
            text = re.sub(r'(csrfmiddlewaretoken" value=|name="csrf-token" content=)"[^"]+"', r"\1<csrf>", text)
            masked[key.replace(sid, "<sid>")] = re.sub(r'("public_key":)"[^"]+"', r"\1<key>", text)
        text = json.dumps(masked, ensure_ascii=False, indent=1)
        transaction.set_rollback(True)
    return text


def test_r14_a_bidder_cannot_tell_how_many_others_signed_up():
    """R14: with 1 or 5 other sign-ups (before and after its own) the bidder sees exactly the same."""
    one, five = _what_a_bidder_sees(1), _what_a_bidder_sees(5)
    assert "工期调整为 200 日历天" in one and "已修改" in one  # the views really ran
    assert one == five
