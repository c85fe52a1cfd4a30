"""The opening room's WebSocket (DESIGN.md §8): authenticate, join the room's group, relay.

State lives in the database; this consumer only translates messages into service calls and back.
"""

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from bidding.models import OpeningRoom
from bidding.room import cosign, decrypt, services
from bidding.room.access import room_role
from bidding.room.events import BIDDER, HOST, SUPERVISOR, event_for, group_name
from bidding.room.snapshot import room_missed, room_snapshot
from timestamps.ledger import current_ip
from trading.clientip import client_ip_from_scope
from trading.selectors import section_get_visible
from trading.services.errors import DomainError, NotFound

GAP_LIMIT = 50  # a client this far behind is dropped and resumes on reconnect
CLOSE_TOO_BIG = 1009  # RFC 6455: a message too big to process
SEQ_MAX = 2**63 - 1  # the database's integer range; anything beyond cannot be a seq or an id
logger = logging.getLogger(__name__)


def _language(scope) -> str:
    cookies = scope.get("cookies") or {}
    if cookies.get("django_language") in ("en", "zh-hans"):
        return cookies["django_language"]
    for key, value in scope.get("headers", []):
        if key == b"accept-language" and value.decode("latin-1").lower().startswith("en"):
            return "en"
    return "zh-hans"


class OpeningRoomConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.section_public_id = self.scope["url_route"]["kwargs"]["section_id"]
        self.language = _language(self.scope)
        context = await self._context()
        if context is None:
            await self.close(code=4404)
            return
        self.room_pk, self.role, self.org_id = context
        self.last_seq = 0
        await self.channel_layer.group_add(group_name(self.section_public_id), self.channel_name)
        await self.accept()
        await self._send_snapshot()

    async def websocket_receive(self, message):
        # R33: the ledger entries a command makes carry the IP of the client that sent it.
        token = current_ip.set(client_ip_from_scope(self.scope))
        try:
            await super().websocket_receive(message)
        finally:
            current_ip.reset(token)

    async def disconnect(self, code):
        if hasattr(self, "room_pk"):
            await self.channel_layer.group_discard(group_name(self.section_public_id), self.channel_name)

    @database_sync_to_async
    def _context(self):
        user = self.scope.get("user")
        try:
            section = section_get_visible(user=user, public_id=self.section_public_id)
        except NotFound:
            return None
        room = OpeningRoom.objects.filter(section=section).first()
        if room is None:
            return None
        return room.pk, room_role(user, section), getattr(user, "organization_id", None)

    @database_sync_to_async
    def _snapshot(self):
        room = OpeningRoom.objects.select_related("section__project").get(pk=self.room_pk)
        with translation.override(self.language):
            return room_snapshot(room, role=self.role, org_id=self.org_id)

    @database_sync_to_async
    def _missed(self, after_seq: int):
        room = OpeningRoom.objects.get(pk=self.room_pk)
        if after_seq > room.last_seq:
            return None  # a seq the room has not reached: the client's state is wrong, so it starts over
        return room_missed(room, after_seq=after_seq, role=self.role, org_id=self.org_id)

    @database_sync_to_async
    def _record_status(self):
        room = OpeningRoom.objects.select_related("section").get(pk=self.room_pk)
        return cosign.record_status(room, user=self.scope.get("user"), role=self.role)

    async def _send_snapshot(self):
        snapshot = await self._snapshot()
        self.last_seq = snapshot["seq"]
        await self.send_json(snapshot)

    async def room_event(self, message):
        event = message["event"]
        if event["seq"] <= self.last_seq:
            return
        if event["seq"] != self.last_seq + 1:
            # Messages from another process may overtake each other; the database has them all in order.
            if event["seq"] - self.last_seq > GAP_LIMIT:
                await self.close(code=4008)
                return
            for missed in await self._missed(self.last_seq) or []:
                if missed["seq"] < event["seq"]:
                    await self.send_json(missed)
        self.last_seq = event["seq"]
        visible = event_for(event, role=self.role, org_id=self.org_id)
        if visible is not None:
            await self.send_json(visible)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Parse one client frame; anything malformed is answered with an error, never a crash."""
        with translation.override(self.language):
            await self._receive(text_data, bytes_data)

    async def _receive(self, text_data, bytes_data):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > settings.ROOM_MESSAGE_MAX_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        if text_data is None:
            await self._error(None, "bad_frame", _("Messages must be JSON text, not binary frames."))
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._error(None, "bad_json", _("The message is not valid JSON."))
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error(None, "bad_request", _("A message must be a JSON object with a \"type\" string."))
            return
        try:
            await self.receive_json(content)
        except Exception:
            # The socket outlives a bug in one command: log it and tell the client, instead of closing with 1011.
            logger.exception("room command %r failed", content["type"][:64])
            await self._error(content["type"][:64], "server_error", _("The server could not process this message."))

    async def receive_json(self, content, **kwargs):
        kind = content["type"][:64]
        if kind == "resume":
            await self._resume(content.get("after_seq"))
            return
        if kind == "record_status":
            status = await self._record_status()
            await self.send_json({"seq": None, "type": "record_status", "at": timezone.now().isoformat(),
                                  "data": status})
            return
        if kind == "ping":
            await self.send_json({"seq": None, "type": "pong", "at": timezone.now().isoformat(), "data": {}})
            return
        handler, role_needed = COMMANDS.get(kind, (None, None))
        if handler is None:
            await self._error(kind, "unknown_command", _("Unknown command."))
            return
        if self.role not in (role_needed if isinstance(role_needed, tuple) else (role_needed,)):
            await self._error(kind, "forbidden", ROLE_REFUSALS[role_needed])
            return
        wrong = [name for name, kind_of in FIELDS.get(kind, {}).items() if not _fits(content.get(name), kind_of)]
        if wrong:
            await self._error(kind, "bad_request", _("Wrong or missing fields: %(fields)s.") % {
                "fields": ", ".join(wrong)})
            return
        try:
            await database_sync_to_async(self._run)(handler, content)
        except DomainError as exc:
            await self._error(kind, exc.code, exc.message)

    def _run(self, handler, content):
        room = OpeningRoom.objects.select_related("section__project").get(pk=self.room_pk)
        user = self.scope.get("user")
        with translation.override(self.language):
            handler(user=user, section=room.section, content=content, role=self.role)

    async def _resume(self, after_seq):
        if not _fits(after_seq, int):
            await self._error("resume", "bad_request", _("after_seq must be a whole number from 0 up."))
            return
        missed = await self._missed(after_seq)
        if missed is None:
            await self._send_snapshot()
            return
        for event in missed:
            await self.send_json(event)
        self.last_seq = max(self.last_seq, after_seq, *(e["seq"] for e in missed)) if missed else max(
            self.last_seq, after_seq)

    async def _error(self, command, code, message):
        """An error answering this client only (not part of the room's history), in the client's language."""
        await self.send_json({"seq": None, "type": "error", "at": timezone.now().isoformat(),
                              "data": {"code": code, "message": str(message), "command": command}})


def _sign_in(*, user, section, content, role):
    services.room_sign_in(user=user, section=section)


def _decrypt(*, user, section, content, role):
    decrypt.room_decrypt(user=user, bid_id=str(content.get("bid_id", "")), k2=str(content.get("k2", "")))


def _objection(*, user, section, content, role):
    services.room_objection_raise(user=user, section=section, text=str(content.get("text", "")))


def _answer(*, user, section, content, role):
    services.room_objection_answer(user=user, section=section, objection_id=content["objection_id"],
                                   answer=str(content.get("answer", "")))


def _advance(*, user, section, content, role):
    services.room_advance(user=user, section=section)


def _pause(*, user, section, content, role):
    services.room_pause(user=user, section=section, reason=str(content.get("reason", "")))


def _resume_room(*, user, section, content, role):
    services.room_resume(user=user, section=section, reason=str(content.get("reason", "")))


def _confirm_record(*, user, section, content, role):
    cosign.record_confirm(user=user, section=section, signature=content["signature"],
                          public_key=content.get("public_key"))


def _refuse_record(*, user, section, content, role):
    cosign.record_refuse(user=user, section=section, reason=str(content.get("reason") or ""))


SIGNERS = (HOST, SUPERVISOR, BIDDER)
# Each command with the room role that may send it; the services check the details again.
COMMANDS = {"sign_in": (_sign_in, BIDDER), "decrypt": (_decrypt, BIDDER), "objection": (_objection, BIDDER),
            "answer": (_answer, HOST), "advance": (_advance, HOST), "pause": (_pause, SUPERVISOR),
            "resume_room": (_resume_room, SUPERVISOR), "confirm_record": (_confirm_record, SIGNERS),
            "refuse_record": (_refuse_record, BIDDER)}
# The fields each command must carry, and their JSON types; optional text fields may be left out.
FIELDS = {"decrypt": {"bid_id": str, "k2": str}, "objection": {"text": (str, None)},
          "answer": {"objection_id": str, "answer": (str, None)}, "pause": {"reason": (str, None)},
          "resume_room": {"reason": (str, None)}, "confirm_record": {"signature": str, "public_key": (str, None)},
          "refuse_record": {"reason": (str, None)}}
ROLE_REFUSALS = {
    BIDDER: _("Only a bidder in this opening can do this."),
    HOST: _("Only the host of this opening can do this."),
    SUPERVISOR: _("Only a supervisor can do this."),
    SIGNERS: _("Only the host, the supervisor and the bidders in this opening confirm the record."),
}


def _fits(value, kind) -> bool:
    """Whether a JSON value has the expected type: ``int`` is a non-negative integer in the database's range."""
    if isinstance(kind, tuple):
        return any(_fits(value, k) for k in kind)
    if kind is None:
        return value is None
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= SEQ_MAX
    return isinstance(value, kind)
