"""Infrastructure faults under the production topology (tests/cluster.py): Redis restarted during an opening,
PostgreSQL restarted during a deadline surge, the Celery worker killed while refunds go out to the bank.

Each test brings its own fault domain so that nothing else on the machine is disturbed: a private
redis-server on a free port, a throwaway PostgreSQL cluster (initdb + pg_ctl, run as the postgres user when
we are root), and the bank simulator served as its own process behind a slow proxy. Each ends with
``manage.py verify_ledger`` and checks that nothing was lost or done twice.
"""

import asyncio
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cluster import (
    PYTHON,
    ROOT,
    Cluster,
    RoomClient,
    Seed,
    free_port,
    visible_seqs,
    wait_until,
)
from tests.services import new_pg_database, require_postgres, require_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ORIGIN = "http://127.0.0.1"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


# --- fault domains of our own ------------------------------------------------------------------------

def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateRedis:
    """A redis-server of this test only, on a free loopback port, without persistence: a kill loses all."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log = workdir / "redis.log"
        self.popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--daemonize", "no"], stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        wait_until(lambda: self._ping(), timeout=15, what="the private redis-server to answer")

    def _ping(self) -> bool:
        import redis

        if self.popen.poll() is not None:
            raise RuntimeError(f"redis-server exited: {self.log.read_text(errors='replace')[-2000:]}")
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return client.ping()
        except Exception:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)


class ThrowawayPostgres:
    """A PostgreSQL cluster of this test only (initdb + pg_ctl), so that it may be restarted at will."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pgfault-"))
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres account
            shutil.chown(self.dir, user="postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/platform"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        return done

    def _options(self) -> str:
        # fsync off: a throwaway cluster; the fast restart still terminates every connection.
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"

    def start(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail(f"{PG_BIN}/initdb is not installed")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", self._options(), "-l", str(self.dir / "log"),
                  "-w", "start")
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE platform")

    def restart(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", self._options(), "-l", str(self.dir / "log"),
                  "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def migrate(url: str, var_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url, "PLATFORM_VAR_DIR": str(var_dir)}
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=300)


def seed_faults(cluster: Cluster, kind: str, **options) -> dict:
    args = [PYTHON, str(ROOT / "tests" / "cluster_faults_seed.py"), kind]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(args, cwd=ROOT, env=cluster.env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"seed failed: {done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_ledger_verifies(cluster: Cluster) -> None:
    verified = cluster.manage("verify_ledger", check=False)
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout + verified.stderr


def http_raw(url: str, method: str, *, token: str, body: bytes | None = None, headers: dict | None = None,
             timeout: float = 30) -> tuple[int, dict]:
    """One HTTP call; a connection error is status 0 (the clients below treat it like a 5xx)."""
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else {}
        except ValueError:
            return exc.code, {"raw": raw[:300].decode(errors="replace")}
    except (OSError, ValueError) as exc:  # refused, reset, timed out, a truncated answer
        return 0, {"error": repr(exc)}


class Supervisor:
    """What systemd does in production (deploy/systemd/*.service: Restart=always, RestartSec=2): start again
    any of ``names`` that exited. Needed because the Celery worker dies when the Redis broker vanishes while it
    holds an unacknowledged task (kombu's redis transport: "Restoring 1 unacknowledged message(s)" then
    "Unrecoverable error: AttributeError('NoneType' object has no attribute 'hostname')")."""

    def __init__(self, cluster: Cluster, names: tuple[str, ...], delay: float = 2.0):
        self.cluster, self.names, self.delay = cluster, names, delay
        self.restarts: Counter = Counter({name: 0 for name in names})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name in self.names:
                if not self.cluster.procs[name].alive and not self._stop.wait(self.delay):
                    self.restarts[name] += 1
                    self.cluster.restart(name, wait=False)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# --- 1. Redis restarted during an opening ----------------------------------------------------------

def test_redis_restarted_during_the_decryption_window_the_opening_completes_once_and_observers_resume(tmp_path):
    require_postgres()
    require_redis()
    from tests.bidding.test_room_cluster import (
        assert_opened_exactly_once,
        assert_strictly_increasing,
    )

    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    url, drop = new_pg_database()
    cluster = supervisor = None
    try:
        migrate(url, tmp_path / "migrate-var")
        cluster = Cluster(url, daphnes=2, workdir=tmp_path / "cluster")
        cluster.redis_url = cluster.layer_url = redis_server.url  # channel layer and broker: OUR redis-server
        cluster.env.update({"REDIS_URL": redis_server.url, "CELERY_BROKER_URL": redis_server.url})
        cluster.start()
        supervisor = Supervisor(cluster, ("daphne0", "daphne1", "worker", "beat"))
        seed = cluster.seed("room", deadline_in=7, decrypt_minutes=1.0, objection_minutes=0.1)
        events_before_kill: list[int] = []
        outage_try: list[int] = []

        async def reconnect(client: RoomClient, daphne: str, timeout: float = 30) -> None:
            """Reconnect with `resume` from what the client has; retry while the server is not ready."""
            deadline = time.monotonic() + timeout
            await client.close()
            while True:
                try:
                    await client.connect(cluster.ws_url(daphne, seed), resume_after=client.last_seq)
                    return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)

        async def scenario():
            observers = [
                (await RoomClient(cluster.ws_url("daphne0", seed), token=seed.supervisor, name="sup@0").connect(),
                 "daphne0", "supervisor", None),
                (await RoomClient(cluster.ws_url("daphne1", seed), origin=ORIGIN, name="public@1").connect(),
                 "daphne1", "public", None),
                (await RoomClient(cluster.ws_url("daphne1", seed), token=seed.host, name="host@1").connect(),
                 "daphne1", "host", None),
                (await RoomClient(cluster.ws_url("daphne0", seed), token=seed.bidders[0], name="bidder0@0").connect(),
                 "daphne0", "bidder", seed.bidder_orgs[0]),
            ]
            stayer = await RoomClient(cluster.ws_url("daphne0", seed), origin=ORIGIN, name="public-stays@0").connect()
            sup = observers[0][0]
            await sup.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "decryption",
                               timeout=seed.deadline - time.time() + 40)
            events_before_kill.extend(sup.seqs())
            redis_server.kill()  # SIGKILL: the channel layer and the broker vanish, with everything queued
            await asyncio.sleep(1)
            # Bidder 0 tries once during the outage. Today this answers 500 although the decryption is committed
            # (the after-commit broadcast raises; see the report); its client retries below, which is harmless.
            outage_try.append(http_raw(f"{cluster.url('daphne0')}/api/v1/bids/{seed.bids[0]}/decrypt", "POST",
                                       token=seed.bidders[0], body=json.dumps({"k2": seed.k2[0]}).encode(),
                                       headers={"Content-Type": "application/json"})[0])
            await asyncio.sleep(2)
            assert cluster.room_state(seed)["phase"] == "decryption"
            redis_server.start()  # the same port, empty
            for i, daphne in enumerate(("daphne0", "daphne1", "daphne0")):
                decrypt_retrying(cluster, daphne, seed, i)
            # Every observer reconnects with `resume` (a socket that survived is closed and reopened too: after
            # an outage a client cannot know what it missed, and the protocol's answer is `resume`).
            for client, daphne, _role, _org in observers:
                await reconnect(client, daphne)
            for client, daphne, _role, _org in observers:
                try:
                    await client.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "closed",
                                          timeout=90)
                except ConnectionError:  # dropped once more while the layer recovered: resume again
                    await reconnect(client, daphne)
                    await client.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "closed",
                                          timeout=60)
            # A socket that simply stayed open through the outage also hears everything, live or gap-filled
            # (channels-redis's pubsub layer resubscribes; the consumer fills seq gaps from the database).
            await stayer.wait_for(lambda m: m["type"] == "phase" and m["data"]["phase"] == "closed", timeout=30)
            for client, *_rest in [*observers, (stayer,)]:
                await client.close()
            return observers, stayer

        observers, stayer = asyncio.run(scenario())
        assert_opened_exactly_once(cluster, seed)
        events = cluster.room_events(seed)
        for client, _daphne, role, org in observers:
            assert_strictly_increasing(client.seqs())
            expected = visible_seqs(events, role=role, org_id=org)
            assert client.seqs() == expected, f"{client.name}: got {client.seqs()} expected {expected}"
        assert stayer.seqs() == visible_seqs(events, role="public"), stayer.seqs()
        # Nothing was done twice by the retries: one decryption each, in the room and in the ledger.
        assert Counter(e["type"] for e in events)["decrypted"] == 3
        assert Counter(cluster.ledger_actions(seed))["bid.decrypted"] == 3
        print(f"decrypt during the Redis outage answered {outage_try}")
        assert events_before_kill, "the observers saw nothing before the outage"
        supervisor.stop()
        for name in ("daphne0", "daphne1"):  # the web processes lived through the outage
            assert supervisor.restarts[name] == 0, cluster.procs[name].text()[-3000:]
        # The worker may die of the broker outage (see Supervisor) and be started again; no crash loop, though.
        assert supervisor.restarts["worker"] <= 3 and supervisor.restarts["beat"] <= 3, supervisor.restarts
        print(f"restarted by the supervisor: {dict(supervisor.restarts)}")
        assert_ledger_verifies(cluster)
    except BaseException:
        if cluster is not None:
            print(cluster.logs())
        raise
    finally:
        if supervisor is not None:
            supervisor.stop()
        if cluster is not None:
            cluster.close()
        redis_server.kill()
        drop()


def decrypt_retrying(cluster: Cluster, daphne: str, seed: Seed, i: int, timeout: float = 45) -> None:
    """A bidder's client: decrypt, and on a 5xx or a dropped connection try again (decrypt is idempotent)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        status, body = http_raw(f"{cluster.url(daphne)}/api/v1/bids/{seed.bids[i]}/decrypt", "POST",
                                token=seed.bidders[i], body=json.dumps({"k2": seed.k2[i]}).encode(),
                                headers={"Content-Type": "application/json"})
        if status == 200:
            assert body["status"] == "decrypted", body
            return
        assert status == 0 or status >= 500, (status, body)
        last = (status, body)
        time.sleep(0.5)
    raise AssertionError(f"bidder {i} could not decrypt: {last}")


# --- 2. PostgreSQL restarted during a deadline surge -------------------------------------------------

CHUNK = 64 * 1024


class SurgeClient(threading.Thread):
    """One bidder's tool: resumable upload, submit, and retry with backoff on a 5xx or a connection error."""

    def __init__(self, base_urls: list[str], section: str, bidder: dict, progress: Counter, lock: threading.Lock,
                 give_up_at: float):
        super().__init__(daemon=True)
        self.base_urls, self.section, self.bidder = base_urls, section, bidder
        self.progress, self.lock, self.give_up_at = progress, lock, give_up_at
        self.envelope = Path(bidder["envelope"]).read_bytes()
        self.receipt: dict | None = None
        self.errors: list = []
        self.retries = 0
        self.rng = random.Random(bidder["org"])

    def call(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
             ok=(200, 201, 204), accept=()) -> tuple[int, dict]:
        delay = 0.1
        while True:
            base = self.rng.choice(self.base_urls)
            status, answer = http_raw(base + path, method, token=self.bidder["token"], body=body, headers=headers)
            if status in ok or status in accept:
                return status, answer
            if status != 0 and status < 500:
                raise AssertionError(f"{method} {path}: {status} {answer}")
            self.retries += 1
            self.errors.append((method, path.rsplit("/", 1)[-1], status))
            with self.lock:
                self.progress["errors"] += 1
                self.progress[f"errors_{path.rsplit('/', 1)[-1] if path.endswith('submit') else method}"] += 1
            if time.monotonic() > self.give_up_at:
                raise AssertionError(f"{method} {path}: still failing ({status} {answer})")
            time.sleep(delay + self.rng.random() * delay)
            delay = min(delay * 2, 2.0)

    def put_missing(self, upload_id: str, count: int) -> None:
        _status, state = self.call("GET", f"/api/v1/bids/uploads/{upload_id}")
        for index in sorted(set(range(count)) - set(state["received"])):
            data = self.envelope[index * CHUNK:(index + 1) * CHUNK]
            self.call("PUT", f"/api/v1/bids/uploads/{upload_id}/chunks/{index}", body=data,
                      headers={"Content-Type": "application/octet-stream",
                               "X-Chunk-SHA256": hashlib.sha256(data).hexdigest()})
            with self.lock:
                self.progress["chunks"] += 1

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(("fatal", repr(exc)))

    def _run(self) -> None:
        json_headers = {"Content-Type": "application/json"}
        _status, created = self.call("POST", f"/api/v1/sections/{self.section}/bids/uploads",
                                     body=json.dumps({"size": len(self.envelope), "chunk_size": CHUNK}).encode(),
                                     headers=json_headers)
        upload_id, count = created["upload_id"], created["chunk_count"]
        for index in range(count):  # the first pass; a failed chunk is left for the resumed pass
            data = self.envelope[index * CHUNK:(index + 1) * CHUNK]
            status, _answer = http_raw(f"{self.rng.choice(self.base_urls)}/api/v1/bids/uploads/{upload_id}/chunks/"
                                       f"{index}", "PUT", token=self.bidder["token"], body=data,
                                       headers={"Content-Type": "application/octet-stream",
                                                "X-Chunk-SHA256": hashlib.sha256(data).hexdigest()})
            with self.lock:
                self.progress["chunks" if status == 204 else "errors"] += 1
        submit = json.dumps({"digest": self.bidder["digest"], "signature": self.bidder["signature"]}).encode()
        while True:
            self.put_missing(upload_id, count)  # GET the status, re-PUT what is missing
            status, answer = self.call("POST", f"/api/v1/bids/uploads/{upload_id}/submit", body=submit,
                                       headers=json_headers, accept=(400, 409))
            if status == 201:
                self.receipt = answer
                break
            if status == 409 or "upload_closed" in json.dumps(answer):
                # The earlier submit may have been accepted with its answer lost: ask for our bids.
                _s, mine = self.call("GET", f"/api/v1/sections/{self.section}/bids/mine")
                accepted = [b for b in mine if b["status"] == "submitted"]
                assert len(accepted) == 1, mine
                self.receipt = accepted[0]
                with self.lock:
                    self.progress["accepted_answer_lost"] += 1
                break
            if "chunks_missing" in json.dumps(answer):
                continue
            raise AssertionError(f"submit refused: {status} {answer}")
        with self.lock:
            self.progress["submitted"] += 1


@pytest.mark.parametrize("store", ["local", "s3"])
def test_postgres_restarted_during_a_deadline_surge_no_bid_is_lost_doubled_or_half_stored(tmp_path, store, request):
    """On local disk and with the file store in a bucket on moto's S3 server, shared by both daphne."""
    require_postgres()
    require_redis()
    s3 = request.getfixturevalue("moto") if store == "s3" else None
    bucket = s3.new_bucket() if s3 else ""
    files = tmp_path / "cluster" / "var" / "files"

    def stored(path: str) -> bytes | None:
        if s3:
            return s3.get(bucket, f"cluster/{path}") if f"cluster/{path}" in s3.keys(bucket, "cluster/") else None
        return (files / path).read_bytes() if (files / path).exists() else None

    def names_under(folder: str) -> list[str]:
        if s3:
            return [key.removeprefix("cluster/") for key in s3.keys(bucket, f"cluster/{folder}/")]
        root = files / folder
        return sorted(str(p.relative_to(files)) for p in root.rglob("*") if p.is_file()) if root.exists() else []

    pg = ThrowawayPostgres()
    cluster = None
    try:
        pg.start()
        migrate(pg.url, tmp_path / "migrate-var")
        cluster = Cluster(pg.url, daphnes=2, workdir=tmp_path / "cluster",
                          redis_db=int(os.environ.get("CLUSTER_FAULTS_REDIS_DB", "12")),
                          extra_env=s3.env(bucket, prefix="cluster") if s3 else None)
        cluster.start()
        seed = seed_faults(cluster, "surge", bidders=20, deadline_in=240, doc_kib=400, out=tmp_path / "envelopes")
        bidders = seed["bidders"]
        progress, lock = Counter(), threading.Lock()
        give_up_at = time.monotonic() + 120
        clients = [SurgeClient([cluster.url("daphne0"), cluster.url("daphne1")], seed["section"], b, progress, lock,
                               give_up_at) for b in bidders]
        total_chunks = sum(-(-len(c.envelope) // CHUNK) for c in clients)
        for client in clients:
            client.start()
        # Restart PostgreSQL in the middle of the surge, twice: while the chunks stream in, then while the bids are
        # being submitted (some accepted, some assembling, some committing).
        wait_until(lambda: progress["chunks"] >= total_chunks // 3, timeout=60, interval=0.01,
                   what="a third of the chunks to be stored")
        at_restart = [dict(progress)]
        pg.restart()
        wait_until(lambda: progress["submitted"] >= 4, timeout=60, interval=0.01, what="the first bids to be accepted")
        at_restart.append(dict(progress))
        pg.restart()
        print(f"PostgreSQL restarted at {at_restart}")
        for client in clients:
            client.join(timeout=max(1.0, give_up_at - time.monotonic() + 10))
        problems = [(i, c.errors[-3:]) for i, c in enumerate(clients)
                    if c.is_alive() or c.receipt is None or any(e[0] == "fatal" for e in c.errors)]
        assert not problems, problems
        assert progress["errors"] > 0, f"the restart hit nobody ({at_restart}, {dict(progress)})"
        print(f"surge done: {dict(progress)}; errors seen: {Counter(e for c in clients for e in c.errors)}")

        # Every bidder has exactly one accepted bid, the one its client was told about.
        rows = cluster.sql("SELECT public_id, organization_id, status, digest, storage_path FROM bidding_bid"
                           " WHERE section_id = %s", (seed["section_pk"],))
        by_org = Counter(org for _pid, org, _status, _digest, _path in rows)
        assert sorted(by_org) == sorted(b["org"] for b in bidders) and set(by_org.values()) == {1}, by_org
        assert {status for _pid, _org, status, _d, _p in rows} == {"submitted"}
        assert {pid for pid, *_rest in rows} == {c.receipt["bid_id"] for c in clients}
        digests = {b["org"]: b["digest"] for b in bidders}
        for _pid, org, _status, digest, storage_path in rows:
            assert digest == digests[org]
            data = stored(storage_path)
            assert data is not None, f"bid row without its file: {storage_path}"
            assert hashlib.sha256(data).hexdigest() == digest, storage_path
        # A submission that failed while PostgreSQL was down keeps its file (it may have committed); the
        # orphan sweep removes such files once they are old; here it runs at once.
        cluster.manage("bid_files_cleanup", "--older-than-seconds", "0")
        assert names_under("bids") == sorted(path for *_rest, path in rows), "an orphan bid file, or a row without it"
        if s3:
            assert s3.pending_multipart(bucket) == [], "a half-written envelope or chunk in the bucket"
        # No upload is in a half state counted as a bid: one submitted upload per accepted bid, nothing else.
        uploads = cluster.sql("SELECT organization_id, status, public_id FROM bidding_bidupload WHERE section_id = %s",
                              (seed["section_pk"],))
        submitted = Counter(org for org, status, _uid in uploads if status == "submitted")
        assert submitted == by_org, (submitted, by_org)
        assert {status for _org, status, _uid in uploads} <= {"open", "submitted"}
        received = cluster.sql("SELECT count(*) FROM timestamps_ledgerentry WHERE action = 'bid.received'"
                               " AND object_id = %s", (seed["section"],))[0][0]
        assert received == len(bidders)
        # Chunks still stored may only belong to an upload that never became a bid (a retried create).
        chunk_owners = {name.split("/")[1] for name in names_under("uploads")}
        stale = chunk_owners & {uid for _org, status, uid in uploads if status == "submitted"}
        if stale:
            print(f"chunks left behind by submitted uploads (a delete lost in the restart): {sorted(stale)}")
        assert_ledger_verifies(cluster)
        for name in ("daphne0", "daphne1"):
            assert cluster.procs[name].alive, cluster.procs[name].text()[-3000:]
    except BaseException:
        if cluster is not None:
            print(cluster.logs())
        print("--- postgres ---\n" + pg.log())
        raise
    finally:
        if cluster is not None:
            cluster.close()
        pg.stop()


# --- 3. the worker killed while refunds go out ------------------------------------------------------

class SlowBankProxy:
    """In front of the served simulator: forwards each call, then holds the answer ``delay`` seconds, so that a
    worker killed meanwhile leaves a refund the bank has executed but the platform has not booked."""

    def __init__(self, upstream: str, delay: float):
        self.upstream, self.delay = upstream, delay
        self.posts = 0
        self.holding_executed = 0  # answers of executed refunds being held right now
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=method)
                for key in ("Content-Type", "X-Bank-Timestamp", "X-Bank-Signature"):
                    if self.headers.get(key):
                        request.add_header(key, self.headers[key])
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                if method == "POST":
                    with proxy.lock:
                        proxy.posts += 1
                        proxy.holding_executed += status == 200
                    time.sleep(proxy.delay)
                    with proxy.lock:
                        proxy.holding_executed -= status == 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the worker died while we held its answer

            def do_POST(self):  # noqa: N802
                self._forward("POST")

            def do_GET(self):  # noqa: N802
                self._forward("GET")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_worker_killed_while_refunds_are_sent_every_refund_is_paid_exactly_once(tmp_path):
    """Regression: the outbox claim once locked outer-joined rows, which PostgreSQL refuses (FOR UPDATE OF self)."""
    require_postgres()
    require_redis()
    from trading.config.settings import DEV_BANK_SECRET
    from trading.deposits.bank.simulator import BankSimulator, deliver_http

    url, drop = new_pg_database()
    cluster = bank = proxy = None
    state = tmp_path / "bank.json"
    bank_port = free_port()
    try:
        migrate(url, tmp_path / "migrate-var")
        cluster = Cluster(url, daphnes=1, workdir=tmp_path / "cluster",
                          redis_db=int(os.environ.get("CLUSTER_FAULTS_REDIS_DB", "12")))
        proxy = SlowBankProxy(f"http://127.0.0.1:{bank_port}", delay=0.8)
        cluster.env.update({"BANK_API_URL": proxy.url, "BANK_RETRY_BASE_SECONDS": "1",
                            "BANK_RETRY_MAX_SECONDS": "3", "BANK_WEBHOOK_SECRET": DEV_BANK_SECRET})
        cluster.start()
        seed = seed_faults(cluster, "deposits", bidders=8)
        accounts = seed["accounts"]
        # The deposits come in through the bank: the simulator books them in its state file and notifies.
        feeder = BankSimulator(secret=DEV_BANK_SECRET.encode(), state_file=state)
        deliver = deliver_http(f"{cluster.url('daphne0')}/api/v1/bank/notifications")
        for account in accounts:
            assert feeder.pay(deliver, virtual_account=account["virtual_account"], amount=account["amount"],
                              payer_account=account["payer_account"], payer_name=account["payer_name"]) == [200]
        held = cluster.sql("SELECT count(*) FROM trading_depositaccount WHERE section_id = %s AND status = 'paid'",
                           (seed["section_pk"],))[0][0]
        assert held == len(accounts), cluster.sql("SELECT status FROM trading_depositaccount")
        # The bank serves refunds as its own process (it loads the payments from the state file); it also fails
        # some calls before executing them and loses some answers after executing them.
        bank = subprocess.Popen([PYTHON, "manage.py", "bank_simulator", "serve", "--port", str(bank_port),
                                 "--state", str(state), "--fail-rate", "0.15", "--lose-rate", "0.15", "--seed", "3"],
                                cwd=ROOT, env=cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        wait_until(lambda: port_open(bank_port), timeout=30, what="the bank simulator to listen")

        # R20: the cancelled section returns every deposit; the worker's sweep decides and sends the refunds.
        status, body = cluster.http("daphne0", "POST", f"/api/v1/sections/{seed['section']}/cancel",
                                    token=seed["host"], body={"reason": "招标人终止招标"})
        assert status == 200, body
        wait_until(lambda: (proxy.posts >= 3 and proxy.holding_executed > 0)
                   or OUTER_JOIN_LOCK in cluster.procs["worker"].text(), timeout=60, interval=0.02,
                   what="refunds to be on their way, one executed and its answer in flight")
        assert OUTER_JOIN_LOCK not in cluster.procs["worker"].text(), (
            "the refund outbox cannot claim an instruction on PostgreSQL: " + OUTER_JOIN_LOCK)
        cluster.kill("worker")  # SIGKILL while an answer is held: executed at the bank, not booked here
        after_kill = proxy.posts
        paid_at_kill = bank_refunds(state)
        booked_at_kill = {i for (i,) in cluster.sql("SELECT instruction_id FROM trading_refundinstruction"
                                                    " WHERE status = 'done'")}
        executed_not_booked = {i for i, r in paid_at_kill.items() if r["status"] == "done"} - booked_at_kill
        time.sleep(1.5)
        assert proxy.posts == after_kill, "something still sends refunds with the worker dead"
        cluster.restart("worker")

        def all_booked():
            return all(s == "done" for (s,) in cluster.sql(
                "SELECT status FROM trading_refundinstruction WHERE section_id = %s", (seed["section_pk"],))) \
                and len(cluster.sql("SELECT 1 FROM trading_refundinstruction WHERE section_id = %s",
                                    (seed["section_pk"],))) == len(accounts)

        wait_until(all_booked, timeout=90, interval=0.5, what="every refund to be confirmed")
        time.sleep(2)  # a sweep in flight must change nothing any more

        rows = cluster.sql("SELECT r.instruction_id, r.principal + r.interest, r.status, r.attempts, a.virtual_account"
                           " FROM trading_refundinstruction r JOIN trading_depositaccount a ON a.id = r.account_id"
                           " WHERE r.section_id = %s", (seed["section_pk"],))
        assert len(rows) == len(accounts) == len({va for *_rest, va in rows})  # one instruction per deposit
        refunds_at_bank = bank_refunds(state)
        assert sorted(refunds_at_bank) == sorted(r[0] for r in rows), (refunds_at_bank, rows)
        for instruction_id, total, _status, _attempts, va in rows:
            record = refunds_at_bank[instruction_id]
            assert record["status"] == "done" and record["from_virtual_account"] == va
            assert f"{total:.2f}" == record["amount"], (total, record)
        assert executed_not_booked, (paid_at_kill, booked_at_kill)  # the fault did bite: paid, answer lost
        # Booked exactly once: one payout entry and one ledger entry per instruction.
        payouts = Counter(i for (i,) in cluster.sql(
            "SELECT r.instruction_id FROM trading_moneyentry m JOIN trading_refundinstruction r"
            " ON r.id = m.instruction_id WHERE m.kind = 'paid_out' AND r.section_id = %s", (seed["section_pk"],)))
        assert payouts == Counter(r[0] for r in rows), payouts
        paid = Counter(json.loads(d)["instruction"] if isinstance(d, str) else d["instruction"] for (d,) in cluster.sql(
            "SELECT data FROM timestamps_ledgerentry WHERE action = 'deposit.refund_paid'"))
        assert paid == Counter(r[0] for r in rows), paid
        statuses = {s for (s,) in cluster.sql("SELECT status FROM trading_depositaccount WHERE section_id = %s",
                                              (seed["section_pk"],))}
        assert statuses == {"refunded"}, statuses
        # The reconciliation balances against the bank's own statement.
        statement = cluster.manage("bank_simulator", "statement", "--state", str(state))
        statement_file = tmp_path / "statement.json"
        statement_file.write_text(statement.stdout)
        bank_rows = json.loads(statement.stdout)
        for _instruction_id, total, _status, _attempts, va in rows:  # the bank paid each deposit out once
            assert bank_rows[va]["in"] == seed["accounts"][0]["amount"] and bank_rows[va]["out"] == f"{total:.2f}", \
                bank_rows[va]
        reconciled = cluster.manage("deposit_reconcile", "--statement", str(statement_file), check=False)
        assert reconciled.returncode == 0 and "NOT BALANCED" not in reconciled.stdout, reconciled.stdout
        assert reconciled.stdout.rstrip().endswith("BALANCED")
        assert_ledger_verifies(cluster)
    except BaseException:
        if cluster is not None:
            print(cluster.logs())
        raise
    finally:
        if cluster is not None:
            cluster.close()
        if bank is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(bank.pid, signal.SIGKILL)
            bank.wait(timeout=10)
        if proxy is not None:
            proxy.close()
        drop()


OUTER_JOIN_LOCK = "FOR UPDATE cannot be applied to the nullable side of an outer join"


def bank_refunds(state: Path) -> dict:
    return json.loads(state.read_text())["refunds"] if state.exists() else {}
