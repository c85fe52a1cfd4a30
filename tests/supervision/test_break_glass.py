"""R14 and R25 for every role, supervisors and admins included, and the supervisors' break-glass (破窗查看):
a written reason, a ledger entry, a notice to the other supervisors, a line in the opening record, and a view of
one section that expires after BREAK_GLASS_MINUTES."""

import re
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation

from bidding.models import OpeningRoom
from bidding.room.record import record_draft_pdf
from tests.experts.test_experts_kit import drawable_section, seat_committee
from tests.factories import (
    UserFactory,
    agency_user,
    bidder_user,
    publish_section,
    published_section,
    supervisor_user,
)
from timestamps.ledger import ledger_append, ledger_verify
from timestamps.models import LedgerEntry
from trading.deposits.bank.client import use_client
from trading.deposits.bank.simulator import BankSimulator, deliver_with
from trading.deposits.models import DepositAccount
from trading.models import Notification, Section, User
from trading.services.errors import PermissionDenied
from trading.services.registrations import registration_create
from trading.supervision import selectors as console
from trading.supervision.models import BreakGlass
from trading.supervision.services.break_glass import BreakGlassError, break_glass_open

pytestmark = pytest.mark.django_db

REASON = "举报线索：疑似围标，需核查报名单位与保证金来源（监督函 2026-17 号）"


@pytest.fixture
def bank():
    sim = BankSimulator(seed=11)
    use_client(sim)
    yield sim
    use_client(None)


def admin_user() -> User:
    return UserFactory(role=User.Role.ADMIN, organization=None)


def signed_up(section: Section) -> DepositAccount:
    user = bidder_user()
    registration_create(user=user, section_id=section.pk)
    return DepositAccount.objects.get(section=section, organization=user.organization)


def paid(api, bank, account: DepositAccount) -> DepositAccount:
    bank.pay(deliver_with(api), virtual_account=account.virtual_account, amount=Decimal("200000.00"),
             payer_account=account.organization.basic_account_number, payer_name=account.organization.name)
    account.refresh_from_db()
    assert account.status == "paid"
    return account


def open_section(section: Section) -> None:
    Section.objects.filter(pk=section.pk).update(status=Section.Status.OPENING)
    section.refresh_from_db()


def deposits_api(api, user, section):
    api.force_authenticate(user=user)
    return api.get(f"/api/v1/sections/{section.public_id}/deposits")


def deposits_page(client, user, section):
    client.force_login(user)
    return client.get(f"/sections/{section.public_id}/deposits/")


# --- R14 before the opening, for every role -----------------------------------------------------------


def test_r14_no_staff_role_sees_the_deposits_list_before_the_opening_and_every_one_after(api, client, bank):
    section = published_section()
    account = paid(api, bank, signed_up(section))
    name, code = account.organization.name, account.organization.credit_code
    staff = [supervisor_user(), admin_user(), section.project.created_by]
    for user in staff:
        before = deposits_api(api, user, section)
        assert before.status_code == 403 and before.json()["error"]["code"] == "before_opening"
        page = deposits_page(client, user, section)
        assert page.status_code == 403 and name not in page.content.decode()
    open_section(section)
    for user in staff:
        rows = deposits_api(api, user, section).json()["deposits"]
        assert [(r["organization"]["name"], r["organization"]["credit_code"], r["status"]) for r in rows] \
            == [(name, code, "paid")]
        assert name in deposits_page(client, user, section).content.decode()


def test_r14_reconciliation_gives_totals_without_names_before_the_opening(api, client, bank):
    section = published_section()
    account = paid(api, bank, signed_up(section))
    bank.pay(deliver_with(api), virtual_account="95580000000000000077", amount=Decimal("5.00"),
             payer_account="6222000011119999", payer_name=account.organization.name)
    name, code = account.organization.name, account.organization.credit_code
    for user in (admin_user(), supervisor_user()):  # finance staff are the platform's administrators
        client.force_login(user)
        page = client.get("/finance/deposits/reconciliation/").content.decode()
        csv_text = client.get("/finance/deposits/reconciliation/?format=csv").content.decode("utf-8-sig")
        api.force_authenticate(user=user)
        body = api.get("/api/v1/deposits/reconciliation").content.decode()
        for text in (page, csv_text, body):
            assert name not in text and code not in text and account.organization.basic_account_number not in text
        assert api.get("/api/v1/deposits/reconciliation").json()["totals"]["received"] == "200005.00"
        assert "95580000000000000077" in page  # the unknown virtual account, without its payer


def test_r14_supervisor_console_hides_the_sign_up_count_before_the_opening():
    section = published_section()
    signed_up(section)
    supervisor = supervisor_user()
    counts = {s.pk: s.registration_count for s in console.sections_for_console(user=supervisor)}
    assert counts[section.pk] is None
    open_section(section)
    counts = {s.pk: s.registration_count for s in console.sections_for_console(user=supervisor)}
    assert counts[section.pk] == 1


def test_r14_ledger_page_masks_the_registrant_before_the_opening_and_the_chain_still_verifies(client):
    section = published_section()
    registrant = bidder_user()
    registration_create(user=registrant, section_id=section.pk)
    assert LedgerEntry.objects.filter(action="registration.created", actor=registrant.username).exists()
    for user in (supervisor_user(), admin_user()):
        client.force_login(user)
        for url in ("/supervision/ledger/verify/", "/supervision/"):
            html = client.get(url).content.decode()
            assert "registration.created" in html and registrant.username not in html
            assert registrant.organization.credit_code not in html
    assert ledger_verify().ok  # only the rendering masks
    open_section(section)
    client.force_login(supervisor_user())
    assert registrant.username in client.get("/supervision/ledger/verify/").content.decode()


def test_r14_deposit_supervision_page_hides_same_account_signals_before_the_opening(api, client, bank):
    section = published_section()
    a, b = signed_up(section), signed_up(section)
    paid(api, bank, a)
    bank.pay(deliver_with(api), virtual_account=b.virtual_account, amount=Decimal("200000.00"),
             payer_account=a.organization.basic_account_number, payer_name=a.organization.name)
    client.force_login(supervisor_user())
    assert b.organization.name not in client.get("/supervisor/deposits/").content.decode()
    open_section(section)
    assert b.organization.name in client.get("/supervisor/deposits/").content.decode()


# --- the break-glass ------------------------------------------------------------------------------


def test_r14_break_glass_requires_a_written_reason_of_the_minimum_length(settings):
    settings.BREAK_GLASS_REASON_MIN_LENGTH = 20
    section, supervisor = published_section(), supervisor_user()
    for reason in ("", "   ", "x" * 19, " " + "x" * 19 + " "):
        with pytest.raises(BreakGlassError) as refused:
            break_glass_open(user=supervisor, section=section, reason=reason)
        assert refused.value.code == "reason_too_short" and refused.value.field == "reason"
    assert not BreakGlass.objects.exists()
    assert not LedgerEntry.objects.filter(action="supervision.break_glass").exists()
    assert break_glass_open(user=supervisor, section=section, reason="x" * 20).reason == "x" * 20


def test_r14_break_glass_is_for_supervisors_only():
    section = published_section()
    for user in (admin_user(), section.project.created_by, bidder_user()):
        with pytest.raises(PermissionDenied):
            break_glass_open(user=user, section=section, reason=REASON)
    assert not BreakGlass.objects.exists()


def test_r14_break_glass_writes_a_ledger_entry_and_notifies_the_other_supervisors():
    section = published_section()
    supervisor, colleague, other = supervisor_user(), supervisor_user(), supervisor_user()
    grant = break_glass_open(user=supervisor, section=section, reason=REASON)
    entry = LedgerEntry.objects.get(action="supervision.break_glass")
    assert (entry.actor, entry.object_id, entry.data["reason"]) == (supervisor.username, section.public_id, REASON)
    assert entry.data["expires_at"] == grant.expires_at.isoformat()
    for user in (colleague, other):
        notice = Notification.objects.get(organization=user.organization)
        assert notice.section == section and supervisor.username in notice.body and REASON in notice.body
    assert not Notification.objects.filter(organization=supervisor.organization).exists()
    assert ledger_verify().ok


def test_r14_break_glass_grants_that_supervisor_that_section_only_and_expires(api, client, bank, settings):
    settings.BREAK_GLASS_MINUTES = 30
    section, elsewhere = published_section(), published_section()
    account = paid(api, bank, signed_up(section))
    signed_up(elsewhere)
    supervisor, colleague = supervisor_user(), supervisor_user()
    start = timezone.now()
    grant = break_glass_open(user=supervisor, section=section, reason=REASON, now=start)
    assert grant.expires_at == start + timedelta(minutes=30)
    with time_machine.travel(grant.expires_at - timedelta(seconds=1), tick=False):
        rows = deposits_api(api, supervisor, section).json()["deposits"]
        assert [r["organization"]["name"] for r in rows] == [account.organization.name]
        assert account.organization.name in deposits_page(client, supervisor, section).content.decode()
        assert deposits_api(api, supervisor, elsewhere).status_code == 403
        assert deposits_api(api, colleague, section).status_code == 403
        assert console.registrants_sealed(user=supervisor, section=section) is False
        assert console.registrants_sealed(user=supervisor, section=elsewhere) is True
        client.force_login(supervisor)
        assert account.organization.users.first().username in \
            client.get("/supervision/ledger/verify/").content.decode()
    with time_machine.travel(grant.expires_at, tick=False):
        assert deposits_api(api, supervisor, section).status_code == 403
        assert console.registrants_sealed(user=supervisor, section=section) is True


def test_r14_break_glass_page_takes_the_reason_and_refuses_other_roles(client):
    section = published_section()
    url = f"/supervision/sections/{section.public_id}/break-glass/"
    for user in (admin_user(), agency_user(), bidder_user()):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": REASON}).status_code == 403
    supervisor = supervisor_user()
    client.force_login(supervisor)
    with translation.override("en"):
        short = client.post(url, {"reason": "看一下"}, HTTP_ACCEPT_LANGUAGE="en")
    assert short.status_code == 200 and "at least" in short.content.decode()
    assert not BreakGlass.objects.exists()
    assert client.post(url, {"reason": REASON}).status_code == 302
    assert BreakGlass.objects.get().user == supervisor
    page = client.get(url).content.decode()
    assert REASON in page and 'id="break-glass-active"' in page


def _pdf_text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "r.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout
    return re.sub(r"\s+", "", text)  # pdftotext adds or drops spaces between CJK glyphs


def test_r14_break_glass_shows_in_the_opening_record(tmp_path):
    section, quiet = publish_section(), publish_section()
    supervisor = supervisor_user()
    break_glass_open(user=supervisor, section=section, reason=REASON)
    now = timezone.now()
    text = _pdf_text(record_draft_pdf(OpeningRoom.objects.get(section=section), now=now), tmp_path)
    assert "监督破窗查看" in text and supervisor.username in text and re.sub(r"\s+", "", REASON) in text
    other = _pdf_text(record_draft_pdf(OpeningRoom.objects.get(section=quiet), now=now), tmp_path)
    assert "监督破窗查看无。" in other and supervisor.username not in other


# --- R25: the expert directory does not unseal a committee --------------------------------------------


def _sealed_committee():
    section = drawable_section()
    pick = seat_committee(section)[0]
    return section, pick.expert


def test_r25_directory_lookup_of_a_sealed_committee_code_is_refused_for_supervisors_and_admins(api, client):
    _section, expert = _sealed_committee()
    for user in (supervisor_user(), admin_user()):
        api.force_authenticate(user=user)
        refused = api.get(f"/api/v1/experts/{expert.code}", HTTP_ACCEPT_LANGUAGE="en")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "committee_sealed"
        assert "R25" in refused.json()["error"]["message"] and expert.name not in refused.content.decode()
        listed = {e["code"]: e for e in api.get("/api/v1/experts/").json()}
        assert listed[expert.code]["sealed"] is True and listed[expert.code]["name"] is None
        client.force_login(user)
        by_code = client.get("/supervisor/experts/", {"q": expert.code}).content.decode()
        assert expert.code in by_code and expert.name not in by_code and "R25" in by_code
        by_name = client.get("/supervisor/experts/", {"q": expert.name}).content.decode()
        assert expert.code not in by_name


def test_r25_refusal_is_in_the_users_language(api):
    _section, expert = _sealed_committee()
    api.force_authenticate(user=supervisor_user())
    zh = api.get(f"/api/v1/experts/{expert.code}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["error"]["message"]
    en = api.get(f"/api/v1/experts/{expert.code}", HTTP_ACCEPT_LANGUAGE="en").json()["error"]["message"]
    assert "评标委员会" in zh and "committee" in en and zh != en


def test_r25_directory_lookup_is_allowed_after_the_result(api):
    section, expert = _sealed_committee()
    Section.objects.filter(pk=section.pk).update(status=Section.Status.PUBLICIZING)
    for user in (supervisor_user(), admin_user()):
        api.force_authenticate(user=user)
        found = api.get(f"/api/v1/experts/{expert.code}")
        assert found.status_code == 200 and found.json()["name"] == expert.name


def test_r25_directory_lookup_is_allowed_through_that_sections_break_glass_only(api):
    section, expert = _sealed_committee()
    supervisor = supervisor_user()
    break_glass_open(user=supervisor, section=published_section(), reason=REASON)  # another section: no help
    api.force_authenticate(user=supervisor)
    assert api.get(f"/api/v1/experts/{expert.code}").status_code == 403
    break_glass_open(user=supervisor, section=section, reason=REASON)
    found = api.get(f"/api/v1/experts/{expert.code}")
    assert found.status_code == 200 and found.json()["name"] == expert.name
    api.force_authenticate(user=admin_user())  # the admin holds no break-glass
    assert api.get(f"/api/v1/experts/{expert.code}").status_code == 403


def _console_shows_refund(user) -> bool:
    return any("RF-TEST" in row.message for row in console.alerts_for_console(user=user))


def test_r14_refund_alerts_of_a_section_before_its_opening_wait_for_the_opening_or_a_break_glass(api):
    from trading.supervision.models import SupervisionAlert

    section = published_section()
    SupervisionAlert.objects.create(kind=SupervisionAlert.Kind.REFUND_REJECTED, section=section,
                                    message="退款被银行拒绝 RF-TEST")
    supervisor = supervisor_user()
    api.force_authenticate(user=supervisor)
    assert not _console_shows_refund(supervisor)
    assert api.get("/api/v1/deposits/alerts").json() == []
    break_glass_open(user=supervisor, section=section, reason=REASON)
    assert _console_shows_refund(supervisor)
    admin = admin_user()
    assert not _console_shows_refund(admin)
    open_section(section)
    assert _console_shows_refund(admin)
    api.force_authenticate(user=admin)
    assert [a["message"] for a in api.get("/api/v1/deposits/alerts").json()] == ["退款被银行拒绝 RF-TEST"]


def test_r25_ledger_page_hides_a_sealed_committee_members_actions_until_the_result(client):
    section, expert = _sealed_committee()
    if expert.user is None:
        expert.user = User.objects.create_user(username=f"exp-{expert.code}", password="x", role=User.Role.EXPERT)
        expert.save(update_fields=["user"])
    ledger_append(action="draw.confirmed", actor=expert.user, obj=section)
    for user in (supervisor_user(), admin_user()):
        client.force_login(user)
        html = client.get("/supervision/ledger/verify/").content.decode()
        assert "draw.confirmed" in html and expert.user.username not in html
    assert ledger_verify().ok  # only the rendering masks
    Section.objects.filter(pk=section.pk).update(status=Section.Status.PUBLICIZING)
    client.force_login(supervisor_user())
    assert expert.user.username in client.get("/supervision/ledger/verify/").content.decode()
