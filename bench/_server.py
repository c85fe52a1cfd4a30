"""Shared helpers for the HTTP benchmarks: a throwaway platform served by a real daphne process.

The benchmark process never loads Django settings. Database work (seed, deadline, checks)
runs in a child process with the same environment as the server:

    python bench/_server.py seed --bidders N        # prints the seed as JSON
    python bench/_server.py set-deadline --section ID --epoch T
    python bench/_server.py bids --section ID       # prints the section's bids as JSON
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
DAPHNE = str(Path(sys.executable).with_name("daphne"))
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
MB = 1_000_000
MIB = 1 << 20


# --- the platform: database, seed, daphne ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; q in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Platform:
    """A fresh database and var directory, with a daphne serving the platform on loopback."""

    postgres: bool = False
    s3: bool = False
    var_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-platform-")))
    database_url: str = ""
    server: subprocess.Popen | None = None
    port: int = 0
    s3_server: object = None
    bucket: str = ""

    def __post_init__(self):
        self.env = {
            **os.environ,
            "PLATFORM_VAR_DIR": str(self.var_dir),
            "FILE_STORE_DIR": str(self.var_dir / "files"),
            "DJANGO_SETTINGS_MODULE": "trading.config.settings",
            "DJANGO_DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "TSA_DIR", "MASTER_KEY_FILE"):
            self.env.pop(name, None)
        if self.postgres:
            self.database_url = _pg_create()
            self.env["DATABASE_URL"] = self.database_url
        for name in [n for n in self.env if n.startswith("S3_")] + ["FILE_STORAGE"]:
            self.env.pop(name, None)
        if self.s3:  # the file store in a bucket on moto's S3 server, as tests/core/test_s3_storage.py does
            from tests.s3 import MotoServer

            self.s3_server = MotoServer().start()
            self.bucket = self.s3_server.new_bucket()
            self.env.update(self.s3_server.env(self.bucket, prefix="platform"))

    @property
    def tsa_dir(self) -> Path:
        return self.var_dir / "tsa"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        store = "S3 (moto server)" if self.s3 else "local disk"
        return f"{'PostgreSQL' if self.postgres else 'SQLite (WAL)'}, file store on {store}"

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def helper(self, *args: str, stdin: str | None = None) -> dict:
        """Run a subcommand of this module with Django set up; return its JSON output."""
        done = subprocess.run(
            [PYTHON, str(Path(__file__)), *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.stderr.write(done.stderr)
            raise RuntimeError(f"bench/_server.py {args[0]} failed")
        return json.loads(done.stdout)

    def migrate(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")

    def seed(self, bidders: int) -> dict:
        return self.helper("seed", "--bidders", str(bidders))

    def start(self, application: str = "trading.config.asgi:application") -> subprocess.Popen:
        """Start daphne on a free port and wait until it answers HTTP."""
        self.port = free_port()
        log = open(self.var_dir / f"daphne-{self.port}.log", "wb")
        self.server = subprocess.Popen(
            [DAPHNE, "-b", "127.0.0.1", "-p", str(self.port), application],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"daphne exited:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/me")
                conn.getresponse().read()
                conn.close()
                return self.server
            time.sleep(0.1)
        raise RuntimeError(f"daphne did not answer within 60 s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.server is not None, "the server is not running"
        return self.server.pid

    def log_tail(self, lines: int = 30) -> str:
        logs = sorted(self.var_dir.glob("daphne-*.log"), key=lambda p: p.stat().st_mtime)
        if not logs:
            return ""
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def close(self) -> None:
        self.stop()
        if self.postgres and self.database_url:
            _pg_drop(self.database_url)
        if self.s3_server is not None:
            self.s3_server.stop()
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pg_create() -> str:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- memory of the server process -----------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return _status_kb(pid, "VmRSS") * 1024
    return psutil.Process(pid).memory_info().rss


class RssSampler:
    """Samples a process's RSS in a background thread; also reads the kernel's high-water mark and CPU time."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.peak = self.start_rss = self.hwm = 0
        self.cpu = self.wall = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def start(self) -> RssSampler:
        self.start_rss = rss_bytes(self.pid)
        self.cpu, self.wall = cpu_seconds(self.pid), time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> RssSampler:
        """Stop sampling; call while the process still runs so that VmHWM can be read."""
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self.hwm = _status_kb(self.pid, "VmHWM") * 1024
            self.cpu, self.wall = cpu_seconds(self.pid) - self.cpu, time.monotonic() - self.wall
        return self

    @property
    def cores(self) -> float:
        """Average CPU cores the process used while sampled."""
        return self.cpu / self.wall if self.wall else 0.0

    @property
    def peak_mb(self) -> float:
        """The larger of the sampled peak and the kernel's high-water mark, in MB (10^6 bytes)."""
        return max(self.peak, self.hwm) / MB


# --- a bidder's keys ------------------------------------------------------------------------


@dataclass
class Bidder:
    username: str
    credit_code: str
    token: str
    enc: ec.EllipticCurvePrivateKey
    sign: ec.EllipticCurvePrivateKey

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def bidders_from(seed: dict) -> list[Bidder]:
    """Bidders with fresh P-256 keys made here; only their public halves go to the server."""
    return [
        Bidder(
            b["username"],
            b["credit_code"],
            b["token"],
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
        )
        for b in seed["bidders"]
    ]


def bidder_keys_body(bidder: Bidder) -> dict:
    from bidding.envelope import spki_der

    return {
        "enc_public_key": b64(spki_der(bidder.enc.public_key())),
        "sign_public_key": b64(spki_der(bidder.sign.public_key())),
    }


def register_keys(base_url: str, bidders: list[Bidder]) -> None:
    """POST /api/v1/bidder-keys for every bidder, over HTTP."""
    import requests

    with requests.Session() as http:
        for bidder in bidders:
            answer = http.post(
                f"{base_url}/api/v1/bidder-keys",
                json=bidder_keys_body(bidder),
                headers=bidder.headers,
                timeout=30,
            )
            if answer.status_code != 201:
                raise RuntimeError(f"bidder-keys: {answer.status_code} {answer.text[:300]}")


# --- sealing --------------------------------------------------------------------------------


class Generated:
    """Documents made on the fly from one random block with a position stamp; never held whole."""

    def __init__(self, size: int, block: int = 4 * MIB):
        self.size, self.pos = size, 0
        self.block = bytearray(os.urandom(block))

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos
        return pos

    def readinto(self, view) -> int:
        """The bytes at a position depend on the position only, so a second pass reads the same."""
        index, offset = divmod(self.pos, len(self.block))
        n = min(len(view), self.size - self.pos, len(self.block) - offset)
        self.block[:8] = index.to_bytes(8, "big")
        view[:n] = memoryview(self.block)[offset : offset + n]
        self.pos += n
        return n

    def read(self, n: int = -1) -> bytes:
        buffer = bytearray(min(n if n >= 0 else self.size, self.size - self.pos))
        return bytes(buffer[: self.readinto(memoryview(buffer))])


def seal_to_file(
    path: Path,
    *,
    documents,
    seed: dict,
    bidder: Bidder,
    chunk_size: int,
    summary_documents: dict | None = None,
):
    """Seal documents for the seeded section into path; returns the SealResult."""
    from bidding.envelope import load_public_key_b64, seal

    summary = {"price": "1234567.89", "currency": "CNY", "duration_days": 180}
    if summary_documents:
        summary["documents"] = summary_documents
    with open(path, "wb") as out:
        return seal(
            out=out,
            documents=documents,
            summary=summary,
            section=seed["section"],
            bidder=bidder.credit_code,
            opening_public_key=load_public_key_b64(seed["opening_public_key"]),
            bidder_enc_public_key=bidder.enc.public_key(),
            chunk_size=chunk_size,
        )


def file_chunks(path: Path, chunk_size: int):
    """(index, bytes) of a file cut into chunk_size pieces, one piece in memory at a time."""
    with open(path, "rb") as source:
        index = 0
        while data := source.read(chunk_size):
            yield index, data
            index += 1


# --- the Django side (runs in a child process) -------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")
    import django

    django.setup()


def _cmd_seed(args) -> dict:
    """A published section (through the real service: it has its opening key) and N registered bidders."""
    from django.conf import settings

    # Only the hashing of passwords nobody types; the bidders log in with API tokens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from bidding.models import OpeningKey
    from tests.factories import bidder_user, publish_section, register
    from trading.models import ApiToken

    section = publish_section(deadline_days=args.deadline_days)
    key = OpeningKey.objects.get(section=section)
    bidders = []
    for _ in range(args.bidders):
        user = bidder_user()
        register(section, user)
        bidders.append(
            {
                "username": user.username,
                "credit_code": user.organization.credit_code,
                "token": ApiToken.issue(user),
            }
        )
    return {
        "section": section.public_id,
        "opening_kid": key.kid,
        "opening_public_key": b64(bytes(key.public_key)),
        "bid_deadline": section.bid_deadline.isoformat(),
        "bidders": bidders,
    }


def _cmd_set_deadline(args) -> dict:
    """Move the deadline directly: the benchmark needs one closer than R01 allows at publication."""
    from datetime import UTC, datetime

    from trading.models import Section

    deadline = datetime.fromtimestamp(args.epoch, tz=UTC)
    assert Section.objects.filter(public_id=args.section).update(bid_deadline=deadline) == 1
    return {"bid_deadline": deadline.isoformat()}


def _cmd_bids(args) -> dict:
    from bidding.models import Bid
    from trading.files import stored_size
    from trading.models import Section

    section = Section.objects.get(public_id=args.section)
    rows = (
        Bid.objects.filter(section=section).select_related("organization").order_by("received_at")
    )
    return {
        "bid_deadline": section.bid_deadline.isoformat(),
        "status": section.status,
        "bids": [
            {
                "bid_id": b.public_id,
                "credit_code": b.organization.credit_code,
                "status": b.status,
                "digest": b.digest,
                "size": b.size,
                "received_at": b.received_at.isoformat(),
                "timestamp_token": b64(bytes(b.timestamp_token)),
                "stored": stored_size(b.storage_path) == b.size,
            }
            for b in rows
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed")
    seed.add_argument("--bidders", type=int, default=1)
    seed.add_argument("--deadline-days", type=float, default=25)
    deadline = commands.add_parser("set-deadline")
    deadline.add_argument("--section", required=True)
    deadline.add_argument("--epoch", type=float, required=True)
    bids = commands.add_parser("bids")
    bids.add_argument("--section", required=True)
    args = parser.parse_args()
    _django()
    run = {"seed": _cmd_seed, "set-deadline": _cmd_set_deadline, "bids": _cmd_bids}[args.command]
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
