"""The opening room's rules, driven through its services: R05, R07, R11, R12, R13, R14."""

import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from bidding.models import Bid, OpeningRoom, RoomEvent
from bidding.room import services
from bidding.room.decrypt import room_decrypt
from bidding.room.events import HOST, PUBLIC, SUPERVISOR
from bidding.room.services import RoomError
from bidding.room.snapshot import room_snapshot
from tests.factories import supervisor_user
from tests.roomkit import prepare
from trading.models import Section
from trading.services.errors import PermissionDenied
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


def at_deadline(opening, seconds: float = 0):
    return time_machine.travel(opening.section.bid_deadline + timedelta(seconds=seconds), tick=False)


def room_of(opening) -> OpeningRoom:
    return OpeningRoom.objects.get(section=opening.section)


def decrypt_all(opening, indices):
    for i in indices:
        room_decrypt(user=opening.kits[i].user, bid_id=opening.bids[i], k2=opening.k2(i))


def types(opening) -> list[str]:
    return list(RoomEvent.objects.filter(room__section=opening.section).values_list("type", flat=True))


def test_r05_the_opening_starts_at_the_deadline_second_and_not_before(api):
    opening = prepare(api, 3)
    with at_deadline(opening, -1):
        run_sweeps()
    assert room_of(opening).phase == "signin"
    with at_deadline(opening):
        run_sweeps()
    opening.section.refresh_from_db()
    assert opening.section.status == Section.Status.OPENING and room_of(opening).phase == "decryption"


def test_r07_two_bids_fail_the_section(api):
    opening = prepare(api, 2)
    with at_deadline(opening):
        run_sweeps()
    opening.section.refresh_from_db()
    room = room_of(opening)
    assert opening.section.status == Section.Status.FAILED and room.phase == "failed"
    assert "R07" in room.failure_reason and room.record_sha256


def test_r07_three_bids_go_on_to_decryption(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
    assert room_of(opening).phase == "decryption"


def test_r07_r11_a_third_bid_that_is_not_decrypted_brings_the_count_back_to_two(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        decrypt_all(opening, [0, 1])
    with at_deadline(opening, 30 * 60):
        run_sweeps()
    revoked = Bid.objects.get(public_id=opening.bids[2])
    assert revoked.status == Bid.Status.REVOKED and "R11" in revoked.outcome_reason
    opening.section.refresh_from_db()
    assert opening.section.status == Section.Status.FAILED and "R07" in room_of(opening).failure_reason


def test_r11_a_wrong_k2_is_refused_and_may_be_retried_in_the_window(api):
    opening = prepare(api, 3)
    with at_deadline(opening, 60):
        run_sweeps()
        with pytest.raises(RoomError) as wrong:
            room_decrypt(user=opening.kits[0].user, bid_id=opening.bids[0], k2=opening.k2(1))
        assert wrong.value.code == "bad_k2"
        assert Bid.objects.get(public_id=opening.bids[0]).status == Bid.Status.SUBMITTED
        room_decrypt(user=opening.kits[0].user, bid_id=opening.bids[0], k2=opening.k2(0))
    assert Bid.objects.get(public_id=opening.bids[0]).status == Bid.Status.DECRYPTED


def test_r11_decryption_after_the_window_is_refused(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
    with at_deadline(opening, 30 * 60):
        with pytest.raises(RoomError) as late:
            room_decrypt(user=opening.kits[0].user, bid_id=opening.bids[0], k2=opening.k2(0))
    assert late.value.code == "phase_over"


def test_r11_a_bid_altered_on_the_platform_counts_as_withdrawn_not_revoked(api):
    opening = prepare(api, 4)
    bid = Bid.objects.get(public_id=opening.bids[3])
    path = settings.FILE_STORE_DIR / bid.storage_path
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with at_deadline(opening):
        run_sweeps()
        decrypt_all(opening, [0, 1, 2])
        with pytest.raises(RoomError) as fault:
            room_decrypt(user=opening.kits[3].user, bid_id=opening.bids[3], k2=opening.k2(3))
        assert fault.value.code == "platform_fault"
    with at_deadline(opening, 30 * 60):
        run_sweeps()
    bid.refresh_from_db()
    assert bid.status == Bid.Status.FAILED_PLATFORM and "R11" in bid.outcome_reason
    assert room_of(opening).phase == "objections"  # the other three go on (R11)


def test_r11_an_envelope_the_bidder_sealed_broken_is_the_bidders_fault(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        with pytest.raises(RoomError):
            room_decrypt(user=opening.kits[2].user, bid_id=opening.bids[2], k2="A" * 43 + "=")
    with at_deadline(opening, 30 * 60):
        run_sweeps()
    assert Bid.objects.get(public_id=opening.bids[2]).status == Bid.Status.REVOKED


def test_r12_prices_are_read_to_everyone_in_random_order_and_the_record_is_signed(api, tmp_path):
    from timestamps.docsign import verify_pdf

    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        decrypt_all(opening, [0, 1, 2])  # the window closes early once everyone is done
        room = room_of(opening)
        assert room.phase == "objections"
        reads = RoomEvent.objects.filter(room=room, type="price_read").order_by("seq")
        assert sorted(e.data["form"]["price"] for e in reads) == sorted(["9870000.00", "9650000.50", "9912345.67"])
        assert all(e.audience == "all" and e.public is None for e in reads)  # names and prices to all
        assert [e.data["order"] for e in reads] == [1, 2, 3]
    with at_deadline(opening, 10 * 60 + 1):
        run_sweeps()
    room = room_of(opening)
    opening.section.refresh_from_db()
    assert room.phase == "closed" and opening.section.status == Section.Status.OPENED
    pdf = (settings.FILE_STORE_DIR / room.record_path).read_bytes()
    report = verify_pdf(pdf)
    assert report.valid and report.intact and report.timestamp_valid
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "r.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "开标记录表" in text and "9,650,000.50" in text and "保证金" in text
    for kit in opening.kits:
        assert kit.user.organization.name in text


def test_r13_objections_are_raised_answered_and_recorded(api, tmp_path):
    opening = prepare(api, 3)
    host = opening.section.project.created_by
    with at_deadline(opening):
        run_sweeps()
        decrypt_all(opening, [0, 1, 2])
        objection = services.room_objection_raise(user=opening.kits[1].user, section=opening.section,
                                                  text="第3号投标人报价单位有误")
    with at_deadline(opening, 11 * 60):
        run_sweeps()
        assert room_of(opening).phase == "objections"  # waits for the answer
        with pytest.raises(PermissionDenied):
            services.room_objection_answer(user=opening.kits[0].user, section=opening.section,
                                           objection_id=objection.public_id, answer="x")
        services.room_objection_answer(user=host, section=opening.section, objection_id=objection.public_id,
                                       answer="经核对，报价单位为元，异议不成立。")
        run_sweeps()
    room = room_of(opening)
    assert room.phase == "closed"
    (tmp_path / "r.pdf").write_bytes((settings.FILE_STORE_DIR / room.record_path).read_bytes())
    text = subprocess.run(["pdftotext", "r.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "报价单位有误" in text.replace("\n", "") and "异议不成立" in text.replace("\n", "")


def test_r13_objections_only_in_their_window_and_only_from_bidders_in_the_opening(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        with pytest.raises(RoomError):
            services.room_objection_raise(user=opening.kits[0].user, section=opening.section, text="太早")
        with pytest.raises(PermissionDenied):
            services.room_objection_raise(user=opening.section.project.created_by, section=opening.section,
                                          text="x")


def test_r14_before_the_deadline_nobody_sees_who_signed_in(api):
    opening = prepare(api, 3)
    with at_deadline(opening, -10 * 60):
        services.room_sign_in(user=opening.kits[0].user, section=opening.section)
    room = room_of(opening)
    for role in (HOST, SUPERVISOR, PUBLIC):
        data = room_snapshot(room, role=role, org_id=None)["data"]
        assert data["signed_in"] == [] and data["bids"] == [] and data["total"] == 0
    event = RoomEvent.objects.get(room=room, type="signed_in")
    assert event.audience == f"private:{opening.kits[0].user.organization_id}"


def test_r14_sign_in_opens_only_shortly_before_the_deadline(api):
    opening = prepare(api, 3)
    with at_deadline(opening, -31 * 60):
        with pytest.raises(RoomError) as early:
            services.room_sign_in(user=opening.kits[0].user, section=opening.section)
    assert early.value.code == "signin_not_open"


def test_public_sees_bid_numbers_not_names_until_prices_are_read(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        decrypt_all(opening, [0])
        room = room_of(opening)
        public = room_snapshot(room, role=PUBLIC, org_id=None)["data"]
        assert [b["bidder"] for b in public["bids"]] == [None, None, None]
        staff = room_snapshot(room, role=SUPERVISOR, org_id=None)["data"]
        assert opening.kits[0].user.organization.name in [b["bidder"] for b in staff["bids"]]


def test_supervisor_pause_stops_the_clock_and_blocks_decryption(api):
    opening = prepare(api, 3)
    supervisor = supervisor_user()
    with at_deadline(opening):
        run_sweeps()
        ends = room_of(opening).phase_ends_at
        services.room_pause(user=supervisor, section=opening.section, reason="网络故障排查")
        with pytest.raises(RoomError) as paused:
            room_decrypt(user=opening.kits[0].user, bid_id=opening.bids[0], k2=opening.k2(0))
        assert paused.value.code == "paused"
    with at_deadline(opening, 45 * 60):
        run_sweeps()
        assert room_of(opening).phase == "decryption"  # paused rooms do not time out
        services.room_resume(user=supervisor, section=opening.section, reason="已恢复")
    assert room_of(opening).phase_ends_at == ends + timedelta(minutes=45)
    with pytest.raises(PermissionDenied):
        services.room_pause(user=opening.kits[0].user, section=opening.section, reason="x")


def test_sweeping_twice_changes_nothing_the_second_time(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        count = RoomEvent.objects.filter(room__section=opening.section).count()
        run_sweeps()
    assert RoomEvent.objects.filter(room__section=opening.section).count() == count
    seqs = list(RoomEvent.objects.filter(room__section=opening.section).values_list("seq", flat=True))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_host_cannot_close_decryption_early_while_bidders_are_still_decrypting(api):
    opening = prepare(api, 3)
    with at_deadline(opening):
        run_sweeps()
        decrypt_all(opening, [0])
        with pytest.raises(RoomError) as refused:
            services.room_advance(user=opening.section.project.created_by, section=opening.section)
    assert refused.value.code == "still_decrypting"
