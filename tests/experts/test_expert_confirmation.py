"""Experts in real life: account invitations, telephone confirmations, timeouts, backups, supplementary draws."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from experts.models import Draw, Expert, Pick
from experts.services import accounts, confirmations, draws, evaluation
from experts.services.errors import ExpertError
from tests.experts.test_experts_kit import (
    agency_of,
    complete_draw,
    drawable_section,
    make_experts,
    opened,
)
from tests.factories import UserFactory, supervisor_user
from timestamps.ledger import ledger_verify
from timestamps.models import LedgerEntry
from trading.models import User
from trading.services.errors import PermissionDenied

pytestmark = pytest.mark.django_db

PASSWORD = "Zhuanjia-Mima-2026!"


@pytest.fixture
def staff():
    return UserFactory(role=User.Role.ADMIN, organization=None, username="platform1")


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EXPERT_NOTIFIER = "file"
    settings.EXPERT_NOTIFIER_FILE = tmp_path / "outbox.jsonl"
    return settings.EXPERT_NOTIFIER_FILE


def _link_token(outbox) -> str:
    line = outbox.read_text(encoding="utf-8").strip().splitlines()[-1]
    return re.search(r"/expert/activate/([^/\s]+)/", json.loads(line)["body"]).group(1)


def _drawn(section, *, members=5, backups=2):
    """A 土建 committee drawn from experts without accounts: only a telephone call reaches them."""
    if not Expert.objects.exists():
        make_experts(members + backups + 4)
    for expert in Expert.objects.filter(phone=""):
        Expert.objects.filter(pk=expert.pk).update(phone=f"1390571{expert.pk:04d}")
    return complete_draw(section, [{"specialty": "土建", "count": members, "backups": backups}])


def _actions(draw) -> list[str]:
    return list(LedgerEntry.objects.filter(object_type="draw", object_id=draw.public_id).order_by("seq")
                .values_list("action", flat=True))


# --- invitation and activation -------------------------------------------------------------------


def test_invited_expert_activates_an_account_with_a_one_time_link(outbox, client):
    expert = make_experts(1)[0]
    expert.phone = "13905710001"
    expert.save()
    supervisor = supervisor_user()
    client.force_login(supervisor)
    response = client.post(reverse("expert_pool"), {"action": "invite", "code": expert.code})
    assert response.status_code == 302
    sent = json.loads(outbox.read_text(encoding="utf-8").splitlines()[-1])
    assert sent["channel"] == "sms" and sent["phone"] == "13905710001"
    token = _link_token(outbox)
    client.logout()

    page = client.get(reverse("expert_activate", args=[token]))
    assert page.status_code == 200 and expert.code.lower() in page.content.decode()
    done = client.post(reverse("expert_activate", args=[token]), {"password": PASSWORD, "password2": PASSWORD})
    assert done.status_code == 302
    expert.refresh_from_db()
    assert expert.user is not None and expert.user.role == User.Role.EXPERT and expert.user.check_password(PASSWORD)
    assert LedgerEntry.objects.filter(action="expert.account_invited", object_id=expert.code).exists()
    assert LedgerEntry.objects.filter(action="expert.account_activated", object_id=expert.code).exists()

    # single use: the same link again is refused and opens no second account
    again = client.get(reverse("expert_activate", args=[token]))
    assert again.status_code == 410
    with pytest.raises(ExpertError) as used:
        accounts.expert_account_activate(token=token, password=PASSWORD)
    assert used.value.code == "used"
    assert User.objects.filter(role=User.Role.EXPERT).count() == 1


def test_activation_link_expires_at_the_exact_second(outbox, settings):
    settings.EXPERT_ACTIVATION_HOURS = 2
    expert = make_experts(1)[0]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        accounts.expert_account_invite(user=supervisor_user(), code=expert.code, activation_url=lambda t: f"/expert/activate/{t}/")
    token = _link_token(outbox)
    with time_machine.travel(start + timedelta(hours=2, seconds=1), tick=False), pytest.raises(ExpertError) as late:
        accounts.expert_account_activate(token=token, password=PASSWORD)
    assert late.value.code == "expired"
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        user = accounts.expert_account_activate(token=token, password=PASSWORD)
    assert Expert.objects.get(pk=expert.pk).user == user


def test_a_newer_invitation_voids_the_older_link_and_a_forged_one_is_refused(outbox):
    expert = make_experts(1)[0]
    supervisor = supervisor_user()
    accounts.expert_account_invite(user=supervisor, code=expert.code, activation_url=lambda t: f"/expert/activate/{t}/",
                                   now=timezone.now() - timedelta(minutes=5))
    old = _link_token(outbox)
    accounts.expert_account_invite(user=supervisor, code=expert.code, activation_url=lambda t: f"/expert/activate/{t}/")
    with pytest.raises(ExpertError) as superseded:
        accounts.expert_account_activate(token=old, password=PASSWORD)
    assert superseded.value.code == "superseded"
    with pytest.raises(ExpertError) as forged:
        accounts.expert_account_activate(token=_link_token(outbox) + "x", password=PASSWORD)
    assert forged.value.code == "bad_token"


def test_invitation_by_email_goes_through_django_mail(settings):
    settings.EXPERT_NOTIFIER = "smtp"
    expert = make_experts(1)[0]
    expert.email = "zj@example.cn"
    expert.save()
    accounts.expert_account_invite(user=supervisor_user(), code=expert.code, activation_url=lambda t: f"https://x/{t}/")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["zj@example.cn"] and "https://x/" in mail.outbox[0].body


def test_only_supervisors_and_platform_staff_invite(outbox, staff):
    expert = make_experts(1)[0]
    with pytest.raises(PermissionDenied):
        accounts.expert_account_invite(user=agency_of(drawable_section()), code=expert.code,
                                       activation_url=lambda t: t)
    accounts.expert_account_invite(user=staff, code=expert.code, activation_url=lambda t: t)


# --- telephone confirmation ------------------------------------------------------------------------


def test_staff_record_a_telephone_confirmation_and_decline_in_the_ledger(staff):
    draw = _drawn(drawable_section())
    first, second = Pick.objects.filter(draw=draw, primary=True).order_by("seat")[:2]
    assert first.expert.user is None
    confirmations.pick_phone_answer(user=staff, pick_id=first.public_id, confirmed=True)
    with pytest.raises(ExpertError):
        confirmations.pick_phone_answer(user=staff, pick_id=second.public_id, confirmed=False, reason=" ")
    confirmations.pick_phone_answer(user=staff, pick_id=second.public_id, confirmed=False, reason="出差在外")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.answer_channel) == (Pick.Status.CONFIRMED, "phone")
    assert (second.status, second.decline_reason) == (Pick.Status.DECLINED, "出差在外")
    entries = {e.action: e for e in LedgerEntry.objects.filter(object_id=draw.public_id)}
    assert entries["draw.phone_confirmed"].actor == "platform1"
    assert entries["draw.phone_confirmed"].data["seat"] == first.seat
    assert entries["draw.phone_declined"].data == {"expert": second.expert.code, "seat": second.seat,
                                                   "reason": "出差在外"}
    assert ledger_verify().ok


def test_telephone_answers_are_refused_to_agency_supervisor_and_expert(staff):
    section = drawable_section()
    draw = _drawn(section)
    pick = Pick.objects.filter(draw=draw, primary=True).first()
    for user in (agency_of(section), supervisor_user(), UserFactory(role=User.Role.EXPERT, organization=None)):
        with pytest.raises(PermissionDenied):
            confirmations.pick_phone_answer(user=user, pick_id=pick.public_id, confirmed=True)
    pick.refresh_from_db()
    assert pick.status == Pick.Status.INVITED


def test_supervisor_sees_the_telephone_answers_in_the_draw_log(staff, client):
    draw = _drawn(drawable_section())
    pick = Pick.objects.filter(draw=draw, primary=True).order_by("seat").first()
    client.force_login(staff)
    page = client.get(reverse("draw_detail", args=[draw.public_id])).content.decode()
    assert pick.expert.phone.startswith("139") and pick.expert.phone in page
    assert 'name="answer" value="confirm"' in page and pick.expert.name not in page
    client.post(reverse("draw_detail", args=[draw.public_id]),
                {"action": "phone", "pick": pick.public_id, "answer": "decline", "reason": "身体不适"})
    client.force_login(supervisor_user())
    page = client.get(reverse("draw_detail", args=[draw.public_id])).content.decode()
    assert 'id="draw-log"' in page and "身体不适" in page and "platform1" in page
    assert 'data-refresh="20"' in page  # the supervisor's page follows the answers as they come
    assert 'name="answer" value="confirm"' not in page  # the supervisor watches, it does not record
    assert pick.expert.name not in page and pick.expert.phone not in page  # R25


# --- decline, timeout, backups, supplementary draw ----------------------------------------------------


def test_a_declined_seat_goes_to_the_next_backup_in_draw_order_who_confirms(staff):
    draw = _drawn(drawable_section())
    seat1 = Pick.objects.get(draw=draw, seat=1)
    confirmations.pick_phone_answer(user=staff, pick_id=seat1.public_id, confirmed=False, reason="回避")
    backups = list(Pick.objects.filter(draw=draw, primary=False).order_by("position"))
    assert backups[0].status == Pick.Status.INVITED and backups[0].seat == 1 and backups[0].replaces == seat1
    assert backups[1].status == Pick.Status.STANDBY
    confirmations.pick_phone_answer(user=staff, pick_id=backups[0].public_id, confirmed=True)
    assert Pick.objects.get(pk=backups[0].pk).status == Pick.Status.CONFIRMED
    assert _actions(draw)[-3:] == ["draw.phone_declined", "draw.backup_invited", "draw.phone_confirmed"]


def test_timeout_sweep_calls_the_backup_and_is_idempotent(settings):
    settings.EXPERT_CONFIRM_MINUTES = 30
    section = drawable_section()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        draw = _drawn(section, members=5, backups=3)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert confirmations.sweep_expert_confirmations(now=timezone.now()) == 5
        assert confirmations.sweep_expert_confirmations(now=timezone.now()) == 0
    before = list(Pick.objects.filter(draw=draw).order_by("pk").values_list("status", "seat"))
    assert [s for s, _seat in before].count(Pick.Status.UNANSWERED) == 5
    invited = Pick.objects.filter(draw=draw, status=Pick.Status.INVITED, primary=False).order_by("position")
    assert list(invited.values_list("seat", flat=True)) == [1, 2, 3]  # the backups in draw order
    # the two seats left over go to supplementary draws, each committed once
    assert Draw.objects.filter(parent=draw).count() == 2
    assert _actions(draw).count("draw.unanswered") == 5


def test_timeout_is_exact_and_an_answered_seat_is_not_touched(settings):
    settings.EXPERT_CONFIRM_MINUTES = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        draw = _drawn(drawable_section())
    with time_machine.travel(start + timedelta(minutes=29, seconds=59), tick=False):
        assert confirmations.sweep_expert_confirmations(now=timezone.now()) == 0
    assert not Pick.objects.filter(draw=draw, status=Pick.Status.UNANSWERED).exists()


def test_the_sweep_is_registered_on_periodic_sweep(settings):
    from trading.sweeps import run_sweeps

    settings.EXPERT_CONFIRM_MINUTES = 1
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _drawn(drawable_section())
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert run_sweeps()["expert_confirmations"] == 5


def test_when_backups_run_out_the_seat_goes_to_a_supplementary_draw(staff):
    section = drawable_section()
    make_experts(12)
    draw = _drawn(section, members=5, backups=1)
    seat2 = Pick.objects.get(draw=draw, seat=2)
    confirmations.pick_phone_answer(user=staff, pick_id=seat2.public_id, confirmed=False, reason="生病")
    backup = Pick.objects.get(draw=draw, primary=False)
    confirmations.pick_phone_answer(user=staff, pick_id=backup.public_id, confirmed=False, reason="出国")
    supplement = Draw.objects.get(parent=draw)
    assert supplement.groups[0]["seats"] == [2] and supplement.status == Draw.Status.COMMITTED
    draws.draw_add_entropy(user=supervisor_user(), draw_id=supplement.public_id, entropy="dice 6-6-1-2-3")
    newcomer = Pick.objects.get(draw=supplement, primary=True)
    assert newcomer.seat == 2 and newcomer.status == Pick.Status.INVITED and newcomer.replaces == backup
    confirmations.pick_phone_answer(user=staff, pick_id=newcomer.public_id, confirmed=True)
    assert "draw.phone_confirmed" in _actions(supplement)


# --- evaluation -----------------------------------------------------------------------------------


def test_evaluation_start_is_blocked_naming_the_seat_never_the_name(staff, client):
    """R25: the seat that blocks is named by its number; the expert's name stays sealed."""
    section = drawable_section()
    draw = _drawn(section)
    opened(section)
    seats = Pick.objects.filter(draw=draw, primary=True).order_by("seat")
    for pick in seats:
        if pick.seat != 4:
            confirmations.pick_phone_answer(user=staff, pick_id=pick.public_id, confirmed=True)
    blocker = seats.get(seat=4)
    with pytest.raises(ExpertError) as refused:
        evaluation.evaluation_start(user=agency_of(section), section_id=section.pk)
    assert refused.value.code == "committee_incomplete" and "4" in str(refused.value.message)
    assert blocker.expert.name not in str(refused.value.message)
    client.force_login(agency_of(section))
    page = client.get(reverse("section_experts", args=[section.public_id])).content.decode()
    assert "committee-blockers" in page and blocker.expert.name not in page
    confirmations.pick_phone_answer(user=staff, pick_id=blocker.public_id, confirmed=True)
    assert evaluation.evaluation_start(user=agency_of(section), section_id=section.pk).pk


def test_a_vacant_seat_awaiting_its_supplementary_draw_blocks_evaluation(staff):
    section = drawable_section()
    make_experts(12)
    draw = _drawn(section, members=5, backups=0)
    opened(section)
    for pick in Pick.objects.filter(draw=draw, primary=True):
        confirmations.pick_phone_answer(user=staff, pick_id=pick.public_id,
                                        confirmed=pick.seat != 3, reason="不能参加")
    supplement = Draw.objects.get(parent=draw)
    assert supplement.status == Draw.Status.COMMITTED
    blockers = evaluation.committee_blockers(section)
    assert len(blockers) == 1 and "3" in blockers[0]
    with pytest.raises(ExpertError):
        evaluation.evaluation_start(user=agency_of(section), section_id=section.pk)


# --- display --------------------------------------------------------------------------------------


def test_draw_statuses_are_translated_and_a_window_across_midnight_shows_dates(client):
    section = drawable_section()
    make_experts(11)
    starts = timezone.make_aware(timezone.datetime(2030, 3, 1, 20, 0), timezone.get_current_timezone())
    draw = draws.draw_request(user=agency_of(section), section_id=section.pk,
                              groups=[{"specialty": "土建", "count": 5, "backups": 2}],
                              evaluation_starts_at=starts, evaluation_ends_at=starts + timedelta(hours=6))
    draws.draw_add_entropy(user=supervisor_user(), draw_id=draw.public_id, entropy="dice 1-2-3-4-5-6")
    client.force_login(supervisor_user())
    page = client.get(reverse("draw_detail", args=[draw.public_id]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "2030-03-01 20:00 – 2030-03-02 02:00" in page
    assert "邀请中" in page and "候补" in page
    assert ">invited<" not in page and ">standby<" not in page


# --- demo -----------------------------------------------------------------------------------------


def test_demo_expert_without_an_account_is_confirmed_by_phone():
    from experts.demo import seed_experts_demo
    from trading.demo import seed_demo

    draw = seed_experts_demo(seed_demo())
    staff = User.objects.get(username="admin")
    supervisor = User.objects.get(username="supervisor1")
    for _turn in range(30):  # decline account holders by phone until an expert without an account is called
        called = Pick.objects.filter(draw__section=draw.section, status=Pick.Status.INVITED,
                                     expert__user__isnull=True).first()
        if called is not None:
            break
        for pending in Draw.objects.filter(parent=draw, status=Draw.Status.COMMITTED):
            draws.draw_add_entropy(user=supervisor, draw_id=pending.public_id, entropy="dice 2-4-6-1-3-5")
        holder = Pick.objects.filter(draw__section=draw.section, status=Pick.Status.INVITED).first()
        if holder is not None:
            confirmations.pick_phone_answer(user=staff, pick_id=holder.public_id, confirmed=False, reason="演示")
    confirmed_by_phone = Pick.objects.filter(draw__section=draw.section, answer_channel="phone",
                                             status=Pick.Status.CONFIRMED, expert__user__isnull=True)
    if called is not None:
        confirmations.pick_phone_answer(user=staff, pick_id=called.public_id, confirmed=True)
    assert confirmed_by_phone.exists()
    assert Expert.objects.filter(code__startswith="ZJ", user__isnull=True).count() == 24


# --- API ------------------------------------------------------------------------------------------


def _bearer(user) -> dict:
    from trading.models import ApiToken

    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)}"}


def test_api_phone_answer_is_for_platform_staff_only(api, staff):
    section = drawable_section()
    draw = _drawn(section)
    pick = Pick.objects.get(draw=draw, seat=1)
    url = f"/api/v1/picks/{pick.public_id}/phone/decline"
    for other in (agency_of(section), supervisor_user()):
        assert api.post(url, {"reason": "x"}, format="json", **_bearer(other)).status_code == 403
    answered = api.post(url, {"reason": "在外地"}, format="json", **_bearer(staff))
    assert answered.status_code == 200 and answered.json()["status"] == "declined"
    assert Pick.objects.get(draw=draw, seat=1, status=Pick.Status.INVITED).primary is False


def test_api_invite_is_for_supervisors_and_staff(api, outbox, staff):
    expert = make_experts(1)[0]
    url = f"/api/v1/experts/{expert.code}/invite"
    assert api.post(url, **_bearer(agency_of(drawable_section()))).status_code == 403
    assert api.post(url, **_bearer(UserFactory(role=User.Role.EXPERT, organization=None))).status_code == 403
    invited = api.post(url, **_bearer(staff))
    assert invited.status_code == 201 and "/expert/activate/" in outbox.read_text(encoding="utf-8")


def test_a_decline_stands_when_nobody_is_left_to_draw_and_the_seat_stays_vacant(staff):
    section = drawable_section()
    make_experts(5)
    draw = _drawn(section, members=5, backups=0)
    seat5 = Pick.objects.get(draw=draw, seat=5)
    confirmations.pick_phone_answer(user=staff, pick_id=seat5.public_id, confirmed=False, reason="生病")
    assert Pick.objects.get(pk=seat5.pk).status == Pick.Status.DECLINED
    assert not Draw.objects.filter(parent=draw).exists()
    failed = LedgerEntry.objects.get(action="draw.refill_failed", object_id=draw.public_id)
    assert failed.data["seat"] == 5
    assert any("5" in b for b in evaluation.committee_blockers(section))
