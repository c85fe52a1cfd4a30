"""The opening room across real processes: 2 daphne + Celery worker + beat, sharing PostgreSQL and Redis.

Proves that events made through one daphne reach clients of the other in order, that `resume` on
another process fills exactly the gap, and that the opening completes exactly once when a worker,
a daphne process or a second beat gets in the way (DESIGN.md §2, §8).
"""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.cluster import Cluster, RoomClient, Seed, visible_seqs, wait_until
from tests.services import new_pg_database, require_postgres, require_redis

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ORIGIN = "http://127.0.0.1"
ROOM = {"deadline_in": 7, "decrypt_minutes": 0.5, "objection_minutes": 0.1}  # 30 s to decrypt, 6 s of objections


@pytest.fixture(scope="module")
def cluster():
    """One topology for the module (each test seeds its own section): saves a minute of start-ups."""
    require_postgres()
    require_redis()
    from tests.conftest import ROOT

    url, drop = new_pg_database()
    try:
        env = {**os.environ, "DATABASE_URL": url, "PLATFORM_VAR_DIR": str(ROOT / "var" / "pgtest")}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        with Cluster(url, redis_db=int(os.environ.get("CLUSTER_REDIS_DB", "13"))) as running:
            yield running
    finally:
        drop()


@pytest.fixture
def healthy(cluster):
    """Each test starts from the standard topology, whatever the previous one killed."""
    for name in ("daphne0", "daphne1", "worker", "beat"):
        if not cluster.procs[name].alive:
            cluster.restart(name)
    for extra in [n for n in cluster.procs if n not in ("daphne0", "daphne1", "worker", "beat")]:
        cluster.remove(extra)
    yield cluster
    print(cluster.logs())  # pytest shows it only when the test failed


def decrypt_http(cluster: Cluster, daphne: str, seed: Seed, i: int) -> None:
    status, body = cluster.http(daphne, "POST", f"/api/v1/bids/{seed.bids[i]}/decrypt", token=seed.bidders[i],
                                body={"k2": seed.k2[i]})
    assert status == 200 and body["status"] == "decrypted", body


def until_deadline(seed: Seed) -> float:
    return seed.deadline - time.time()


def assert_strictly_increasing(seqs: list[int]) -> None:
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False)), seqs


def assert_no_gap(client: RoomClient, cluster: Cluster, seed: Seed, *, role: str, org_id=None, after: int = 0):
    """What the client got equals the room's history as its role may see it, after ``after``."""
    expected = [s for s in visible_seqs(cluster.room_events(seed), role=role, org_id=org_id) if s > after]
    assert_strictly_increasing(client.seqs())
    assert client.seqs() == expected, f"{client.name}: got {client.seqs()} expected {expected}"


def assert_opened_exactly_once(cluster: Cluster, seed: Seed) -> None:
    state = cluster.wait_phase(seed, "closed", "failed", timeout=60)
    wait_until(lambda: cluster.room_state(seed)["status"] in ("opened", "failed"), timeout=30,
               what="the section's final status")
    time.sleep(2.5)  # let any duplicate sweep that was in flight finish; it must change nothing
    actions = Counter(cluster.ledger_actions(seed))
    state = cluster.room_state(seed)
    assert state["status"] == "opened" and state["phase"] == "closed", state
    assert actions["section.opened"] + actions["section.failed"] == 1, actions
    assert actions["opening.record_signed"] == 1 and actions["section.opening"] == 1, actions
    for phase in ("extraction", "decryption", "reading", "objections", "record", "closed"):
        assert actions[f"opening.{phase}"] == 1, (phase, actions)
    assert cluster.bid_statuses(seed) == ["decrypted"] * 3
    events = cluster.room_events(seed)
    assert [e["seq"] for e in events] == list(range(1, state["last_seq"] + 1))
    assert Counter(e["type"] for e in events)["record_ready"] == 1
    verified = cluster.manage("verify_ledger", check=False)
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout + verified.stderr


def test_events_through_one_daphne_reach_the_other_in_order_and_resume_elsewhere_fills_the_gap(healthy):
    cluster = healthy
    seed = cluster.seed("room", **ROOM)

    async def scenario():
        supervisor = await RoomClient(cluster.ws_url("daphne0", seed), token=seed.supervisor, name="sup@A").connect()
        public = await RoomClient(cluster.ws_url("daphne0", seed), origin=ORIGIN, name="public@A").connect()
        host = await RoomClient(cluster.ws_url("daphne1", seed), token=seed.host, name="host@B").connect()
        bidders = [await RoomClient(cluster.ws_url("daphne1", seed), token=token, name=f"bidder{i}@B").connect()
                   for i, token in enumerate(seed.bidders)]
        for bidder in bidders:  # before the deadline: only the bidder itself hears of it (R14)
            await bidder.send({"type": "sign_in"})
            await bidder.wait_for(lambda m: m["type"] == "signed_in")
        await supervisor.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "decryption",
                                  timeout=until_deadline(seed) + 30)
        await bidders[0].send({"type": "decrypt", "bid_id": seed.bids[0], "k2": seed.k2[0]})  # B's websocket
        await supervisor.wait_for(lambda m: m["type"] == "decrypted" and m["data"]["decrypted"] == 1)
        decrypt_http(cluster, "daphne1", seed, 1)  # B's HTTP API
        await host.wait_for(lambda m: m["type"] == "decrypted" and m["data"]["decrypted"] == 2)
        gap_from = host.last_seq
        await host.close()
        decrypt_http(cluster, "daphne1", seed, 2)  # closes decryption early: reading, prices, objections
        await supervisor.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "objections")

        resumed = RoomClient(cluster.ws_url("daphne0", seed), token=seed.host, name="host@A(resumed)")
        await resumed.connect(resume_after=gap_from)  # the OTHER process
        for client in (supervisor, public, resumed, *bidders):
            await client.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "closed", timeout=60)
        for client in (supervisor, public, resumed, *bidders):
            await client.close()
        return supervisor, public, host, resumed, bidders, gap_from

    supervisor, public, host, resumed, bidders, gap_from = asyncio.run(scenario())
    assert_no_gap(supervisor, cluster, seed, role="supervisor")
    assert_no_gap(public, cluster, seed, role="public")
    for i, bidder in enumerate(bidders):
        assert_no_gap(bidder, cluster, seed, role="bidder", org_id=seed.bidder_orgs[i])
    assert host.seqs() == [s for s in visible_seqs(cluster.room_events(seed), role="host") if s <= gap_from]
    assert_no_gap(resumed, cluster, seed, role="host", after=gap_from)
    assert [m["type"] for m in resumed.events()][:1] == ["decrypted"]  # the first missed event, from the DB
    assert_opened_exactly_once(cluster, seed)


def test_worker_killed_before_the_deadline_and_restarted_after_it_opens_once(healthy):
    cluster = healthy
    seed = cluster.seed("room", **ROOM)
    time.sleep(max(0.0, until_deadline(seed) - 1.5))
    cluster.kill("worker")  # SIGKILL, prefork pool included
    time.sleep(max(0.0, until_deadline(seed)) + 3)
    assert cluster.room_state(seed)["status"] == "published"  # nobody swept while the worker was down
    cluster.restart("worker")  # and the beat queued sweeps meanwhile: a backlog of duplicates
    cluster.wait_phase(seed, "decryption", timeout=30)
    for i, daphne in enumerate(("daphne0", "daphne1", "daphne0")):
        decrypt_http(cluster, daphne, seed, i)
    assert_opened_exactly_once(cluster, seed)


def test_worker_restarted_during_the_decryption_window_still_closes_the_opening_once(healthy):
    cluster = healthy
    seed = cluster.seed("room", **ROOM)
    cluster.wait_phase(seed, "decryption", timeout=until_deadline(seed) + 30)
    decrypt_http(cluster, "daphne0", seed, 0)
    cluster.kill("worker")
    decrypt_http(cluster, "daphne1", seed, 1)
    cluster.restart("worker")
    decrypt_http(cluster, "daphne0", seed, 2)
    cluster.wait_phase(seed, "objections", "closed", timeout=30)
    cluster.kill("worker")  # and once more while the objection window runs
    time.sleep(1)
    cluster.restart("worker")
    assert_opened_exactly_once(cluster, seed)


def test_daphne_restarted_mid_room_clients_reconnect_and_resume_without_gaps(healthy):
    cluster = healthy
    seed = cluster.seed("room", **ROOM)

    async def reconnect(client: RoomClient, daphne: str):
        await client.close()
        await client.connect(cluster.ws_url(daphne, seed), resume_after=client.last_seq)

    async def scenario():
        sup = await RoomClient(cluster.ws_url("daphne0", seed), token=seed.supervisor, name="sup@A").connect()
        pub = await RoomClient(cluster.ws_url("daphne0", seed), origin=ORIGIN, name="public@A").connect()
        bidder = await RoomClient(cluster.ws_url("daphne0", seed), token=seed.bidders[0], name="bidder0@A").connect()
        host = await RoomClient(cluster.ws_url("daphne1", seed), token=seed.host, name="host@B").connect()
        await sup.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "decryption",
                           timeout=until_deadline(seed) + 30)
        await bidder.send({"type": "decrypt", "bid_id": seed.bids[0], "k2": seed.k2[0]})
        await pub.wait_for(lambda m: m["type"] == "decrypted")
        cluster.kill("daphne0")  # SIGKILL mid-room: its sockets drop without a close frame
        for client in (sup, pub, bidder):
            await client.wait_closed()
        decrypt_http(cluster, "daphne1", seed, 1)  # the room goes on while they are away
        await host.wait_for(lambda m: m["type"] == "decrypted" and m["data"]["decrypted"] == 2)
        await reconnect(pub, "daphne1")  # the other process
        cluster.restart("daphne0")  # same port
        await reconnect(sup, "daphne0")  # the same, restarted process
        await reconnect(bidder, "daphne0")
        decrypt_http(cluster, "daphne0", seed, 2)
        for client in (sup, pub, bidder, host):
            await client.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "closed", timeout=60)
            await client.close()
        return sup, pub, bidder, host

    sup, pub, bidder, host = asyncio.run(scenario())
    assert_no_gap(sup, cluster, seed, role="supervisor")
    assert_no_gap(pub, cluster, seed, role="public")
    assert_no_gap(bidder, cluster, seed, role="bidder", org_id=seed.bidder_orgs[0])
    assert_no_gap(host, cluster, seed, role="host")
    assert_opened_exactly_once(cluster, seed)


def test_two_beats_and_two_workers_sweeping_at_once_open_the_room_exactly_once(healthy):
    cluster = healthy
    cluster.add_worker("worker2")
    cluster.add_beat("beat2")
    cluster.wait_ready("worker2")
    cluster.wait_ready("beat2")
    seed = cluster.seed("room", **ROOM)
    cluster.wait_phase(seed, "decryption", timeout=until_deadline(seed) + 30)
    for i, daphne in enumerate(("daphne1", "daphne0", "daphne1")):
        decrypt_http(cluster, daphne, seed, i)
    assert_opened_exactly_once(cluster, seed)
    sent = [cluster.procs[name].text().count("Sending due task") for name in ("beat", "beat2")]
    received = [cluster.procs[name].text().count("trading.sweep") for name in ("worker", "worker2")]
    assert min(sent) > 3 and min(received) > 3, (sent, received)  # the duplicates really ran on both


def test_an_idle_room_socket_outlives_the_redis_read_timeout_with_the_stock_settings(healthy):
    """Regression: redis-py 8's 5 s default read timeout used to kill idle consumers (settings now set 30 s)."""
    cluster = healthy
    seed = cluster.seed("quiet")
    cluster.add_daphne("daphne_stock", env={"REDIS_URL": cluster.redis_url})  # REDIS_URL without the workaround
    cluster.wait_ready("daphne_stock")

    async def scenario():
        client = await RoomClient(cluster.ws_url("daphne_stock", seed), origin=ORIGIN, name="idle").connect()
        await asyncio.sleep(8)  # a quiet room: nothing happens for a while
        if client.closed_code is None:
            await client.send({"type": "ping"})
            await client.wait_for(lambda m: m["type"] == "pong", timeout=10)
        code = client.closed_code
        await client.close()
        return code

    assert asyncio.run(scenario()) is None
