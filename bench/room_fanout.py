"""1,000 observers in one opening room: delivery latency, loss and throughput against a bare broadcast server.

    .venv/bin/python bench/room_fanout.py                      # 1000 clients, 2 daphne + Redis layer
    .venv/bin/python bench/room_fanout.py --layers redis,memory --clients 1000 --events 50

The platform round runs the real stack on loopback (tests/cluster.py: daphne processes sharing a fresh
PostgreSQL database and one Redis database). Clients are anonymous public observers (Origin header),
split evenly across the daphne processes and driven from several client processes (~250 sockets each).
A supervisor's socket on the first daphne sends pause / resume_room commands: every command is a real
service call whose event goes through event_emit -> channel layer -> every consumer -> every socket.

Two phases per round: "paced" (one event every --interval s: latency) and "burst" (all commands back to
back: messages delivered per second). Latency is client receive time minus the event's server "at".
The raw limit is bench/_bare_broadcast.py with the same process layout, clients and message size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ORIGIN = "http://127.0.0.1"
EVENT_TYPES = ("paused", "resumed", "bench")


def raise_nofile(want: int = 65536) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, want), hard), hard))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-len(ordered) * q // 100)) - 1))]


def at_seconds(at) -> float:
    return at if isinstance(at, (int, float)) else datetime.fromisoformat(at).timestamp()


# --- client processes -----------------------------------------------------------------------------


RESUME_EVERY = 10.0  # as the room page does; run with --settle above this so tail recovery is counted


async def _resume_periodically(ws, state: dict) -> None:
    """What real clients do (docs/opening-room.md): resume from the last seq, which heals a dropped tail event."""
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            await asyncio.sleep(RESUME_EVERY)
            await ws.send(json.dumps({"type": "resume", "after_seq": state["last"]}))
    except (ConnectionClosed, asyncio.CancelledError):
        return


async def _socket(url: str, record: list, stats: dict, ready: asyncio.Event, headers: dict):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    late, state = False, {"last": 0}
    while True:
        try:
            ws = await connect(url, origin=ORIGIN, additional_headers=headers, open_timeout=300,
                               ping_interval=None, max_size=None, close_timeout=1)
        except Exception:
            stats["connect_errors"] += 1
            await asyncio.sleep(0.5)
            continue
        if late:
            await ws.send(json.dumps({"type": "resume", "after_seq": state["last"]}))
        ready.set()
        healer = asyncio.create_task(_resume_periodically(ws, state))
        try:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message.get("type") in EVENT_TYPES:
                    record.append((message["seq"], at_seconds(message["at"]), now, late, len(raw)))
                    state["last"] = max(state["last"], message["seq"])
        except ConnectionClosed:
            pass
        finally:
            healer.cancel()
        code = ws.close_code
        if stats["stopping"]:
            return
        stats["closes_4008" if code == 4008 else "other_closes"] += 1
        late = True


async def client_main(args) -> None:
    raise_nofile()
    urls = args.urls.split(",")
    stats = {"connect_errors": 0, "closes_4008": 0, "other_closes": 0, "stopping": False}
    records = [[] for _ in range(args.count)]
    readies = [asyncio.Event() for _ in range(args.count)]
    gate = asyncio.Semaphore(args.connect_concurrency)
    started = time.time()

    async def one(i: int):
        async with gate:
            url = urls[(args.index * args.count + i) % len(urls)]
            task = asyncio.create_task(_socket(url, records[i], stats, readies[i], {}))
            await readies[i].wait()
            return task

    tasks = await asyncio.gather(*(one(i) for i in range(args.count)))
    print(f"READY {time.time() - started:.2f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # STOP
    stats["stopping"] = True
    Path(args.out).write_text(json.dumps({"stats": stats, "records": records}))
    for task in tasks:
        task.cancel()
    os._exit(0)  # no need to close 250 sockets politely


# --- rounds -------------------------------------------------------------------------------------------


CHILDREN: list = []  # every client process we started, killed at exit whatever happens


def kill_children() -> None:
    for popen in CHILDREN:
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def spawn_clients(urls: list[str], clients: int, procs: int, workdir: Path) -> list[tuple]:
    per = clients // procs
    children = []
    for k in range(procs):
        out = workdir / f"client{k}.json"
        popen = subprocess.Popen([sys.executable, __file__, "--client", "--urls", ",".join(urls), "--count", str(per),
                                  "--index", str(k), "--out", str(out)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, start_new_session=True)
        CHILDREN.append(popen)
        children.append((popen, out))
    connect_times = []
    for popen, _out in children:
        line = popen.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"client process failed: {line!r}")
        connect_times.append(float(line.split()[1]))
    return children, max(connect_times)


def collect(children) -> tuple[list, dict]:
    records, stats = [], {}
    for popen, _out in children:
        popen.stdin.write("STOP\n")
        popen.stdin.flush()
    for popen, out in children:
        try:
            popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
        data = json.loads(out.read_text())
        records.extend(data["records"])
        for key, value in data["stats"].items():
            stats[key] = stats.get(key, 0) + int(value)
    return records, stats


def analyse(label: str, records: list, stats: dict, phases: dict[str, list[int]]) -> dict:
    result = {"label": label, "sockets": len(records), **stats}
    for phase, seqs in phases.items():
        wanted = set(seqs)
        latencies, late, delivered = [], 0, 0
        first_at, last_recv = float("inf"), 0.0
        for record in records:
            seen = set()
            for seq, at, recv, was_late, _size in record:
                if seq not in wanted or seq in seen:
                    continue
                seen.add(seq)
                delivered += 1
                first_at, last_recv = min(first_at, at), max(last_recv, recv)
                if was_late:
                    late += 1
                else:
                    latencies.append(recv - at)
        expected = len(records) * len(seqs)
        result[phase] = {"events": len(seqs), "expected": expected, "delivered": delivered, "late": late,
                         "lost": expected - delivered, "p50": percentile(latencies, 50),
                         "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan")),
                         "rate": delivered / (last_recv - first_at) if delivered else 0.0}
    sizes = [r[4] for record in records for r in record]
    result["size"] = int(percentile(sizes, 50)) if sizes else 0
    return result


async def drive_platform(url: str, token: str, events: int, interval: float) -> dict[str, list[int]]:
    from websockets.asyncio.client import connect

    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None,
                       open_timeout=60) as ws:

        async def next_event() -> int:
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "error":
                    raise RuntimeError(message)
                if message["type"] in ("paused", "resumed"):
                    return message["seq"]

        def command(i: int) -> str:
            return json.dumps({"type": "pause" if i % 2 == 0 else "resume_room", "reason": f"bench {i}"})

        paced = []
        for i in range(events):
            await ws.send(command(i))
            paced.append(await next_event())
            await asyncio.sleep(interval)
        await asyncio.sleep(1)
        for i in range(events):
            await ws.send(command(i))
        burst = [await next_event() for _ in range(events)]
    return {"paced": paced, "burst": burst}


async def drive_bare(ports: list[int], events: int, interval: float, size: int) -> dict[str, list[int]]:
    from websockets.asyncio.client import connect

    controls = [await connect(f"ws://127.0.0.1:{port}/control") for port in ports]
    seq = 0

    async def emit():
        nonlocal seq
        seq += 1
        for control in controls:
            await control.send(json.dumps({"seq": seq, "size": size}))
        return seq

    paced = []
    for _ in range(events):
        paced.append(await emit())
        await asyncio.sleep(interval)
    await asyncio.sleep(1)
    burst = [await emit() for _ in range(events)]
    await asyncio.sleep(0.5)
    for control in controls:
        await control.close()
    return {"paced": paced, "burst": burst}


def settle(seconds: float) -> None:
    time.sleep(seconds)  # let the last deliveries (and any resumes) arrive before the clients stop


def platform_round(args, pg_url: str, layer: str, workdir: Path) -> tuple[dict, int]:
    from tests.cluster import Cluster

    daphnes = 2 if layer == "redis" else 1
    cluster = Cluster(pg_url, redis_db=args.redis_db, daphnes=daphnes, channel_layer=layer,
                      workdir=workdir / f"platform-{layer}")
    try:
        cluster.start(worker=False, beat=False)
        seed = cluster.seed("quiet")
        urls = [cluster.ws_url(f"daphne{i}", seed) for i in range(daphnes)]
        children, connect_s = spawn_clients(urls, args.clients, args.procs, workdir)
        phases = asyncio.run(drive_platform(urls[0], seed.supervisor, args.events, args.interval))
        settle(args.settle)
        records, stats = collect(children)
        result = analyse(f"platform {daphnes}x daphne, {layer} layer", records, stats, phases)
        result["connect_s"] = connect_s
        return result, result["size"]
    finally:
        kill_children()
        cluster.close()


def bare_round(args, processes: int, size: int, workdir: Path) -> dict:
    from tests.cluster import free_port

    ports = [free_port() for _ in range(processes)]
    servers = [subprocess.Popen([sys.executable, str(ROOT / "bench" / "_bare_broadcast.py"), "--port", str(p)],
                                stdout=subprocess.PIPE, text=True, start_new_session=True) for p in ports]
    try:
        for server in servers:
            assert server.stdout.readline().startswith("READY")
        urls = [f"ws://127.0.0.1:{p}/room" for p in ports]
        children, connect_s = spawn_clients(urls, args.clients, args.procs, workdir)
        phases = asyncio.run(drive_bare(ports, args.events, args.interval, size))
        settle(args.settle)
        records, stats = collect(children)
        result = analyse(f"bare websockets, {processes} process(es)", records, stats, phases)
        result["connect_s"] = connect_s
        return result
    finally:
        kill_children()
        for server in servers:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def fmt(value: float, unit: str = "ms") -> str:
    return f"{value * 1000:.0f} ms" if unit == "ms" else f"{value:,.0f}"


def report(pairs: list[tuple[dict, dict]]) -> bool:
    ok = True
    lines = ["| run | sockets | connect | paced p50 | paced p99 | paced max | burst p99 | burst msg/s | lost | late "
             "(4008 resumes) | other closes |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for platform, bare in pairs:
        for r in (platform, bare):
            lines.append(f"| {r['label']} | {r['sockets']} | {r['connect_s']:.1f} s | {fmt(r['paced']['p50'])} | "
                         f"{fmt(r['paced']['p99'])} | {fmt(r['paced']['max'])} | {fmt(r['burst']['p99'])} | "
                         f"{fmt(r['burst']['rate'], '')} | {r['paced']['lost'] + r['burst']['lost']} | "
                         f"{r['paced']['late'] + r['burst']['late']} ({r['closes_4008']}) | {r['other_closes']} |")
    lines += ["", "| target | value | result |", "|---|---|---|"]
    for platform, bare in pairs:
        ratio = platform["burst"]["rate"] / bare["burst"]["rate"] if bare["burst"]["rate"] else 0.0
        lost = platform["paced"]["lost"] + platform["burst"]["lost"]
        checks = [(f"{platform['label']}: lost messages = 0", f"{lost}", lost == 0),
                  (f"{platform['label']}: paced p99 < 1 s", fmt(platform["paced"]["p99"]),
                   platform["paced"]["p99"] < 1.0),
                  (f"{platform['label']}: burst rate >= 0.5 x bare", f"{ratio:.2f} x", ratio >= 0.5)]
        for name, value, passed in checks:
            ok &= passed
            lines.append(f"| {name} | {value} | {'PASS' if passed else 'FAIL'} |")
    print("\n".join(lines), flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--connect-concurrency", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--events", type=int, default=50, help="events per phase")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between paced events")
    parser.add_argument("--settle", type=float, default=12.0)
    parser.add_argument("--layers", default="redis", help="redis (2 daphne) and/or memory (1 daphne)")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if args.client:
        asyncio.run(client_main(args))
        return
    raise_nofile()
    from tests.services import new_pg_database

    pg_url, drop = new_pg_database()
    pairs = []
    with tempfile.TemporaryDirectory(prefix="room-fanout-") as tmp:
        workdir = Path(tmp)
        try:
            env = {**os.environ, "DATABASE_URL": pg_url, "PLATFORM_VAR_DIR": str(workdir / "migrate")}
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                           check=True)
            for layer in args.layers.split(","):
                platform, size = platform_round(args, pg_url, layer, workdir)
                bare = bare_round(args, 2 if layer == "redis" else 1, size, workdir)
                pairs.append((platform, bare))
                print(f"# {layer}: done", flush=True)
        finally:
            drop()
    if args.json:
        Path(args.json).write_text(json.dumps(pairs, indent=2))
    sys.exit(0 if report(pairs) else 1)


if __name__ == "__main__":
    main()
