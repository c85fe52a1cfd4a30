"""电子监察: deadline alerts with escalation (reminder → early warning → overdue report), the dashboard,
the ledger check from the page, service ratings and their follow-ups."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.credit.test_blacklist import token, urlpatterns  # noqa: F401  (this module is its own urlconf)
from tests.factories import (
    OrganizationFactory,
    SectionFactory,
    agency_user,
    bidder_user,
    expert_user,
    published_section,
    register,
    supervisor_user,
)
from timestamps.models import LedgerEntry
from trading.models import DocumentObjection, Notification, Section
from trading.services.errors import Conflict, DomainError, PermissionDenied
from trading.supervision.models import DeadlineAlert, RatingFollowUp, ServiceRating
from trading.supervision.services import alerts as supervision
from trading.supervision.services import ratings
from trading.supervision.services.alerts import sweep_alerts

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def objection(section, *, submitted, due) -> DocumentObjection:
    return DocumentObjection.objects.create(section=section, organization=OrganizationFactory(), text="评分标准有倾向性",
                                            submitted_at=submitted, answer_due=due)


def levels(subject_id) -> list[str]:
    return sorted(DeadlineAlert.objects.filter(subject_id=str(subject_id)).values_list("level", flat=True))


def test_r04_an_unanswered_objection_escalates_from_reminder_to_warning_to_overdue():
    section = published_section()
    start = timezone.now()
    o = objection(section, submitted=start, due=start + timedelta(days=3))
    assert sweep_alerts(now=start) == 1
    assert levels(o.pk) == ["reminder"]
    warning_at = o.answer_due - timedelta(hours=24)
    sweep_alerts(now=warning_at - timedelta(seconds=1))
    assert levels(o.pk) == ["reminder"]
    sweep_alerts(now=warning_at)
    assert levels(o.pk) == ["reminder", "warning"]
    sweep_alerts(now=o.answer_due - timedelta(seconds=1))
    assert levels(o.pk) == ["reminder", "warning"]
    sweep_alerts(now=o.answer_due)
    assert levels(o.pk) == ["overdue", "reminder", "warning"]
    agency = section.project.agency
    assert Notification.objects.filter(organization=agency).count() == 3
    assert LedgerEntry.objects.filter(action="supervision.overdue").count() == 1


def test_the_sweep_is_idempotent_one_row_per_subject_and_level():
    section = published_section()
    start = timezone.now()
    o = objection(section, submitted=start - timedelta(days=4), due=start - timedelta(days=1))
    assert sweep_alerts(now=start) == 3
    assert sweep_alerts(now=start) == 0 and sweep_alerts(now=start + timedelta(hours=1)) == 0
    assert levels(o.pk) == ["overdue", "reminder", "warning"]


def test_an_answered_objection_resolves_its_alerts_and_raises_no_more():
    section = published_section()
    start = timezone.now()
    o = objection(section, submitted=start, due=start + timedelta(days=3))
    sweep_alerts(now=start)
    DocumentObjection.objects.filter(pk=o.pk).update(status=DocumentObjection.Status.ANSWERED, answer="已答复",
                                                    answered_at=start + timedelta(hours=1))
    sweep_alerts(now=start + timedelta(days=5))
    assert levels(o.pk) == ["reminder"]
    assert DeadlineAlert.objects.get(subject_id=str(o.pk)).resolved_at is not None
    assert supervision.alerts_open() == []


def report_at(section, moment):
    from experts.models import Evaluation

    return Evaluation.objects.create(section=section, started_at=moment - timedelta(days=1), report_at=moment,
                                     status=Evaluation.Status.REPORTED)


def test_r27_candidates_not_publicized_within_3_days_of_the_report_is_overdue():
    section = SectionFactory(status=Section.Status.EVALUATING)
    report = timezone.now()
    evaluation = report_at(section, report)
    sweep_alerts(now=report + timedelta(days=3) - timedelta(seconds=1))
    assert levels(evaluation.pk) == ["reminder", "warning"]
    sweep_alerts(now=report + timedelta(days=3))
    assert levels(evaluation.pk) == ["overdue", "reminder", "warning"]
    assert DeadlineAlert.objects.filter(kind="publicity_start").first().organization == section.project.agency


def test_r27_published_candidates_raise_no_alert():
    from experts.models import Publicity

    section = SectionFactory(status=Section.Status.EVALUATING)
    now = timezone.now()
    evaluation = report_at(section, now - timedelta(days=5))
    Publicity.objects.create(section=section, starts_at=now - timedelta(days=4), ends_at=now, candidates=[],
                             published_by=agency_user())
    sweep_alerts(now=now)
    assert levels(evaluation.pk) == []


def award(section, awarded_at, signed_at=None):
    from bidding.models import Bid
    from experts.models import Award
    from tests.credit.test_collusion import make_bid

    bid = make_bid(section)
    assert bid.status == Bid.Status.DECRYPTED
    return Award.objects.create(section=section, bid=bid, rank=1, awarded_at=awarded_at, awarded_by=agency_user(),
                                notice_path="x", notice_sha256="0" * 64, contract_signed_at=signed_at)


def test_r29_a_contract_not_signed_30_days_after_the_award_is_overdue_and_a_signed_one_is_not():
    awarded = timezone.now() - timedelta(days=30)
    late = award(SectionFactory(status=Section.Status.AWARDED), awarded)
    signed = award(SectionFactory(status=Section.Status.AWARDED), awarded, signed_at=awarded + timedelta(days=2))
    sweep_alerts(now=awarded + timedelta(days=30) - timedelta(seconds=1))
    assert levels(late.pk) == ["reminder", "warning"]
    sweep_alerts(now=awarded + timedelta(days=30))
    assert "overdue" in levels(late.pk) and levels(signed.pk) == []


def test_r18_a_refund_past_due_escalates_using_the_deposits_selector():
    from trading.deposits.models import DepositAccount, RefundInstruction

    section = SectionFactory(status=Section.Status.CONTRACTED)
    account = DepositAccount.objects.create(section=section, organization=OrganizationFactory(),
                                            virtual_account="9558000000000000077")
    now = timezone.now()
    refund = RefundInstruction.objects.create(kind="deposit_refund", reason="contract", account=account,
                                              section=section, principal=Decimal("200000.00"),
                                              payee_account="6222", payee_name="某公司", created_at=now,
                                              due_by=now + timedelta(days=5))
    sweep_alerts(now=now)
    assert levels(refund.pk) == ["reminder"]
    sweep_alerts(now=now + timedelta(days=5, seconds=1))
    assert levels(refund.pk) == ["overdue", "reminder", "warning"]
    RefundInstruction.objects.filter(pk=refund.pk).update(status="done")
    sweep_alerts(now=now + timedelta(days=6))
    assert not [a for a in supervision.alerts_open() if a.subject_id == str(refund.pk)]


# --- service ratings -------------------------------------------------------------------------------


def test_a_participant_rates_a_finished_stage_and_a_poor_rating_opens_a_follow_up(settings):
    settings.RATING_FOLLOWUP_DAYS = 4
    section = published_section()
    bidder = bidder_user()
    register(section, bidder)
    good = ratings.rating_submit(user=bidder, section=section, stage="registration", score=5)
    assert not RatingFollowUp.objects.filter(rating=good).exists()
    with pytest.raises(DomainError) as caught:
        ratings.rating_submit(user=bidder, section=section, stage="opening", score=4)
    assert caught.value.code == "stage_not_over"
    Section.objects.filter(pk=section.pk).update(status=Section.Status.OPENED)
    section.refresh_from_db()
    with pytest.raises(DomainError):
        ratings.rating_submit(user=bidder, section=section, stage="opening", score=2, comment="")
    poor = ratings.rating_submit(user=bidder, section=section, stage="opening", score=2, comment="解密时系统卡顿")
    follow_up = RatingFollowUp.objects.get(rating=poor)
    assert follow_up.due_at == poor.created_at + timedelta(days=4)
    with pytest.raises(Conflict):
        ratings.rating_submit(user=bidder, section=section, stage="opening", score=3)


def test_a_follow_up_not_closed_in_time_is_an_alert_and_a_supervisor_closes_it():
    section = SectionFactory(status=Section.Status.OPENED)
    bidder = bidder_user()
    register(section, bidder)
    now = timezone.now()
    poor = ratings.rating_submit(user=bidder, section=section, stage="bidding", score=1, comment="上传失败", now=now)
    follow_up = poor.follow_up
    sweep_alerts(now=follow_up.due_at)
    assert levels(follow_up.pk) == ["overdue", "reminder", "warning"]
    with pytest.raises(PermissionDenied):
        ratings.follow_up_close(user=agency_user(), follow_up_id=follow_up.public_id, resolution="x")
    ratings.follow_up_close(user=supervisor_user(), follow_up_id=follow_up.public_id, resolution="已联系投标人，系网络问题")
    sweep_alerts(now=follow_up.due_at + timedelta(hours=1))
    assert all(a.resolved_at for a in DeadlineAlert.objects.filter(subject_id=str(follow_up.pk)))


def test_ratings_api_refuses_non_participants_and_bad_scores(api):
    section = SectionFactory(status=Section.Status.OPENED)
    bidder = bidder_user()
    register(section, bidder)
    url = f"/api/v1/sections/{section.public_id}/ratings"
    assert api.post(url, {"stage": "bidding", "score": 4}, format="json").status_code == 401
    assert api.post(url, {"stage": "bidding", "score": 4}, format="json", **token(bidder_user())).status_code == 403
    assert api.post(url, {"stage": "bidding", "score": 9}, format="json", **token(bidder)).status_code == 400
    response = api.post(url, {"stage": "bidding", "score": 2, "comment": "慢"}, format="json", **token(bidder))
    assert response.status_code == 201 and response.json()["follow_up"]["status"] == "open"
    listing = "/api/v1/supervision/ratings"
    assert api.get(listing, **token(bidder)).status_code == 403
    assert len(api.get(listing, **token(supervisor_user())).json()) == 1
    close = f"/api/v1/supervision/follow-ups/{response.json()['follow_up']['id']}/close"
    assert api.post(close, {"resolution": "x"}, format="json", **token(bidder)).status_code == 403
    assert api.post(close, {"resolution": "已处理"}, format="json", **token(supervisor_user())).status_code == 200
    assert ServiceRating.objects.count() == 1


def test_the_agency_of_the_section_may_rate_and_another_agency_may_not():
    section = SectionFactory(status=Section.Status.AWARDED)
    own = agency_user()
    section.project.agency = own.organization
    section.project.save()
    assert ratings.rating_submit(user=own, section=section, stage="award", score=4)
    with pytest.raises(PermissionDenied):
        ratings.rating_submit(user=agency_user(), section=section, stage="award", score=4)


# --- alerts API and the dashboard ------------------------------------------------------------------


def test_alerts_api_is_for_supervisors_only(api):
    section = published_section()
    now = timezone.now()
    o = objection(section, submitted=now - timedelta(days=4), due=now - timedelta(days=1))
    sweep_alerts(now=now)
    assert api.get("/api/v1/supervision/alerts").status_code == 401
    for user in (bidder_user(), agency_user(), expert_user()):
        assert api.get("/api/v1/supervision/alerts", **token(user)).status_code == 403
    listed = api.get("/api/v1/supervision/alerts", **token(supervisor_user())).json()
    assert [(a["level"], a["kind"]) for a in listed] == [("overdue", "objection_answer")]
    ack = f"/api/v1/supervision/alerts/{listed[0]['id']}/acknowledge"
    assert api.post(ack, **token(agency_user())).status_code == 403
    assert api.post(ack, **token(supervisor_user())).json()["acknowledged_at"]
    assert str(o.pk) == DeadlineAlert.objects.get(public_id=listed[0]["id"]).subject_id


def test_dashboard_shows_live_sections_phases_alerts_ratings_and_ledger(client):
    from tests.roomkit import prepare  # noqa: F401  (the opening phase is covered in the blacklist tests)

    section = published_section(title="第一标段 道路施工")
    now = timezone.now()
    objection(section, submitted=now - timedelta(days=4), due=now - timedelta(days=1))
    sweep_alerts(now=now)
    client.force_login(supervisor_user())
    for path in ("/supervision/", "/supervisor/"):  # the old overview path renders the one console
        page = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        html = page.content.decode()
        assert "<h1>Supervision overview</h1>" in html
        assert "第一标段 道路施工" in html and "level-overdue" in html and "ledger" in html
        assert "Objections awaiting an answer" in html and "Appeals to decide" in html
        assert 'href="/supervision/ledger/verify/"' in html


def test_ledger_is_verified_from_the_page_and_tampering_is_named(client):
    from timestamps.ledger import ledger_append

    for i in range(3):
        ledger_append(action="test.entry", data={"i": i})
    client.force_login(supervisor_user())
    page = client.post("/supervision/ledger/verify/", follow=True)
    assert "verify-ok" in page.content.decode()
    entry = LedgerEntry.objects.get(seq=2)
    LedgerEntry.objects.filter(pk=entry.pk).update(data={"i": 99})
    page = client.post("/supervision/ledger/verify/", follow=True)
    html = page.content.decode()
    assert "verify-bad" in html and "entry 2 was changed" in html


def test_supervision_pages_refuse_other_roles(client):
    section = published_section()
    now = timezone.now()
    objection(section, submitted=now, due=now + timedelta(days=3))
    sweep_alerts(now=now)
    alert = DeadlineAlert.objects.get()
    pages = ["/supervision/", f"/supervision/alerts/{alert.public_id}/", f"/supervision/sections/{section.public_id}/signals/",
             "/supervision/credit/new/"]
    posts = ["/supervision/ledger/verify/", "/supervision/appeals/1/decide/", "/supervision/follow-ups/1/close/"]
    for url in pages + posts:
        assert client.get(url).status_code in (302, 405)
    for user in (bidder_user(), agency_user(), expert_user()):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 403, url
        for url in posts:
            assert client.post(url).status_code == 403, url
    client.force_login(supervisor_user())
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert client.post(f"/supervision/alerts/{alert.public_id}/", follow=True).status_code == 200
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None


def test_a_supervisor_publishes_a_record_from_the_form(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from trading.credit.models import CreditRecord
    from trading.credit.services.blacklist import add_years

    org = OrganizationFactory(name="丁建设有限公司")
    today = timezone.localdate()
    data = {"party_kind": "bidder", "party": org.credit_code, "conduct": "串通投标", "basis": "collusion",
            "legal_basis": "《招标投标法实施条例》第六十七条", "measure": "bar", "authority": "市发改委",
            "decision_number": "罚〔2026〕1号", "decision_date": today.isoformat(), "starts_on": today.isoformat(),
            "ends_on": add_years(today, 3).isoformat()}
    client.force_login(supervisor_user())
    page = client.post("/supervision/credit/new/", {**data, "document": SimpleUploadedFile("d.pdf", b"%PDF")})
    assert page.status_code == 200 and "R30" in page.content.decode() and not CreditRecord.objects.exists()
    data["ends_on"] = (add_years(today, 2) - timedelta(days=1)).isoformat()
    page = client.post("/supervision/credit/new/", {**data, "document": SimpleUploadedFile("d.pdf", b"%PDF")})
    record = CreditRecord.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/portal/blacklist/{record.public_id}/"


# --- one console, one ledger page, one alert list ------------------------------------------------------


def _anchored_chain_with_a_forged_anchor():
    from timestamps.anchors import ledger_anchor
    from timestamps.ledger import ledger_append
    from timestamps.models import LedgerAnchor

    for i in range(3):
        ledger_append(action="test.entry", data={"i": i})
    anchor = ledger_anchor(force=True)
    token = bytearray(anchor.token)
    token[-10] ^= 0xFF
    LedgerAnchor.objects.filter(pk=anchor.pk).update(token=bytes(token))


@pytest.mark.parametrize("method,path", [("get", "/supervisor/ledger/"), ("get", "/supervision/ledger/verify/"),
                                         ("post", "/supervision/ledger/verify/")])
def test_r33_every_ledger_url_checks_the_timestamped_anchors_too(client, method, path):
    client.force_login(supervisor_user())
    _anchored_chain_with_a_forged_anchor()
    html = getattr(client, method)(path, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "verify-bad" in html and "does not verify" in html


def test_the_console_lists_deadline_and_bank_refund_alerts_once_each(client):
    from trading.deposits.models import DepositAccount, RefundInstruction
    from trading.supervision.models import SupervisionAlert
    from trading.supervision.selectors import alerts_for_console

    section = SectionFactory(status=Section.Status.CONTRACTED)
    now = timezone.now()
    late, rejected = (RefundInstruction.objects.create(
        kind="deposit_refund", reason="contract", section=section, principal=Decimal("200000.00"),
        account=DepositAccount.objects.create(section=section, organization=OrganizationFactory(),
                                              virtual_account=f"955800000000000007{i}"),
        payee_account="6222", payee_name="某公司", created_at=now - timedelta(days=6), due_by=due)
        for i, due in enumerate((now - timedelta(days=1), now + timedelta(days=3))))
    sweep_alerts(now=now)
    SupervisionAlert.objects.create(kind="refund_overdue", section=section, instruction=late, message="逾期退款")
    SupervisionAlert.objects.create(kind="refund_rejected", section=section, instruction=rejected,
                                    message="银行拒绝退款")
    rows = alerts_for_console(user=supervisor_user())
    messages = [r.message for r in rows]
    assert "逾期退款" not in messages  # the deadline alert of the same refund already reports it
    assert "银行拒绝退款" in messages
    assert rows[0].level == "overdue" and rows[0].deadline_alert_id is not None
    with pytest.raises(PermissionDenied):
        alerts_for_console(user=agency_user())
    client.force_login(supervisor_user())
    assert "银行拒绝退款" in client.get("/supervision/").content.decode()
