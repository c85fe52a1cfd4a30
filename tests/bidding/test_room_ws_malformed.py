"""The opening room's WebSocket answers every malformed or out-of-protocol message with an error, never a crash.

Errors follow docs/opening-room.md: ``{"seq": null, "type": "error", "at", "data": {"code", "message", "command"}}``
in the client's language. A message over ROOM_MESSAGE_MAX_BYTES closes the socket with 1009.
"""

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidding.models import Bid, OpeningRoom, RoomEvent
from tests.bidding.test_room_ws import (
    ORIGIN,
    TIMEOUT,
    connect,
    cookie,
    open_room,
    receive,
    travel,
)
from tests.factories import supervisor_user
from tests.roomkit import prepare

pytestmark = pytest.mark.django_db(transaction=True)
EN = (b"accept-language", b"en")
NESTED = "[" * 30_000 + "]" * 30_000  # under the size limit, far over the parser's depth


async def reply_to(opening, frame: dict, *headers) -> dict:
    """Send one raw frame ({"text": ...} or {"bytes": ...}) and return the next message, then a ping's pong."""
    communicator = await connect(opening, ORIGIN, *headers)
    assert (await receive(communicator))["type"] == "snapshot"
    await communicator.send_input({"type": "websocket.receive", **frame})
    reply = await receive(communicator)
    await communicator.send_json_to({"type": "ping"})
    still_open = await receive(communicator)
    await communicator.disconnect()
    assert still_open["type"] == "pong", still_open
    return reply


MALFORMED = [
    ({"text": "not json {"}, "bad_json", None),
    ({"bytes": b"\x00\x01binary"}, "bad_frame", None),
    ({"text": NESTED}, "bad_json", None),
    ({"text": "[1, 2, 3]"}, "bad_request", None),
    ({"text": '"resume"'}, "bad_request", None),
    ({"text": '{"type": ["resume"]}'}, "bad_request", None),
    ({"text": '{"type": {"a": 1}}'}, "bad_request", None),
    ({"text": '{"kind": "ping"}'}, "bad_request", None),
    ({"text": '{"type": "no_such_thing"}'}, "unknown_command", "no_such_thing"),
    ({"text": '{"type": "resume", "after_seq": "3"}'}, "bad_request", "resume"),
    ({"text": '{"type": "resume", "after_seq": -1}'}, "bad_request", "resume"),
    ({"text": '{"type": "resume", "after_seq": 1.5}'}, "bad_request", "resume"),
    ({"text": '{"type": "resume", "after_seq": true}'}, "bad_request", "resume"),
    ({"text": '{"type": "resume", "after_seq": null}'}, "bad_request", "resume"),
    ({"text": '{"type": "resume", "after_seq": 99999999999999999999999}'}, "bad_request", "resume"),
    ({"text": '{"type": "decrypt", "bid_id": {"x": 1}, "k2": "AAAA"}'}, "bad_request", "decrypt"),
    ({"text": '{"type": "decrypt", "bid_id": "b", "k2": [1, 2]}'}, "bad_request", "decrypt"),
    ({"text": '{"type": "objection", "text": 12}'}, "bad_request", "objection"),
]


def test_each_malformed_message_gets_an_error_and_the_socket_stays_open(api):
    opening = prepare(api, 3)
    open_room(opening)
    bidder = cookie(opening.kits[0].user)

    async def scenario():
        return [await reply_to(opening, frame, bidder) for frame, _, _ in MALFORMED]

    with travel(opening, 5):
        replies = async_to_sync(scenario)()
    for reply, (frame, code, command) in zip(replies, MALFORMED, strict=True):
        assert reply["seq"] is None and reply["type"] == "error" and reply["at"], frame
        assert (reply["data"]["code"], reply["data"]["command"]) == (code, command), frame
        assert reply["data"]["message"]


def test_errors_for_malformed_messages_speak_the_clients_language(api):
    opening = prepare(api, 3)
    open_room(opening)
    host = cookie(opening.section.project.created_by)

    async def scenario():
        zh = await reply_to(opening, {"text": "{oops"})
        en = await reply_to(opening, {"text": "{oops"}, EN)
        binary = await reply_to(opening, {"bytes": b"\xff"}, EN)
        fields = await reply_to(opening, {"text": '{"type": "answer", "objection_id": 1}'},
                                host, EN)
        return zh, en, binary, fields

    with travel(opening, 5):
        zh, en, binary, fields = async_to_sync(scenario)()
    assert zh["data"]["message"] == "消息不是有效的 JSON。"
    assert en["data"]["message"] == "The message is not valid JSON."
    assert binary["data"]["message"] == "Messages must be JSON text, not binary frames."
    assert fields["data"] == {"code": "bad_request", "command": "answer",
                              "message": "Wrong or missing fields: objection_id."}


def test_a_resume_from_a_seq_the_room_has_not_reached_gets_a_snapshot(api):
    opening = prepare(api, 3)
    open_room(opening)

    async def scenario():
        communicator = await connect(opening, ORIGIN)
        first = await receive(communicator)
        await communicator.send_json_to({"type": "resume", "after_seq": first["seq"] + 1000})
        again = await receive(communicator)
        await communicator.disconnect()
        return first, again

    with travel(opening, 5):
        first, again = async_to_sync(scenario)()
    assert again["type"] == "snapshot" and again["seq"] == first["seq"]


@override_settings(ROOM_MESSAGE_MAX_BYTES=4096)
def test_a_message_over_the_limit_closes_the_socket_with_1009(api):
    opening = prepare(api, 3)
    open_room(opening)

    async def scenario(size: int):
        communicator = await connect(opening, ORIGIN)
        await receive(communicator)
        await communicator.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * size}))
        output = await communicator.receive_output(timeout=TIMEOUT)
        await communicator.disconnect()
        return output

    with travel(opening, 5):
        at_limit = async_to_sync(scenario)(4096 - len('{"type": "ping", "pad": ""}'))
        over = async_to_sync(scenario)(4096)
        huge = async_to_sync(scenario)(2 * 1024 * 1024)
    assert json.loads(at_limit["text"])["type"] == "pong"
    assert over == {"type": "websocket.close", "code": 1009}
    assert huge == {"type": "websocket.close", "code": 1009}


def test_the_default_message_limit_closes_a_2_mb_message_with_1009(api):
    opening = prepare(api, 3)
    open_room(opening)

    async def scenario():
        communicator = await connect(opening, ORIGIN)
        await receive(communicator)
        await communicator.send_to(bytes_data=b"\x00" * (2 * 1024 * 1024))
        output = await communicator.receive_output(timeout=TIMEOUT)
        await communicator.disconnect()
        return output

    with travel(opening, 5):
        assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 1009}


# --------------------------------------------------------------------------------------------------
# Property: whatever arrives, the consumer answers and the room's history stays consistent.

COMMAND_NAMES = ["resume", "ping", "sign_in", "decrypt", "objection", "answer", "advance", "pause",
                 "resume_room", "", "unknown", "RESUME"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
commands = st.fixed_dictionaries(
    {"type": st.sampled_from(COMMAND_NAMES)},
    optional={"after_seq": json_values | st.integers(min_value=0, max_value=40), "bid_id": json_values,
              "k2": json_values, "text": json_values, "reason": json_values | st.text(min_size=1, max_size=40),
              "objection_id": json_values, "answer": json_values},
)
frames = st.one_of(
    commands.map(lambda c: {"text": json.dumps(c)}),
    json_values.map(lambda v: {"text": json.dumps(v)}),
    st.text(max_size=60).map(lambda t: {"text": t}),
    st.binary(max_size=60).map(lambda b: {"bytes": b}),
    st.integers(min_value=1, max_value=3000).map(lambda n: {"text": "[" * n + "]" * n}),
    st.integers(min_value=1, max_value=3000).map(lambda n: {"text": '{"type": "x", "a": ' + "[" * n + "]" * n + "}"}),
)
ROOM_LIMIT = 64 * 1024  # ROOM_MESSAGE_MAX_BYTES by default
MESSAGE_TYPES = {"snapshot", "error", "pong", "phase", "signed_in", "bids_extracted", "decrypted",
                 "decrypt_failed", "bid_outcome", "price_read", "objection_raised", "objection_answered",
                 "paused", "resumed", "failed", "record_ready", "signin_list"}


async def exchange(opening, headers, batch: list[dict], huge: int = 0) -> list[dict]:
    """Send the batch, then a ping, and collect everything up to that ping's pong; then maybe a huge frame."""
    communicator = await connect(opening, ORIGIN, *headers)
    seen = [await receive(communicator)]
    for frame in batch:
        await communicator.send_input({"type": "websocket.receive", **frame})
    await communicator.send_json_to({"type": "ping"})
    pongs_wanted = 1 + sum(1 for f in batch if _is_ping(f))
    while pongs_wanted:
        output = await communicator.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.send", f"the socket closed: {output}"
        message = json.loads(output["text"])
        seen.append(message)
        pongs_wanted -= message["type"] == "pong"
    if huge:
        await communicator.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * huge}))
        closed = await communicator.receive_output(timeout=TIMEOUT)
        assert closed == {"type": "websocket.close", "code": 1009}, closed
    await communicator.disconnect()
    return seen


def _is_ping(frame: dict) -> bool:
    try:
        content = json.loads(frame.get("text") or "null")
    except (ValueError, RecursionError):
        return False
    return isinstance(content, dict) and content.get("type") == "ping"


def test_no_message_crashes_the_consumer_and_the_room_stays_consistent(api):
    opening = prepare(api, 3)
    open_room(opening)
    roles = [(), (cookie(opening.kits[0].user),), (cookie(opening.section.project.created_by),),
             (cookie(supervisor_user()),)]
    sent, received = [], []

    @settings(max_examples=110, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(role=st.sampled_from(range(len(roles))), batch=st.lists(frames, min_size=3, max_size=8),
           english=st.booleans(), huge=st.sampled_from([0, 0, 0, ROOM_LIMIT, 3 * ROOM_LIMIT, 2 * 1024 * 1024]))
    def run(role, batch, english, huge):
        headers = roles[role] + ((EN,) if english else ())
        seen = async_to_sync(exchange)(opening, headers, batch, huge)
        sent.extend(batch + ([{"text": "huge"}] if huge else []))
        received.extend(seen)
        assert seen[0]["type"] == "snapshot"
        for message in seen:
            assert set(message) == {"seq", "type", "at", "data"} and message["type"] in MESSAGE_TYPES
            if message["type"] == "error":
                assert set(message["data"]) == {"code", "message", "command"} and message["data"]["message"]

    with travel(opening, 5):
        run()
        room = OpeningRoom.objects.get(section=opening.section)
        history = list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "type"))
        final = async_to_sync(exchange)(opening, (), [])
    assert len(sent) >= 500
    assert [seq for seq, _ in history] == list(range(1, room.last_seq + 1))
    # Every event a client was sent (live or replayed by a resume) is the room's stored event at that seq.
    stored = dict(history)
    for message in received:
        if message["seq"] is not None and message["type"] != "snapshot":
            assert stored[message["seq"]] == message["type"], message
        assert message["seq"] is None or message["seq"] <= room.last_seq
    assert final[0]["seq"] == room.last_seq and final[0]["data"]["phase"] == room.phase == "decryption"
    pauses = [kind for _, kind in history if kind in ("paused", "resumed")]
    assert room.paused == (bool(pauses) and pauses[-1] == "paused")
    assert final[0]["data"]["paused"] == room.paused
    assert not Bid.objects.filter(section=opening.section, status=Bid.Status.DECRYPTED).exists()


def test_a_bug_in_a_command_answers_server_error_not_1011(api, monkeypatch):
    from bidding import consumers

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setitem(consumers.COMMANDS, "advance", (broken, consumers.HOST))
    opening = prepare(api, 3)
    open_room(opening)
    host = cookie(opening.section.project.created_by)

    with travel(opening, 5):
        reply = async_to_sync(reply_to)(opening, {"text": '{"type": "advance"}'}, host, EN)
    assert reply["type"] == "error" and reply["data"] == {
        "code": "server_error", "command": "advance", "message": "The server could not process this message."}
