"""The production-like topology on loopback, for multi-process tests (DESIGN.md §2).

N daphne processes, Celery worker(s) and beat(s) share one fresh PostgreSQL database, one Redis
database number (channel layer and broker) and one PLATFORM_VAR_DIR (bid files, TSA keys, master key).
Every process runs in its own session so that a kill takes its children (the prefork pool) with it.
The beat uses django-celery-beat's DatabaseScheduler, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REDIS_BASE = os.environ.get("TEST_REDIS_BASE", "redis://127.0.0.1:6379")
REDIS_SOCKET_TIMEOUT = None  # settings already give channels-redis a 30 s socket timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class Proc:
    """One child process with its log file; started in a new session so a kill reaches its children."""

    name: str
    args: list[str]
    env: dict
    cwd: Path
    log: Path
    popen: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> Proc:
        self.starts += 1
        handle = open(self.log, "ab")
        handle.write(f"\n===== start {self.starts} at {time.time():.3f} =====\n".encode())
        handle.flush()
        self.popen = subprocess.Popen(self.args, env=self.env, cwd=self.cwd, stdout=handle, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        handle.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL, *, timeout: float = 15) -> None:
        """Send ``sig`` to this process's group (only what we started), then wait; SIGKILL if it lingers."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # orphaned pool children of a SIGKILLed parent
            os.killpg(self.popen.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.kill(signal.SIGTERM, timeout=10)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def text_since_start(self) -> str:
        return self.text().rsplit(f"===== start {self.starts} ", 1)[-1]


@dataclass
class Seed:
    section: str
    section_pk: int
    deadline: float
    host: str
    supervisor: str
    bids: list[str] = field(default_factory=list)
    k2: list[str] = field(default_factory=list)
    bidders: list[str] = field(default_factory=list)
    bidder_names: list[str] = field(default_factory=list)
    bidder_orgs: list[int] = field(default_factory=list)

    @property
    def ws_path(self) -> str:
        return f"/ws/sections/{self.section}/opening/"


class Cluster:
    """Start, kill and restart the platform's processes; read its database; always clean up."""

    def __init__(self, pg_url: str, *, redis_db: int = 13, daphnes: int = 2, workdir: Path | None = None,
                 extra_env: dict | None = None, channel_layer: str = "redis",
                 redis_socket_timeout: float | None = REDIS_SOCKET_TIMEOUT):
        self.pg_url = pg_url
        self.redis_url = f"{REDIS_BASE}/{redis_db}"
        # settings.CHANNEL_LAYERS sets socket_timeout=30 for redis-py 8; a URL override stays possible.
        self.layer_url = self.redis_url + (f"?socket_timeout={redis_socket_timeout}" if redis_socket_timeout else "")
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="cluster-")
        self.workdir = Path(workdir or self._tmp.name)
        self.var_dir = self.workdir / "var"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "REDIS_URL",
                                                                             "TSA_DIR", "MASTER_KEY",
                                                                             "FILE_STORE_DIR"))}
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "trading.config.settings", "PYTHONPATH": str(ROOT), "DATABASE_URL": pg_url,
            "REDIS_URL": self.layer_url, "CELERY_BROKER_URL": self.redis_url, "EMBEDDED_SCHEDULER": "0", "SWEEP_INTERVAL_SECONDS": "1",
            "PLATFORM_VAR_DIR": str(self.var_dir), "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1", "RULE_MIN_BIDDING_DAYS": "0",
        })
        if channel_layer == "memory":  # the embedded layer: one daphne process only
            del self.env["REDIS_URL"], self.env["CELERY_BROKER_URL"]
        self.env.update(extra_env or {})
        self.n_daphnes = daphnes
        self.procs: dict[str, Proc] = {}
        self.ports: dict[str, int] = {}

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, *, worker: bool = True, beat: bool = True) -> None:
        if "REDIS_URL" in self.env:
            redis_flush(self.redis_url)
        self.manage("tsa_init")  # keys exist before several processes race to create them
        for i in range(self.n_daphnes):
            self.add_daphne(f"daphne{i}")
        if worker:
            self.add_worker("worker")
        if beat:
            self.add_beat("beat")
        for name in list(self.procs):
            self.wait_ready(name)

    def close(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(Exception):
                proc.kill(signal.SIGKILL)
        if "REDIS_URL" in self.env:
            with contextlib.suppress(Exception):
                redis_flush(self.redis_url)
        if self._tmp is not None:
            with contextlib.suppress(Exception):
                self._tmp.cleanup()

    def _proc(self, name: str, args: list[str], env: dict | None = None) -> Proc:
        cwd = self.workdir / name
        cwd.mkdir(exist_ok=True)
        proc = Proc(name, args, {**self.env, **(env or {})}, cwd, self.workdir / f"{name}.log")
        self.procs[name] = proc
        return proc.start()

    def add_daphne(self, name: str, port: int | None = None, env: dict | None = None) -> Proc:
        self.ports[name] = port or free_port()
        return self._proc(name, [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.ports[name]),
                                 "trading.config.asgi:application"], env)

    def add_worker(self, name: str) -> Proc:
        return self._proc(name, [PYTHON, "-m", "celery", "-A", "trading", "worker", "-l", "info", "--concurrency",
                                 "1", "-Q", "celery", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                                 "--without-heartbeat"])

    def add_beat(self, name: str) -> Proc:
        return self._proc(name, [PYTHON, "-m", "celery", "-A", "trading", "beat", "-l", "info",
                                 "-S", "django_celery_beat.schedulers:DatabaseScheduler",
                                 "--pidfile", str(self.workdir / name / "beat.pid")])

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        proc = self.procs[name]
        if name in self.ports:
            wait_until(lambda: self._http_up(name), timeout=timeout, what=f"{name} to serve HTTP")
            return
        marker = "ready." if "worker" in name else "Sending due task"
        wait_until(lambda: self._check_alive(proc) and marker in proc.text_since_start(), timeout=timeout,
                   what=f"{name} to log {marker!r}")

    def _check_alive(self, proc: Proc) -> bool:
        if not proc.alive:
            raise RuntimeError(f"{proc.name} exited: {proc.text()[-3000:]}")
        return True

    def _http_up(self, name: str) -> bool:
        self._check_alive(self.procs[name])
        try:
            with urllib.request.urlopen(f"{self.url(name)}/healthz", timeout=2) as response:
                return response.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.procs[name].kill(sig)

    def restart(self, name: str, *, wait: bool = True) -> None:
        """Start ``name`` again (same command, same port); kill it first if it still runs."""
        proc = self.procs[name]
        if proc.alive:
            proc.kill()
        proc.start()
        if wait:
            self.wait_ready(name)

    def remove(self, name: str) -> None:
        self.procs.pop(name).kill()

    # --- addresses and clients ---------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def ws_url(self, name: str, seed: Seed) -> str:
        return f"ws://127.0.0.1:{self.ports[name]}{seed.ws_path}"

    def http(self, name: str, method: str, path: str, *, token: str | None = None, body: dict | None = None
             ) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url(name)}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    # --- database work in child processes or over plain SQL ---------------------------------------

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              check=check, timeout=120)

    def seed(self, kind: str = "room", **options) -> Seed:
        args = [PYTHON, str(ROOT / "tests" / "cluster_seed.py"), kind]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        done = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"seed failed: {done.stderr[-4000:]}")
        return Seed(**json.loads(done.stdout.strip().splitlines()[-1]))

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def room_events(self, seed: Seed) -> list[dict]:
        rows = self.sql(
            "SELECT e.seq, e.type, e.audience FROM bidding_roomevent e JOIN bidding_openingroom r ON r.id = e.room_id"
            " WHERE r.section_id = %s ORDER BY e.seq", (seed.section_pk,))
        return [{"seq": seq, "type": kind, "audience": audience} for seq, kind, audience in rows]

    def room_state(self, seed: Seed) -> dict:
        phase, paused, last_seq = self.sql(
            "SELECT phase, paused, last_seq FROM bidding_openingroom WHERE section_id = %s", (seed.section_pk,))[0]
        status = self.sql("SELECT status FROM trading_section WHERE id = %s", (seed.section_pk,))[0][0]
        return {"phase": phase, "paused": paused, "last_seq": last_seq, "status": status}

    def ledger_actions(self, seed: Seed) -> list[str]:
        rows = self.sql("SELECT action FROM timestamps_ledgerentry WHERE object_id = %s ORDER BY seq",
                        (seed.section,))
        return [action for (action,) in rows]

    def bid_statuses(self, seed: Seed) -> list[str]:
        return [s for (s,) in self.sql("SELECT status FROM bidding_bid WHERE section_id = %s ORDER BY id",
                                       (seed.section_pk,))]

    def wait_phase(self, seed: Seed, *phases: str, timeout: float = 60) -> dict:
        return wait_until(lambda: (state := self.room_state(seed))["phase"] in phases and state,
                          timeout=timeout, interval=0.2, what=f"room {seed.section} to reach {phases}")

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{proc.text()[-4000:]}" for name, proc in self.procs.items())


def visible_seqs(events: list[dict], *, role: str, org_id: int | None = None) -> list[int]:
    """The seqs of the room's history a role may see (bidding.room.events.event_for's audience rule)."""
    staff = role in ("host", "supervisor")
    seen = []
    for event in events:
        audience = event["audience"]
        if audience == "staff" and not staff:
            continue
        if audience.startswith("org:") and not staff and audience != f"org:{org_id}":
            continue
        if audience.startswith("private:") and audience != f"private:{org_id}":
            continue
        seen.append(event["seq"])
    return seen


class RoomClient:
    """A websocket client of the opening room that records every message it receives."""

    def __init__(self, url: str, *, token: str | None = None, origin: str | None = None, name: str = ""):
        self.url, self.token, self.origin, self.name = url, token, origin, name
        self.messages: list[dict] = []
        self.closed_code: int | None = None
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()

    async def connect(self, url: str | None = None, *, resume_after: int | None = None) -> RoomClient:
        from websockets.asyncio.client import connect

        self.url = url or self.url
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.closed_code = None
        self._ws = await connect(self.url, additional_headers=headers, origin=self.origin, open_timeout=20,
                                 max_size=None)
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda m: m["type"] == "snapshot", after=len(self.messages))
        if resume_after is not None:
            await self.send({"type": "resume", "after_seq": resume_after})
        return self

    async def _read(self):
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self._ws:
                self.messages.append(json.loads(raw))
                self._changed.set()
        except ConnectionClosed:
            pass
        self.closed_code = self._ws.close_code or 1006
        self._changed.set()

    async def send(self, message: dict) -> None:
        await self._ws.send(json.dumps(message))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader

    async def wait_for(self, predicate, *, timeout: float = 60, after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages[after:]:
                if predicate(message):
                    return message
            if self.closed_code is not None and self._reader is not None and self._reader.done():
                raise ConnectionError(f"{self.name} closed ({self.closed_code}) while waiting")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: no matching message; got {[m['type'] for m in self.messages]}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 1))

    async def wait_closed(self, timeout: float = 30) -> int:
        await asyncio.wait_for(asyncio.shield(self._reader), timeout=timeout)
        return self.closed_code

    def events(self) -> list[dict]:
        """The room's history messages received (snapshots, errors and pongs left out)."""
        return [m for m in self.messages if m.get("seq") is not None and m["type"] != "snapshot"]

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.events()]

    @property
    def last_seq(self) -> int:
        seqs = [m["seq"] for m in self.messages if m.get("seq") is not None]
        return max(seqs) if seqs else 0
