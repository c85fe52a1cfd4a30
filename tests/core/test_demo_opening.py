"""Issue 16: the README's run command seeds a live opening a few minutes away that a newcomer can watch.

bidder1-bidder4 bid with the command-line sealer's code; the demo robot (演示机器人) decrypts for bidder2-bidder4
only when DEMO_ROBOT is on; bidder1's backup downloads and, with the printed passphrase, decrypts its own bid
through the same room service as the WebSocket's decrypt command.
"""

import base64
import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from bidding.envelope import read_header, unwrap_key
from bidding.keybackup import backup_organization, backup_read
from bidding.models import Bid, BidderKey, OpeningRoom
from bidding.room.decrypt import room_decrypt
from trading.demo import LIVE_PROJECT
from trading.files import open_stored
from trading.models import Section, User
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_settings(settings):
    settings.DEMO_ROBOT = True
    settings.DEMO_OPENING_MINUTES = 5


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def live_section() -> Section:
    return Section.objects.filter(project__code=LIVE_PROJECT).order_by("-number").first()


def sweep_past_deadline(section: Section, *, times: int = 1, after=timedelta(seconds=1)) -> None:
    with time_machine.travel(section.bid_deadline + after, tick=False):
        for _ in range(times):
            run_sweeps()


def decrypted_usernames(section: Section) -> set[str]:
    return {b.submitted_by.username for b in Bid.objects.filter(section=section, status=Bid.Status.DECRYPTED)}


def test_seed_makes_a_voluntary_section_minutes_away_with_four_receipted_bids():
    output = seed()
    section = live_section()
    assert not section.project.must_tender and section.status == Section.Status.PUBLISHED
    left = section.bid_deadline - section.published_at
    assert timedelta(minutes=4) <= left <= timedelta(minutes=6)
    bids = Bid.objects.filter(section=section, status=Bid.Status.SUBMITTED)
    assert sorted(b.submitted_by.username for b in bids) == ["bidder1", "bidder2", "bidder3", "bidder4"]
    assert all(bytes(b.timestamp_token) and b.received_at for b in bids)
    beijing = section.bid_deadline.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    assert f"at {beijing} (Beijing time), log in as agency1 to host the opening, or as bidder1 to decrypt" in output


def test_section_page_says_why_r01_does_not_apply():
    seed()
    page = Client().get(f"/sections/{live_section().public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"r01-not-applicable" in page.content


def test_the_opening_starts_with_four_bids_and_the_robot_decrypts_the_other_three():
    seed()
    section = live_section()
    sweep_past_deadline(section, times=4)
    room = OpeningRoom.objects.get(section=section)
    assert room.phase == OpeningRoom.Phase.DECRYPTION
    assert Bid.objects.filter(section=section, opening_no__isnull=False).count() == 4
    assert decrypted_usernames(section) == {"bidder2", "bidder3", "bidder4"}
    assert room.sign_ins.count() == 3


def test_bidder1_downloads_its_backup_and_decrypts_with_the_printed_passphrase():
    output = seed()
    passphrase = re.search(r"backup passphrase: (\S+)", output).group(1)
    section = live_section()
    sweep_past_deadline(section, times=4)
    bidder1 = User.objects.get(username="bidder1")
    client = Client()
    client.force_login(bidder1)
    room_page = client.get(f"/sections/{section.public_id}/opening/")
    assert b'id="demo-backup"' in room_page.content
    download = client.get("/demo/key-backup/")
    assert download.status_code == 200
    backup = b"".join(download.streaming_content)
    assert backup_organization(backup) == bidder1.organization.credit_code
    enc_private, _sign = backup_read(backup, passphrase)
    bid = Bid.objects.get(section=section, organization=bidder1.organization)
    with open_stored(bid.storage_path) as handle:
        k2 = base64.b64encode(unwrap_key(read_header(handle), 1, enc_private)).decode()
    with time_machine.travel(section.bid_deadline + timedelta(seconds=30), tick=False):
        assert room_decrypt(user=bidder1, bid_id=bid.public_id, k2=k2).status == Bid.Status.DECRYPTED
    assert decrypted_usernames(section) == {"bidder1", "bidder2", "bidder3", "bidder4"}
    assert OpeningRoom.objects.get(section=section).phase == OpeningRoom.Phase.OBJECTIONS  # prices read


def test_another_user_gets_no_backup():
    seed()
    for username in ("bidder5", "agency1"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        assert client.get("/demo/key-backup/").status_code == 404


def test_seeding_twice_is_harmless_and_a_finished_opening_gets_a_fresh_section():
    seed()
    counts = (User.objects.count(), BidderKey.objects.count(), Bid.objects.count())
    seed()
    assert (User.objects.count(), BidderKey.objects.count(), Bid.objects.count()) == counts
    first = live_section()
    sweep_past_deadline(first, times=4)
    sweep_past_deadline(first, times=2, after=timedelta(minutes=11))  # bidder1's window ends: R11
    sweep_past_deadline(first, times=2, after=timedelta(minutes=20))  # the objection period ends
    sweep_past_deadline(first, times=2, after=timedelta(minutes=25))  # the record's confirmation window ends
    first.refresh_from_db()
    assert first.status != Section.Status.OPENING
    with time_machine.travel(first.bid_deadline + timedelta(minutes=21), tick=False):
        output = seed()
    second = live_section()
    assert second.pk != first.pk and second.bid_deadline > first.bid_deadline
    assert Bid.objects.filter(section=second, status=Bid.Status.SUBMITTED).count() == 4
    assert BidderKey.objects.count() == counts[1] and User.objects.count() == counts[0]
    assert second.public_id in output


def test_the_robot_is_off_when_the_setting_is_off(settings):
    settings.DEMO_ROBOT = False
    output = seed()
    section = live_section()
    sweep_past_deadline(section, times=4)
    assert OpeningRoom.objects.get(section=section).phase == OpeningRoom.Phase.DECRYPTION
    assert decrypted_usernames(section) == set()
    assert "演示机器人" not in output


def test_a_restart_during_the_opening_keeps_it_and_a_stale_one_is_replaced():
    seed()
    first = live_section()
    sweep_past_deadline(first)
    with time_machine.travel(first.bid_deadline + timedelta(minutes=2), tick=False):
        output = seed()
    assert live_section().pk == first.pk and "under way since" in output
    with time_machine.travel(first.bid_deadline + timedelta(minutes=11), tick=False):  # the platform was stopped
        seed()
    assert live_section().pk != first.pk
    assert Bid.objects.filter(section=live_section(), status=Bid.Status.SUBMITTED).count() == 4
