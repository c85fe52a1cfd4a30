#!/usr/bin/env python3
"""Smoke scenario through nginx: publish a section, 3 sealed bids, the opening, the signed record.

usage: smoke.py BASE_URL CA_FILE [DAPHNE_URL]   (run by deploy/local-cluster; needs the demo accounts)

Every request claims a forged X-Forwarded-For. With SMOKE_SOURCE_ADDRESS (e.g. 127.0.0.2) the client binds
its sockets to that address, so the ledger can show that the client's address was recorded, not nginx's.
With DAPHNE_URL one bidder registers its keys straight at a daphne process, not through nginx (R33).
"""

import asyncio
import base64
import hashlib
import io
import json
import os
import ssl
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import websockets
from requests.adapters import HTTPAdapter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bidding.envelope import (  # noqa: E402
    load_public_key_b64,
    read_header,
    seal,
    sign_digest,
    spki_der,
    unwrap_key,
)

BASE, CA = sys.argv[1], sys.argv[2]
DAPHNE = sys.argv[3] if len(sys.argv) > 3 else ""
SOURCE = os.environ.get("SMOKE_SOURCE_ADDRESS", "")
FORGED = {"X-Forwarded-For": "203.0.113.66"}  # what a client claiming to be someone else sends


class SourceAddressAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (SOURCE, 0)
        super().init_poolmanager(*args, **kwargs)


S = requests.Session()
S.verify = CA
if SOURCE:
    S.mount("https://", SourceAddressAdapter())
    S.mount("http://", SourceAddressAdapter())
PASSWORDS = {"agency": "Zhaobiao-2026!", "bidder": "Toubiao-2026!"}


def step(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


def call(method: str, path: str, token: str | None = None, expect: int = 200, base: str = "", **kwargs):
    headers = {**FORGED, **kwargs.pop("headers", {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = S.request(method, (base or BASE) + path, headers=headers, timeout=60, verify=CA, **kwargs)
    if response.status_code != expect:
        raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:500]}")
    return response.json() if "json" in response.headers.get("Content-Type", "") else response


def login(username: str, role: str) -> str:
    return call("POST", "/api/v1/auth/token", json={"username": username, "password": PASSWORDS[role]})["token"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def publish(agency: str, deadline: datetime) -> str:
    project = call("POST", "/api/v1/projects/", agency, 201, json={
        "code": f"SMOKE-{int(time.time())}", "name": "冒烟测试国有产权转让", "owner_name": "市国资委",
        "category": "state_assets", "funding": "other", "estimated_price": "5000000.00", "must_tender": False})
    now = datetime.now(UTC)
    section = call("POST", f"/api/v1/projects/{project['id']}/sections", agency, 201, json={
        "title": "产权转让", "estimated_price": "5000000.00", "deposit_amount": "100000.00",
        "bid_deadline": deadline.isoformat(), "documents_from": (now + timedelta(seconds=5)).isoformat(),
        "documents_until": (now + timedelta(days=6)).isoformat(), "evaluation_method": "lowest_price",
        "announcement": "冒烟测试公告", "opening_config": {"decrypt_minutes": 1.5, "objection_minutes": 0.1,
                                                             "confirm_minutes": 0.1}})
    sid = section["id"]
    call("POST", f"/api/v1/sections/{sid}/documents", agency, 201,
         files={"file": ("招标文件.pdf", b"%PDF-1.4 smoke")})
    call("POST", f"/api/v1/sections/{sid}/publish", agency)
    return sid


def bid(sid: str, username: str, price: str) -> tuple[str, str, str]:
    from cryptography.hazmat.primitives.asymmetric import ec

    token = login(username, "bidder")
    me = call("GET", "/api/v1/me", token)
    call("POST", f"/api/v1/sections/{sid}/registrations", token, 201, json={})
    enc, sign = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    # The last bidder goes straight to daphne when it can: as a direct client, its X-Forwarded-For is ignored.
    direct = {"base": DAPHNE, "headers": {"X-Forwarded-Proto": "https"}} if DAPHNE and username == "bidder3" else {}
    call("POST", "/api/v1/bidder-keys", token, 201, **direct, json={"enc_public_key": b64(spki_der(enc.public_key())),
                                                         "sign_public_key": b64(spki_der(sign.public_key()))})
    key = call("GET", f"/api/v1/sections/{sid}/opening-key", token)
    out = io.BytesIO()
    seal(out=out, documents=io.BytesIO(b"smoke documents " * 50_000), summary={"price": price, "currency": "CNY"},
         section=sid, bidder=me["organization"]["credit_code"], opening_public_key=load_public_key_b64(key["public_key"]),
         bidder_enc_public_key=enc.public_key(), chunk_size=65536)
    envelope = out.getvalue()
    chunk = 256 * 1024
    upload = call("POST", f"/api/v1/sections/{sid}/bids/uploads", token, 201,
                  json={"size": len(envelope), "chunk_size": chunk})
    for index in range(upload["chunk_count"]):
        data = envelope[index * chunk:(index + 1) * chunk]
        call("PUT", f"/api/v1/bids/uploads/{upload['upload_id']}/chunks/{index}", token, 204, data=data,
             headers={"X-Chunk-SHA256": hashlib.sha256(data).hexdigest(), "Content-Type": "application/octet-stream"})
    digest = hashlib.sha256(envelope).digest()
    receipt = call("POST", f"/api/v1/bids/uploads/{upload['upload_id']}/submit", token, 201,
                   json={"digest": digest.hex(), "signature": b64(sign_digest(digest, sign))})
    assert receipt["digest"] == digest.hex()
    k2 = unwrap_key(read_header(io.BytesIO(envelope)), 1, enc)
    return token, receipt["bid_id"], b64(k2)


def room_socket(sid: str, headers: dict):
    url = BASE.replace("https://", "wss://") + f"/ws/sections/{sid}/opening/"
    bind = {"local_addr": (SOURCE, 0)} if SOURCE else {}
    return websockets.connect(url, ssl=ssl.create_default_context(cafile=CA), additional_headers={**FORGED, **headers},
                              **bind)


async def decrypt_in_room(sid: str, token: str, bid_id: str, k2: str) -> None:
    """A bidder decrypts its bid with the room's WebSocket command instead of the API."""
    async with room_socket(sid, {"Authorization": f"Bearer {token}"}) as socket:
        assert json.loads(await socket.recv())["type"] == "snapshot"
        await socket.send(json.dumps({"type": "decrypt", "bid_id": bid_id, "k2": k2}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            if message["type"] in ("error", "decrypt_failed"):
                raise SystemExit(f"decrypt over the WebSocket: {message['data']}")
            if message["type"] == "decrypted":
                return


async def watch(sid: str, seen: list) -> None:
    async with room_socket(sid, {"Origin": BASE}) as socket:
        while True:
            message = json.loads(await socket.recv())
            seen.append(message)
            if message["type"] == "record_ready":
                return


def wait_phase(sid: str, phases: set, timeout: float) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        snapshot = call("GET", f"/api/v1/sections/{sid}/opening")
        if snapshot["data"]["phase"] in phases:
            return snapshot
        time.sleep(1)
    raise SystemExit(f"room did not reach {phases} in {timeout} s: {snapshot['data']['phase']}")


async def main() -> None:
    agency = login("agency1", "agency")
    deadline = datetime.now(UTC) + timedelta(seconds=40)
    sid = publish(agency, deadline)
    step(f"published {sid}, deadline {deadline.isoformat()}")
    bidders = [bid(sid, f"bidder{i}", price) for i, price in ((1, "4800000.00"), (2, "4750000.50"), (3, "4900000.00"))]
    step("3 sealed bids submitted and receipted")
    seen: list = []
    watcher = asyncio.create_task(watch(sid, seen))
    await asyncio.to_thread(wait_phase, sid, {"decryption"}, 120)
    step("the room opened at the deadline (beat + worker)")
    await decrypt_in_room(sid, *bidders[0])
    for token, bid_id, k2 in bidders[1:]:
        call("POST", f"/api/v1/bids/{bid_id}/decrypt", token, json={"k2": k2})
    step("3 bids decrypted (one over the room's WebSocket)")
    await asyncio.wait_for(watcher, 120)
    seqs = [m["seq"] for m in seen if m["seq"] is not None]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    prices = sorted(m["data"]["form"]["price"] for m in seen if m["type"] == "price_read")
    assert prices == ["4750000.50", "4800000.00", "4900000.00"], prices
    snapshot = await asyncio.to_thread(wait_phase, sid, {"closed"}, 60)
    pdf = call("GET", snapshot["data"]["record"]["url"])
    assert pdf.content.startswith(b"%PDF") and hashlib.sha256(pdf.content).hexdigest() == snapshot["data"]["record"]["sha256"]
    step(f"signed opening record downloaded ({len(pdf.content)} bytes); {len(seen)} room messages in order")
    print("SMOKE PASSED", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
