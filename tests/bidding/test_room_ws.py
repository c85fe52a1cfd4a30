"""The opening room's WebSocket (DESIGN.md §8, docs/opening-room.md) through the real ASGI application.

Each test prepares a room with three real sealed bids, moves the clock with time_machine, then talks to
``trading.config.asgi.application`` with channels' WebsocketCommunicator inside ``async_to_sync``.
"""

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from bidding.models import Bid, OpeningRoom, RoomEvent
from bidding.room import services
from bidding.room.decrypt import room_decrypt
from bidding.room.events import event_for, event_payload
from tests.factories import supervisor_user
from tests.roomkit import prepare
from trading.config.asgi import application
from trading.models import ApiToken
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 3


def path(opening) -> str:
    return f"/ws/sections/{opening.section.public_id}/opening/"


def cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    session = client.session
    session.set_expiry(timedelta(days=90))  # the tests travel to the deadline, weeks ahead
    session.save()
    return b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()


def bearer(user) -> tuple[bytes, bytes]:
    return b"authorization", f"Bearer {ApiToken.issue(user)}".encode()


def travel(opening, seconds: float = 0):
    """Real time that ticks on from the given moment relative to the deadline."""
    return time_machine.travel(opening.section.bid_deadline + timedelta(seconds=seconds), tick=True)


def open_room(opening, *, signed_in=(0, 1, 2)):
    """Bidders sign in before the deadline, then the sweep opens the room at the deadline."""
    with travel(opening, -60):
        for i in signed_in:
            services.room_sign_in(user=opening.kits[i].user, section=opening.section)
    with travel(opening, 1):
        run_sweeps()
    assert OpeningRoom.objects.get(section=opening.section).phase == "decryption"


async def connect(opening, *headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path(opening), headers=list(headers))
    connected, code = await communicator.connect(timeout=TIMEOUT)
    assert connected, f"refused with {code}"
    return communicator


async def refused(opening, *headers) -> int | None:
    communicator = WebsocketCommunicator(application, path(opening), headers=list(headers))
    connected, code = await communicator.connect(timeout=TIMEOUT)
    assert not connected
    await communicator.disconnect()
    return code


async def receive(communicator) -> dict:
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def receive_until(communicator, kind: str, limit: int = 30) -> list[dict]:
    seen = []
    for _ in range(limit):
        message = await receive(communicator)
        seen.append(message)
        if message["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} in {[m['type'] for m in seen]}")


async def command_error(opening, message: dict, *headers) -> dict:
    communicator = await connect(opening, *headers)
    assert (await receive(communicator))["type"] == "snapshot"
    await communicator.send_json_to(message)
    reply = await receive_until(communicator, "error")
    await communicator.disconnect()
    return reply[-1]


# --------------------------------------------------------------------------------------------------


def test_each_role_gets_its_own_snapshot_on_connect(api):
    opening = prepare(api, 3)
    host = opening.section.project.created_by
    supervisor = supervisor_user()
    names = [k.user.organization.name for k in opening.kits]

    async def before_deadline():
        public = await connect(opening, ORIGIN)
        snap = await receive(public)
        await public.disconnect()
        return snap

    with travel(opening, -60):
        services.room_sign_in(user=opening.kits[0].user, section=opening.section)
        signin = async_to_sync(before_deadline)()
    # R14: before the opening nobody learns who signed in or how many bid.
    assert signin["type"] == "snapshot" and signin["seq"] == 1
    assert signin["data"]["phase"] == "signin" and signin["data"]["signed_in"] == [] and signin["data"]["bids"] == []

    open_room(opening, signed_in=(1, 2))
    with travel(opening, 5):
        room_decrypt(user=opening.kits[0].user, bid_id=opening.bids[0], k2=opening.k2(0))

    roles = (("host", [cookie(host)]), ("supervisor", [cookie(supervisor)]),
             ("bidder", [cookie(opening.kits[1].user)]), ("public", []))

    async def snapshots():
        found = {}
        for role, headers in roles:
            communicator = await connect(opening, ORIGIN, *headers)
            found[role] = await receive(communicator)
            await communicator.disconnect()
        return found

    with travel(opening, 10):
        found = async_to_sync(snapshots)()
    last_seq = OpeningRoom.objects.get(section=opening.section).last_seq
    for role, snap in found.items():
        data = snap["data"]
        assert snap["type"] == "snapshot" and snap["seq"] == last_seq
        assert data["role"] == role and data["phase"] == "decryption"
        assert data["total"] == 3 and data["decrypted"] == 1 and data["server_time"]
        assert [b["no"] for b in data["bids"]] == [1, 2, 3]
        assert all("form" not in b for b in data["bids"])  # nothing is read before decryption closes
    for staff in ("host", "supervisor"):
        assert sorted(b["bidder"] for b in found[staff]["data"]["bids"]) == sorted(names)
        assert sorted(found[staff]["data"]["signed_in"]) == sorted(names)
    for masked in ("bidder", "public"):
        assert [b["bidder"] for b in found[masked]["data"]["bids"]] == [None, None, None]
        assert found[masked]["data"]["signed_in"] == [None, None, None]
        assert not any(name in str(found[masked]) for name in names)
    you = found["bidder"]["data"]["you"]
    assert you == {"signed_in": True, "bid_id": opening.bids[1], "bid_no": 2, "bid_status": "submitted"}
    assert "you" not in found["public"]["data"] and "you" not in found["host"]["data"]


def test_seq_strictly_increases_and_resume_returns_exactly_what_was_missed(api):
    opening = prepare(api, 3)
    open_room(opening)
    host = cookie(opening.section.project.created_by)

    keys = [opening.k2(i) for i in range(3)]

    async def scenario():
        watcher = await connect(opening, ORIGIN, host)
        public = await connect(opening, ORIGIN)
        start = (await receive(watcher))["seq"]
        public_start = (await receive(public))["seq"]
        for i in range(3):
            await database_sync_to_async(room_decrypt)(user=opening.kits[i].user, bid_id=opening.bids[i],
                                                        k2=keys[i])
        # the third decryption closes the window early: outcomes, reading and the objection phase follow
        live = await receive_until(watcher, "phase")
        while live[-1]["data"]["phase"] != "objections":
            live += await receive_until(watcher, "phase")
        public_live = await receive_until(public, "phase")
        while public_live[-1]["data"]["phase"] != "objections":
            public_live += await receive_until(public, "phase")
        # a client that dropped after the first decryption resumes
        late = await connect(opening, ORIGIN)
        await receive(late)
        await late.send_json_to({"type": "resume", "after_seq": public_live[0]["seq"]})
        resumed = [await receive(late) for _ in range(len(public_live) - 1)]
        assert await late.receive_nothing(timeout=0.3)
        for communicator in (watcher, public, late):
            await communicator.disconnect()
        return start, public_start, live, public_live, resumed

    with travel(opening, 5):
        start, public_start, live, public_live, resumed = async_to_sync(scenario)()
    seqs = [m["seq"] for m in live]
    assert seqs == sorted(set(seqs)) and seqs[0] > start
    assert [m["seq"] for m in public_live] == sorted({m["seq"] for m in public_live})
    types = [m["type"] for m in live]
    assert types.count("decrypted") == 3 and types.count("price_read") == 3
    # the host sees every stored event; the public the same seqs, with names masked until the reading
    stored = list(RoomEvent.objects.filter(room__section=opening.section, seq__gt=start).order_by("seq"))
    assert seqs == [e.seq for e in stored]
    expected_public = [event_for(event_payload(e), role="public", org_id=None) for e in stored]
    assert public_live == [e for e in expected_public if e is not None]
    assert all(m["data"]["bidder"] is None for m in public_live if m["type"] == "decrypted")
    assert all(m["data"]["bidder"] for m in public_live if m["type"] == "price_read")
    assert resumed == public_live[1:]


def test_handshake_origin_and_bearer_rules(api):
    opening = prepare(api, 3)
    session, token = cookie(opening.kits[0].user), bearer(opening.kits[0].user)

    async def scenario():
        no_origin = await refused(opening)
        no_origin_cookie = await refused(opening, session)
        wrong_origin = await refused(opening, (b"origin", b"https://evil.example"), session)
        bad_token = await refused(opening, (b"authorization", b"Bearer not-a-token"))
        tool = await connect(opening, token)
        snap = await receive(tool)
        await tool.disconnect()
        browser = await connect(opening, ORIGIN, session)
        await browser.disconnect()
        return no_origin, no_origin_cookie, wrong_origin, bad_token, snap

    no_origin, no_origin_cookie, wrong_origin, bad_token, snap = async_to_sync(scenario)()
    assert no_origin == no_origin_cookie == wrong_origin == bad_token == 4403
    assert snap["type"] == "snapshot" and snap["data"]["role"] == "bidder"
    assert snap["data"]["you"]["bid_id"] == opening.bids[0]


def test_a_bidder_cannot_decrypt_another_bidders_bid(api):
    opening = prepare(api, 3)
    open_room(opening)
    session, k2 = cookie(opening.kits[0].user), opening.k2(1)

    async def scenario():
        return await command_error(opening, {"type": "decrypt", "bid_id": opening.bids[1], "k2": k2},
                                   ORIGIN, session)

    with travel(opening, 5):
        reply = async_to_sync(scenario)()
    assert reply["seq"] is None and reply["type"] == "error"
    assert reply["data"]["code"] == "not_found" and reply["data"]["command"] == "decrypt"
    assert reply["data"]["message"] == "投标文件不存在。"
    assert Bid.objects.get(public_id=opening.bids[1]).status == Bid.Status.SUBMITTED


def test_a_bidder_cannot_pause_and_errors_speak_the_clients_language(api):
    opening = prepare(api, 3)
    open_room(opening)
    bidder = cookie(opening.kits[0].user)

    async def scenario():
        zh = await command_error(opening, {"type": "pause", "reason": "我想暂停"}, ORIGIN, bidder)
        en = await command_error(opening, {"type": "pause", "reason": "stop"}, ORIGIN, bidder,
                                 (b"accept-language", b"en-GB,en;q=0.9"))
        return zh, en

    with travel(opening, 5):
        zh, en = async_to_sync(scenario)()
    for reply in (zh, en):
        assert reply["seq"] is None and reply["type"] == "error" and reply["at"]
        assert reply["data"]["code"] == "forbidden" and reply["data"]["command"] == "pause"
    assert zh["data"]["message"] == "只有监督人员可以执行此操作。"
    assert en["data"]["message"] == "Only a supervisor can do this."
    assert not OpeningRoom.objects.get(section=opening.section).paused


def test_the_host_cannot_decrypt(api):
    opening = prepare(api, 3)
    open_room(opening)
    host, k2 = cookie(opening.section.project.created_by), opening.k2(0)

    async def scenario():
        return await command_error(opening, {"type": "decrypt", "bid_id": opening.bids[0], "k2": k2},
                                   ORIGIN, host, (b"accept-language", b"en"))

    with travel(opening, 5):
        reply = async_to_sync(scenario)()
    assert reply["seq"] is None and reply["type"] == "error"
    assert reply["data"]["code"] == "forbidden" and reply["data"]["command"] == "decrypt"
    assert reply["data"]["message"] == "Only a bidder in this opening can do this."
    assert Bid.objects.get(public_id=opening.bids[0]).status == Bid.Status.SUBMITTED


def test_supervisor_pause_and_resume_reach_every_role(api):
    opening = prepare(api, 3)
    open_room(opening)
    supervisor = cookie(supervisor_user())

    async def scenario():
        sup = await connect(opening, ORIGIN, supervisor)
        public = await connect(opening, ORIGIN)
        await receive(sup)
        await receive(public)
        await sup.send_json_to({"type": "pause", "reason": "网络异常，暂停核查"})
        paused = await receive_until(public, "paused")
        await sup.send_json_to({"type": "resume_room", "reason": "已恢复"})
        resumed = await receive_until(public, "resumed")
        for communicator in (sup, public):
            await communicator.disconnect()
        return paused[-1], resumed[-1]

    with travel(opening, 5):
        paused, resumed = async_to_sync(scenario)()
    assert paused["data"]["reason"] == "网络异常，暂停核查" and resumed["seq"] > paused["seq"]
    assert resumed["data"]["phase_ends_at"]
    assert not OpeningRoom.objects.get(section=opening.section).paused


def test_an_unknown_section_is_refused(api):
    opening = prepare(api, 3)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/sections/nope/opening/", headers=[ORIGIN])
        connected, code = await communicator.connect(timeout=TIMEOUT)
        await communicator.disconnect()
        return connected, code

    assert opening.section.public_id != "nope"
    assert async_to_sync(scenario)() == (False, 4404)


def test_a_public_observer_gets_an_error_not_a_crash(api):
    opening = prepare(api, 3)
    open_room(opening)

    async def scenario():
        return await command_error(opening, {"type": "pause", "reason": "x"}, ORIGIN)

    with travel(opening, 5):
        reply = async_to_sync(scenario)()
    assert reply["type"] == "error" and reply["data"]["code"] == "forbidden"


# The page embeds the same role-filtered snapshot that the socket sends on connect.


def test_the_room_page_embeds_the_masked_snapshot_for_the_public(api, client):
    opening = prepare(api, 3)
    open_room(opening)
    names = [k.user.organization.name for k in opening.kits]
    with travel(opening, 5):
        public = client.get(f"/sections/{opening.section.public_id}/opening/")
        host = Client()
        host.force_login(opening.section.project.created_by)
        hosted = host.get(f"/sections/{opening.section.public_id}/opening/", HTTP_ACCEPT_LANGUAGE="en")
    assert public.status_code == 200 and "开标大厅" in public.content.decode()
    assert public.context["role"] == "public"
    page = public.content.decode()
    assert not any(name in page or name.encode("unicode_escape").decode() in page for name in names)
    assert 'id="room-snapshot"' in public.content.decode() and 'type="module"' in public.content.decode()
    assert hosted.context["role"] == "host" and "Bid-opening room" in hosted.content.decode()
    assert all(name.encode("unicode_escape").decode() in hosted.content.decode()
               or name in hosted.content.decode() for name in names)
    assert client.get("/sections/nope/opening/").status_code == 404
    listing = client.get("/openings/")
    assert listing.status_code == 200 and opening.section.title in listing.content.decode()


def test_r33_a_command_over_the_websocket_is_logged_with_the_senders_ip(api, settings):
    from timestamps.models import LedgerEntry

    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    opening = prepare(api, 3)
    kit, forger = opening.kits[0], opening.kits[1]

    async def sign_in(session, client, *headers):
        communicator = WebsocketCommunicator(application, path(opening), headers=[ORIGIN, session, *headers])
        communicator.scope["client"] = client
        connected, code = await communicator.connect(timeout=TIMEOUT)
        assert connected, f"refused with {code}"
        assert (await receive(communicator))["type"] == "snapshot"
        await communicator.send_json_to({"type": "sign_in"})
        await receive_until(communicator, "signed_in")
        await communicator.disconnect()

    with travel(opening, -60):
        # through the trusted proxy: the address it appended is the client's
        async_to_sync(sign_in)(cookie(kit.user), ["127.0.0.1", 40000], (b"x-forwarded-for", b"10.9.8.7, 198.51.100.23"))
        # straight from an untrusted client: its own X-Forwarded-For is ignored
        async_to_sync(sign_in)(cookie(forger.user), ["203.0.113.50", 40001], (b"x-forwarded-for", b"192.0.2.1"))
    entries = LedgerEntry.objects.filter(action="opening.signed_in").order_by("seq")
    assert [(e.actor, e.ip) for e in entries] == [(kit.user.username, "198.51.100.23"),
                                                 (forger.user.username, "203.0.113.50")]
