"""Blacklist and credit records (R30), enforcement at every point (R31), appeals, and the public list."""

import hashlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import include, path
from django.utils import timezone

from bidding.models import Bid, RoomEvent
from tests.bidflow import kit_for
from tests.factories import (
    OrganizationFactory,
    agency_user,
    bidder_user,
    expert_user,
    publish_section,
    register,
    supervisor_user,
)
from tests.roomkit import prepare
from trading import signals
from trading.credit.models import CreditAppeal, CreditRecord
from trading.credit.services import blacklist
from trading.credit.services.blacklist import Barred, CreditError, add_years
from trading.models import ApiToken, Organization, Registration, Section
from trading.services.errors import Conflict, PermissionDenied
from trading.services.registrations import registration_create
from trading.sweeps import run_sweeps

# The test modules of this issue are their own urlconf until these lines are in trading/urls.py.
urlpatterns = [
    path("api/v1/", include("trading.credit.api_urls")),
    path("api/v1/", include("trading.portal.api_urls")),
    path("", include("trading.portal.urls")),
    path("", include("trading.config.urls")),
]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
SHANGHAI = ZoneInfo("Asia/Shanghai")
C = CreditRecord.Basis


def local(day: date, clock: time = time.min) -> datetime:
    return datetime.combine(day, clock, tzinfo=SHANGHAI)


def today() -> date:
    return timezone.localdate()


def bar(org: Organization, *, starts_on: date | None = None, ends_on: date | None = None, basis: str = C.COLLUSION,
        supervisor=None, now: datetime | None = None) -> CreditRecord:
    starts_on = starts_on or today()
    ends_on = ends_on or add_years(starts_on, 1) - timedelta(days=1)
    return blacklist.credit_record_create(
        user=supervisor or supervisor_user(), party_kind=CreditRecord.PartyKind.BIDDER, organization=org,
        conduct="与其他投标人相互串通投标报价", basis=basis, legal_basis="《招标投标法实施条例》第六十七条",
        measure=CreditRecord.Measure.BAR, authority="市发展和改革委员会", decision_number="杭发改罚〔2026〕12号",
        decision_date=min(starts_on, today()), starts_on=starts_on, ends_on=ends_on,
        document_name="处罚决定书.pdf", document_chunks=[b"%PDF-1.4 decision"], now=now)


def token(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)}"}


# --- R30: the period must fit the basis ----------------------------------------------------------


@pytest.mark.parametrize("basis, years, days_extra, ok", [
    (C.COLLUSION, 1, 0, True), (C.COLLUSION, 2, 0, True), (C.COLLUSION, 1, -1, False), (C.COLLUSION, 2, 1, False),
    (C.BRIBERY, 2, 0, True), (C.BRIBERY, 3, 0, False), (C.FRAUD, 3, 0, True), (C.FRAUD, 1, 0, True),
    (C.FRAUD, 3, 1, False),
])
def test_r30_the_bar_period_must_fit_its_legal_basis(basis, years, days_extra, ok):
    start = date(2026, 3, 1)
    end = add_years(start, years) - timedelta(days=1) + timedelta(days=days_extra)
    problem = blacklist.period_problem(basis=basis, measure=CreditRecord.Measure.BAR, starts_on=start, ends_on=end)
    assert (problem == "") is ok, problem
    if not ok:
        assert "R30" in problem


def test_r30_a_one_year_bar_from_29_february_ends_on_27_february():
    assert add_years(date(2028, 2, 29), 1) - timedelta(days=1) == date(2029, 2, 27)


def test_r30_a_record_with_a_bad_period_is_refused_and_nothing_is_stored():
    org = OrganizationFactory()
    with pytest.raises(CreditError) as caught:
        bar(org, starts_on=today(), ends_on=add_years(today(), 3))
    assert caught.value.field == "ends_on" and "R30" in str(caught.value.message)
    assert not CreditRecord.objects.exists()


def test_r30_a_record_keeps_its_decision_document_with_sha256_and_is_logged():
    from timestamps.models import LedgerEntry

    record = bar(OrganizationFactory())
    assert record.document_sha256 == hashlib.sha256(b"%PDF-1.4 decision").hexdigest()
    entry = LedgerEntry.objects.get(action="credit.record_created")
    assert entry.data["document_sha256"] == record.document_sha256 and entry.object_id == record.public_id


def test_r30_basis_must_match_the_party():
    org = OrganizationFactory()
    with pytest.raises(CreditError):
        blacklist.credit_record_create(
            user=supervisor_user(), party_kind=CreditRecord.PartyKind.BIDDER, organization=org, conduct="x",
            basis=C.EXPERT_MISCONDUCT, legal_basis="x", measure=CreditRecord.Measure.SUSPENSION, authority="x",
            decision_number="x", decision_date=today(), starts_on=today(), ends_on=today(),
            document_name="a.pdf", document_chunks=[b"x"])


def test_r30_an_expert_is_suspended_or_removed_by_code():
    from experts.models import Expert

    Expert.objects.create(code="E0100", name="李四", employer_name="设计院", employer_credit_code="9133" + "0" * 14)
    record = blacklist.credit_record_create(
        user=supervisor_user(), party_kind=CreditRecord.PartyKind.EXPERT, expert_code="E0100", conduct="收受好处",
        basis=C.EXPERT_MISCONDUCT, legal_basis="《招标投标法实施条例》第七十二条", measure=CreditRecord.Measure.REMOVAL,
        authority="市发展和改革委员会", decision_number="罚〔2026〕3号", decision_date=today(), starts_on=today(),
        ends_on=None, document_name="决定.pdf", document_chunks=[b"%PDF"])
    assert record.party_name == "李四" and record.in_force(today() + timedelta(days=3650))


def test_only_a_supervisor_records_a_bar():
    with pytest.raises(PermissionDenied):
        bar(OrganizationFactory(), supervisor=agency_user())


# --- R31: in force from the first day to the last, both inclusive --------------------------------


def test_r31_record_is_in_force_on_its_first_and_last_day_only():
    record = CreditRecord(status=CreditRecord.Status.ACTIVE, starts_on=date(2026, 5, 1), ends_on=date(2027, 4, 30))
    assert not record.in_force(date(2026, 4, 30))
    assert record.in_force(date(2026, 5, 1)) and record.in_force(date(2027, 4, 30))
    assert not record.in_force(date(2027, 5, 1))


def test_r31_registration_refused_from_the_first_second_of_the_start_day_and_allowed_before(api):
    section = publish_section(deadline_days=40)
    bidder = bidder_user()
    start = today() + timedelta(days=2)
    record = bar(bidder.organization, starts_on=start)
    with time_machine.travel(local(start - timedelta(days=1), time(23, 59, 59)), tick=False):
        allowed = registration_create(user=bidder, section_id=section.pk)
    Registration.objects.filter(pk=allowed.pk).delete()
    with time_machine.travel(local(start), tick=False):
        response = api.post(f"/api/v1/sections/{section.public_id}/registrations", {}, format="json",
                            **token(bidder))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "barred" and record.public_id in error["message"] and "R31" in error["message"]
    assert "串通投标" in error["message"] or "Collusive" in error["message"]
    assert not Registration.objects.filter(section=section, organization=bidder.organization).exists()


def test_r31_registration_allowed_again_the_day_after_the_bar_ends():
    section = publish_section(deadline_days=400)
    bidder = bidder_user()
    record = bar(bidder.organization, starts_on=today())
    with pytest.raises(Barred) as caught:
        registration_create(user=bidder, section_id=section.pk, now=local(record.ends_on, time(23, 59, 59)))
    assert record.public_id in str(caught.value.message)
    assert registration_create(user=bidder, section_id=section.pk, now=local(record.ends_on + timedelta(days=1)))


def test_r31_a_barred_bidder_cannot_start_a_bid_upload(api):
    section = publish_section()
    bidder = bidder_user()
    register(section, bidder)
    kit = kit_for(api, bidder)
    record = bar(bidder.organization)
    response = api.post(f"/api/v1/sections/{section.public_id}/bids/uploads", {"size": 70000, "chunk_size": 65536},
                        format="json", **kit.auth)
    assert response.status_code == 403 and record.public_id in response.json()["error"]["message"]


def test_r31_deposit_guard_refuses_a_barred_payer():
    org = OrganizationFactory()
    section = publish_section()
    blacklist.deposit_guard(org, section, timezone.now())  # not barred: nothing happens
    record = bar(org)
    with pytest.raises(Barred) as caught:
        blacklist.deposit_guard(org, section, timezone.now())
    assert record.public_id in str(caught.value.message)


def test_r31_a_bidder_barred_after_submitting_is_disqualified_at_the_opening_and_flagged(api):
    opening = prepare(api, 4)
    barred = opening.kits[1].user.organization
    record = bar(barred)
    with time_machine.travel(opening.section.bid_deadline, tick=False):
        run_sweeps()
    bid = Bid.objects.get(public_id=opening.bids[1])
    assert bid.status == Bid.Status.DISQUALIFIED and record.public_id in bid.outcome_reason
    events = RoomEvent.objects.filter(room__section=opening.section, type="bid_outcome", data__status="disqualified")
    assert events.count() == 1 and events.get().public["bidder"] is None
    opening.section.refresh_from_db()
    assert opening.section.status == Section.Status.OPENING  # three valid bids remain: the opening goes on
    assert Bid.objects.filter(section=opening.section, status=Bid.Status.SUBMITTED,
                              opening_no__isnull=False).count() == 3


def test_r31_a_bar_found_after_the_opening_but_before_evaluation_disqualifies_the_bid(api):
    opening = prepare(api, 3)
    with time_machine.travel(opening.section.bid_deadline, tick=False):
        run_sweeps()
    bar(opening.kits[0].user.organization)
    with time_machine.travel(opening.section.bid_deadline + timedelta(minutes=1), tick=False):
        run_sweeps()
    assert Bid.objects.get(public_id=opening.bids[0]).status == Bid.Status.DISQUALIFIED
    assert Bid.objects.get(public_id=opening.bids[1]).status == Bid.Status.SUBMITTED


def test_r31_a_bidder_whose_bar_ended_is_not_disqualified(api):
    opening = prepare(api, 3)
    org = opening.kits[0].user.organization
    start = today() - timedelta(days=400)
    bar(org, starts_on=start, ends_on=add_years(start, 1) - timedelta(days=1))
    assert blacklist.bids_disqualify_barred(section=opening.section) == []


def test_r31_expert_draw_excludes_a_suspended_expert_and_the_hook_is_registered():
    from experts.models import Expert
    from experts.services import draws

    for code in ("E1", "E2"):
        Expert.objects.create(code=code, name=f"专家{code}", employer_name="院", employer_credit_code="9" * 18,
                              specialties=["土建"])
    blacklist.credit_record_create(
        user=supervisor_user(), party_kind=CreditRecord.PartyKind.EXPERT, expert_code="E1", conduct="违规",
        basis=C.EXPERT_MISCONDUCT, legal_basis="第七十一条", measure=CreditRecord.Measure.SUSPENSION, authority="局",
        decision_number="1号", decision_date=today(), starts_on=today(), ends_on=today() + timedelta(days=179),
        document_name="d.pdf", document_chunks=[b"d"])
    section = publish_section()
    now = timezone.now()
    assert blacklist.draw_exclusion(["E1", "E2"], section, now) == {"E1"}
    assert blacklist.draw_exclusion(["E1", "E2"], section, now + timedelta(days=180)) == set()
    assert signals.expert_draw_exclusions.has_listeners(Section)
    pools = draws.pools_build(section=section, groups=[{"specialty": "土建", "count": 1, "backups": 0}],
                              starts_at=now + timedelta(days=30), ends_at=now + timedelta(days=31), now=now)
    assert pools == [["E2"]]


def test_credit_receivers_are_connected_once_even_if_ready_runs_again():
    from django.apps import apps

    before = len(signals.registration_guard.receivers), len(signals.periodic_sweep.receivers)
    apps.get_app_config("credit").ready()
    apps.get_app_config("supervision").ready()
    assert (len(signals.registration_guard.receivers), len(signals.periodic_sweep.receivers)) == before


# --- appeals (申诉) -------------------------------------------------------------------------------


def test_an_upheld_appeal_revokes_the_record_and_the_party_may_register_again(api):
    section = publish_section()
    bidder = bidder_user()
    record = bar(bidder.organization)
    response = api.post(f"/api/v1/credit/records/{record.public_id}/appeals", {"text": "我公司未参与串通"},
                        format="json", **token(bidder))
    assert response.status_code == 201
    appeal_id = response.json()["id"]
    supervisor = supervisor_user()
    response = api.post(f"/api/v1/credit/appeals/{appeal_id}/decision",
                        {"upheld": True, "decision": "经复核，证据不足，撤销处理。"}, format="json", **token(supervisor))
    assert response.status_code == 200 and response.json()["status"] == "upheld"
    record.refresh_from_db()
    assert record.status == CreditRecord.Status.REVOKED
    assert CreditAppeal.objects.get(public_id=appeal_id).decided_by == supervisor
    assert registration_create(user=bidder, section_id=section.pk)


def test_a_rejected_appeal_keeps_the_bar_and_cannot_be_decided_twice():
    bidder = bidder_user()
    record = bar(bidder.organization)
    appeal = blacklist.credit_appeal_submit(user=bidder, record_id=record.public_id, text="申诉")
    supervisor = supervisor_user()
    blacklist.credit_appeal_decide(user=supervisor, appeal_id=appeal.public_id, upheld=False, decision="维持原决定")
    record.refresh_from_db()
    assert record.status == CreditRecord.Status.ACTIVE
    with pytest.raises(Conflict):
        blacklist.credit_appeal_decide(user=supervisor, appeal_id=appeal.public_id, upheld=True, decision="改判")


def test_appeal_access_only_the_party_appeals_and_only_a_supervisor_decides(api):
    bidder = bidder_user()
    record = bar(bidder.organization)
    other = bidder_user()
    url = f"/api/v1/credit/records/{record.public_id}/appeals"
    assert api.post(url, {"text": "x"}, format="json").status_code == 401
    assert api.post(url, {"text": "x"}, format="json", **token(other)).status_code == 403
    appeal = api.post(url, {"text": "申诉理由"}, format="json", **token(bidder)).json()
    assert api.post(url, {"text": "再次申诉"}, format="json", **token(bidder)).status_code == 409
    decide = f"/api/v1/credit/appeals/{appeal['id']}/decision"
    for user in (bidder, other, agency_user(), expert_user()):
        assert api.post(decide, {"upheld": True, "decision": "x"}, format="json", **token(user)).status_code == 403
    assert [a["id"] for a in api.get("/api/v1/credit/appeals", **token(bidder)).json()] == [appeal["id"]]
    assert api.get("/api/v1/credit/appeals", **token(other)).json() == []


# --- the public blacklist API --------------------------------------------------------------------


def test_the_public_blacklist_lists_records_in_force_and_all_with_scope(api):
    current = bar(OrganizationFactory(name="甲建设有限公司"))
    start = today() - timedelta(days=800)
    expired = bar(OrganizationFactory(name="乙建设有限公司"), starts_on=start,
                  ends_on=add_years(start, 2) - timedelta(days=1))
    future = bar(OrganizationFactory(name="丙建设有限公司"), starts_on=today() + timedelta(days=5))
    listed = api.get("/api/v1/credit/blacklist").json()
    assert [r["id"] for r in listed] == [current.public_id]
    assert listed[0]["basis"] == "collusion" and listed[0]["document"]["sha256"] == current.document_sha256
    every = {r["id"] for r in api.get("/api/v1/credit/blacklist?scope=all").json()}
    assert every == {current.public_id, expired.public_id, future.public_id}
    assert [r["id"] for r in api.get("/api/v1/credit/blacklist?scope=all&q=乙建设").json()] == [expired.public_id]
    detail = api.get(f"/api/v1/credit/records/{expired.public_id}").json()
    assert detail["in_force"] is False
    document = api.get(f"/api/v1/credit/records/{current.public_id}/document")
    assert hashlib.sha256(b"".join(document.streaming_content)).hexdigest() == current.document_sha256
    assert api.get("/api/v1/credit/records/nope").status_code == 404


def test_only_a_supervisor_posts_a_record_through_the_api(api):
    org = OrganizationFactory()
    data = {"party_kind": "bidder", "organization": org.credit_code, "conduct": "弄虚作假", "basis": "fraud",
            "legal_basis": "《招标投标法实施条例》第六十八条", "measure": "bar", "authority": "市发改委",
            "decision_number": "罚〔2026〕9号", "decision_date": today().isoformat(),
            "starts_on": today().isoformat(), "ends_on": (add_years(today(), 3) - timedelta(days=1)).isoformat()}

    def post(**auth):
        return api.post("/api/v1/credit/blacklist", {**data, "document": SimpleUploadedFile("决定书.pdf", b"%PDF-1")},
                        format="multipart", **auth)

    assert post().status_code == 401
    for user in (bidder_user(), agency_user(), expert_user()):
        assert post(**token(user)).status_code == 403
    response = post(**token(supervisor_user()))
    assert response.status_code == 201, response.content
    assert response.json()["ends_on"] == data["ends_on"]
    data["ends_on"] = add_years(today(), 3).isoformat()
    response = post(**token(supervisor_user()))
    assert response.status_code == 400 and response.json()["error"]["field"] == "ends_on"
