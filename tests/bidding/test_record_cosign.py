"""The opening record: complete (timeline, pauses, 大写, units) and co-signed in the room (issue 15, ADR 0032).

A host, a supervisor and three bidders: two bidders sign the draft over the WebSocket with real P-256 keys, as
the browser does with WebCrypto (ECDSA P-256 / SHA-256, r‖s), one stays away and is recorded absent. The sealed
record passes pdfsig and the offline verifier, which checks every embedded signature.
"""

import base64
import json
import re
import subprocess

import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.conf import settings

from bidding.envelope import spki_der
from bidding.models import OpeningRoom, RecordConfirmation, StaffSigningKey
from bidding.room import services
from bidding.room.decrypt import room_decrypt
from tests.bidding.test_room_ws import ORIGIN, connect, cookie, receive, receive_until, travel
from tests.factories import supervisor_user
from tests.roomkit import prepare
from tests.timestamps.test_verify import run_verifier
from timestamps import docsign, pki
from timestamps.verification import COSIGN_FILE, pdf_attachments, pdf_verify
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM_MINUTES = 10


def webcrypto_sign(private_key: ec.EllipticCurvePrivateKey, message: str) -> str:
    """What ``crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, bytes)`` returns: r‖s, base64."""
    r, s = decode_dss_signature(private_key.sign(message.encode(), ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def room_of(opening) -> OpeningRoom:
    return OpeningRoom.objects.get(section=opening.section)


def to_confirmation(opening, *, pause: bool = False):
    """Sign-in, decryption of all three bids, an objection window (with a supervisor's pause), then the draft."""
    supervisor = supervisor_user()
    with travel(opening, -120):
        for kit in opening.kits:
            services.room_sign_in(user=kit.user, section=opening.section)
    with travel(opening, 1):
        run_sweeps()
        if pause:
            services.room_pause(user=supervisor, section=opening.section, reason="网络波动，暂停核查")
    if pause:
        with travel(opening, 1 + 200):  # 3 分钟 20 秒
            services.room_resume(user=supervisor, section=opening.section, reason="已恢复")
    with travel(opening, 300):
        for i, kit in enumerate(opening.kits):
            room_decrypt(user=kit.user, bid_id=opening.bids[i], k2=opening.k2(i))
    assert room_of(opening).phase == "objections"
    with travel(opening, 300 + 10 * 60 + 5):
        run_sweeps()
    room = room_of(opening)
    assert room.phase == "record" and room.draft_sha256
    return room, supervisor


def pdf_text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "r.pdf").write_bytes(pdf)
    return subprocess.run(["pdftotext", "r.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout.replace("\n", "").replace(" ", "")


def test_host_supervisor_and_bidders_co_sign_the_record_one_bidder_absent(api, tmp_path):
    opening = prepare(api, 3, confirm_minutes=CONFIRM_MINUTES)
    room, supervisor = to_confirmation(opening, pause=True)
    host = opening.section.project.created_by
    host_key, supervisor_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    parties = [(cookie(host), host_key, True), (cookie(supervisor), supervisor_key, True),
               (cookie(opening.kits[0].user), opening.kits[0].sign, False),
               (cookie(opening.kits[1].user), opening.kits[1].sign, False)]

    async def confirm_all():
        draft, replies = None, []
        for header, key, staff in parties:
            communicator = await connect(opening, ORIGIN, header)
            assert (await receive(communicator))["type"] == "snapshot"
            if draft is None:  # the first one to confirm catches up on the room's history, which has the draft
                await communicator.send_json_to({"type": "resume", "after_seq": 0})
                draft = (await receive_until(communicator, "record_draft", limit=200))[-1]
            command = {"type": "confirm_record", "signature": webcrypto_sign(key, draft["data"]["message"])}
            if staff:  # first confirmation from this browser: the key is registered to the account
                command["public_key"] = b64(spki_der(key.public_key()))
            await communicator.send_json_to(command)
            replies.append((await receive_until(communicator, "record_confirmed"))[-1])
            await communicator.disconnect()
        return draft, replies

    with travel(opening, 300 + 10 * 60 + 30):
        draft, replies = async_to_sync(confirm_all)()
    assert draft["data"]["sha256"] == room.draft_sha256
    assert f"{opening.section.public_id}\n{room.draft_sha256}" in draft["data"]["message"]
    assert [r["data"]["role"] for r in replies] == ["host", "supervisor", "bidder", "bidder"]
    assert room_of(opening).phase == "record"  # the third bidder may still sign
    assert StaffSigningKey.objects.filter(user__in=[host, supervisor]).count() == 2

    with travel(opening, 300 + 10 * 60 + 5 + CONFIRM_MINUTES * 60 + 1):
        run_sweeps()
    room = room_of(opening)
    assert room.phase == "closed"
    statuses = dict(RecordConfirmation.objects.filter(room=room).values_list("signer", "status"))
    assert statuses[opening.kits[2].user.organization.name] == "absent"
    assert list(statuses.values()).count("signed") == 4

    pdf = (settings.FILE_STORE_DIR / room.record_path).read_bytes()
    pdfsig = subprocess.run(["pdfsig", "-"], input=pdf, capture_output=True).stdout.decode()
    if "Signature Validation" not in pdfsig:
        (tmp_path / "r.pdf").write_bytes(pdf)
        pdfsig = subprocess.run(["pdfsig", str(tmp_path / "r.pdf")], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in pdfsig and "Total document signed" in pdfsig

    seal_ca = (docsign.signing_dir() / docsign.CA_FILE).read_bytes()
    tsa = pki.certs_pem(settings.TSA_DIR)
    verdict = pdf_verify(pdf=pdf, seal_ca_pem=seal_ca, tsa_certs_pem=tsa)
    assert verdict.ok, [c for c in verdict.checks if not c.ok]
    assert [c.code for c in verdict.checks].count("cosign-signature") == 4
    assert "cosign-draft" in [c.code for c in verdict.checks]
    (tmp_path / "seal-ca.pem").write_bytes(seal_ca)
    (tmp_path / "certs.pem").write_bytes(tsa)
    (tmp_path / "record.pdf").write_bytes(pdf)
    offline = run_verifier("pdf", "record.pdf", cwd=tmp_path)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.count("cosign-signature") == 4

    text = pdf_text(pdf, tmp_path)
    for expected in ("开标过程", "投标人签到", "解密成功", "开标室开放", "监督人暂停", "网络波动，暂停核查",
                     "唱标", "玖佰玖拾壹万贰仟叁佰肆拾伍元陆角柒分", "9,912,345.67", "日历天", "（北京时间）",
                     "保证金核查", "开标记录确认签名", "已签名确认", "缺席", "主持人", "监督人"):
        assert expected in text
    assert opening.kits[2].user.organization.name in text
    assert re.search(r"暂停时长3分钟(19|20|21)秒", text)  # the clock ticks on while the test runs


def test_a_bidder_signature_from_a_key_other_than_its_registered_one_is_refused(api):
    opening = prepare(api, 3, confirm_minutes=CONFIRM_MINUTES)
    room, _supervisor = to_confirmation(opening)
    message = f"SBE1-RECORD-CONFIRM\n{opening.section.public_id}\n{room.draft_sha256}"
    stranger = ec.generate_private_key(ec.SECP256R1())

    headers = [cookie(kit.user) for kit in opening.kits]

    async def attempt(i, key, expect, extra=None):
        communicator = await connect(opening, ORIGIN, headers[i])
        await receive(communicator)
        await communicator.send_json_to({"type": "confirm_record", "signature": webcrypto_sign(key, message),
                                         **(extra or {})})
        reply = await receive_until(communicator, expect)
        await communicator.disconnect()
        return reply[-1]

    with travel(opening, 300 + 10 * 60 + 30):
        wrong = async_to_sync(attempt)(0, stranger, "error",
                                       {"public_key": b64(spki_der(stranger.public_key()))})
        other = async_to_sync(attempt)(1, opening.kits[0].sign, "error")  # another bidder's key
        right = async_to_sync(attempt)(0, opening.kits[0].sign, "record_confirmed")
    assert wrong["data"]["code"] == "bad_signature" and wrong["data"]["command"] == "confirm_record"
    assert other["type"] == "error" and other["data"]["code"] == "bad_signature"
    assert right["data"]["role"] == "bidder" and right["data"]["status"] == "signed"
    signed = RecordConfirmation.objects.get(room=room, organization=opening.kits[0].user.organization)
    registered = opening.kits[0].user.organization.bidder_keys.get(use="sign")
    assert signed.kid == registered.kid and bytes(signed.public_key) == bytes(registered.public_key)


def test_a_bidder_that_refuses_is_recorded_with_its_reason_and_the_public_cannot_confirm(api, tmp_path):
    opening = prepare(api, 3, confirm_minutes=CONFIRM_MINUTES)
    room, _supervisor = to_confirmation(opening)

    header = cookie(opening.kits[2].user)

    async def run():
        bidder = await connect(opening, ORIGIN, header)
        await receive(bidder)
        await bidder.send_json_to({"type": "refuse_record", "reason": "报价唱错"})
        refused = (await receive_until(bidder, "record_confirmed"))[-1]
        await bidder.disconnect()
        public = await connect(opening, ORIGIN)
        await receive(public)
        await public.send_json_to({"type": "confirm_record", "signature": "AAAA"})
        denied = (await receive_until(public, "error"))[-1]
        await public.disconnect()
        return refused, denied

    with travel(opening, 300 + 10 * 60 + 30):
        refused, denied = async_to_sync(run)()
    assert refused["data"]["status"] == "refused"
    assert denied["data"]["code"] == "forbidden"
    with travel(opening, 300 + 10 * 60 + 5 + CONFIRM_MINUTES * 60 - 1):
        run_sweeps()
    assert room_of(opening).phase == "record"  # the window's last second
    with travel(opening, 300 + 10 * 60 + 5 + CONFIRM_MINUTES * 60 + 1):
        run_sweeps()
    room = room_of(opening)
    assert room.phase == "closed"
    pdf = (settings.FILE_STORE_DIR / room.record_path).read_bytes()
    cosign = json.loads(pdf_attachments(pdf)[COSIGN_FILE])
    assert [e["status"] for e in cosign["signatures"]].count("absent") == 4
    assert {"refused"} <= {e["status"] for e in cosign["signatures"]}
    text = pdf_text(pdf, tmp_path)
    assert "拒绝签名" in text and "报价唱错" in text


def test_record_status_tells_a_reloaded_page_the_draft_and_its_own_answer(api):
    opening = prepare(api, 3, confirm_minutes=CONFIRM_MINUTES)
    room, _supervisor = to_confirmation(opening)
    headers = [cookie(opening.kits[0].user), cookie(opening.kits[1].user)]
    message = f"SBE1-RECORD-CONFIRM\n{opening.section.public_id}\n{room.draft_sha256}"

    async def run():
        first = await connect(opening, ORIGIN, headers[0])
        await receive(first)
        await first.send_json_to({"type": "confirm_record", "signature": webcrypto_sign(opening.kits[0].sign,
                                                                                       message)})
        await receive_until(first, "record_confirmed")
        await first.send_json_to({"type": "record_status"})
        mine = (await receive_until(first, "record_status"))[-1]
        await first.disconnect()
        other = await connect(opening, ORIGIN, headers[1])
        await receive(other)
        await other.send_json_to({"type": "record_status"})
        theirs = (await receive_until(other, "record_status"))[-1]
        await other.disconnect()
        return mine, theirs

    with travel(opening, 300 + 10 * 60 + 30):
        mine, theirs = async_to_sync(run)()
    assert mine["seq"] is None and mine["data"]["you"] == "signed"
    assert mine["data"]["draft"]["sha256"] == room.draft_sha256 and mine["data"]["draft"]["message"] == message
    assert theirs["data"]["you"] is None
    assert [c["signer"] for c in theirs["data"]["confirmations"]] == [opening.kits[0].user.organization.name]
