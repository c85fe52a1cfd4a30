"""Benchmark the deadline surge: many bidders submit sealed bids in the last minute, over real HTTP.

    python bench/deadline_surge.py [--bidders 300] [--size-mb 5] [--window 60] [--concurrency 32]
                                   [--burst] [--postgres]

Before the clock starts, every bidder's envelope is sealed to a temp file. The section's
deadline is then set to window + 30 s after the start. Each bidder starts at a random
moment in the window (all at once with --burst), with at most --concurrency bidders in
flight, and goes through the fixed API: create the upload, PUT the chunk(s), submit, and
keep the receipt. Afterwards the database must hold one submitted bid per bidder with the
digest that bidder sent, received before the deadline, and every receipt's timestamp token
must verify. The raw limit, run in the same way in the same run, is the same envelopes
POSTed to a bare ASGI app under daphne that only hashes the body (bench/_echo_asgi.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import _server
from _server import MB, MIB, Platform, percentile

ENVELOPE_CHUNK = 1 * MIB


@dataclass
class Bid:
    """One bidder's sealed envelope and what happened to it."""

    bidder: _server.Bidder
    path: Path
    size: int
    digest: bytes
    signature: bytes
    chunk_hashes: list[str]
    offset: float = 0.0
    wait: float = 0.0
    latency: float = 0.0  # first request to receipt
    create_latency: float = 0.0
    put_latency: float = 0.0
    submit_latency: float = 0.0
    receipt: dict | None = None
    error: str = ""
    echo_latency: float = 0.0
    echo_error: str = ""
    retries: int = 0  # 503s answered with Retry-After and tried again


@dataclass
class Run:
    bids: list[Bid]
    chunk_size: int
    concurrency: int
    start: float = 0.0
    end: float = 0.0
    timings: dict = field(default_factory=dict)


def seal_all(
    platform: Platform, seed: dict, bidders: list[_server.Bidder], size_mb: int, chunk_size: int
) -> list[Bid]:
    """Seal one envelope per bidder (same documents, fresh keys each time) and hash its chunks."""
    from bidding.envelope import sign_digest

    documents = os.urandom(size_mb * MIB)
    summary_documents = {
        "name": "bid.zip",
        "size": len(documents),
        "sha256": hashlib.sha256(documents).hexdigest(),
    }
    folder = platform.var_dir / "envelopes"
    folder.mkdir()
    bids = []
    for i, bidder in enumerate(bidders):
        path = folder / f"{i:04d}.sbe"
        sealed = _server.seal_to_file(
            path,
            documents=io.BytesIO(documents),
            seed=seed,
            bidder=bidder,
            chunk_size=ENVELOPE_CHUNK,
            summary_documents=summary_documents,
        )
        hashes = [
            hashlib.sha256(data).hexdigest() for _, data in _server.file_chunks(path, chunk_size)
        ]
        bids.append(
            Bid(
                bidder,
                path,
                sealed.size,
                sealed.digest,
                sign_digest(sealed.digest, bidder.sign),
                hashes,
            )
        )
    return bids


def read_chunk(path: Path, index: int, chunk_size: int) -> bytes:
    with open(path, "rb") as source:
        source.seek(index * chunk_size)
        return source.read(chunk_size)


RETRY_ATTEMPTS = 6  # a 503 is tried again up to this many times, as the bidder tools do
RETRY_AFTER_MAX = 10.0


class RetryLater(Exception):
    def __init__(self, seconds: float):
        self.seconds = seconds


async def _expect(response, status: int, stage: str) -> dict:
    if response.status == 503 and "Retry-After" in response.headers:
        raise RetryLater(min(RETRY_AFTER_MAX, float(response.headers["Retry-After"])))
    if response.status != status:
        raise RuntimeError(f"{stage}: HTTP {response.status} {(await response.text())[:200]}")
    return {} if status == 204 else await response.json()


async def _call(bid: Bid, request, status: int, stage: str) -> dict:
    """One API call; a 503 with Retry-After is tried again after the time it asks for (bounded)."""
    for attempt in range(RETRY_ATTEMPTS + 1):
        try:
            async with request() as response:
                return await _expect(response, status, stage)
        except RetryLater as busy:
            if attempt == RETRY_ATTEMPTS:
                raise RuntimeError(f"{stage}: HTTP 503 after {attempt + 1} tries") from None
            bid.retries += 1
            await asyncio.sleep(busy.seconds * (1 + random.random() / 4))
    raise AssertionError("unreachable")


async def one_bid(http, base_url: str, section: str, bid: Bid, chunk_size: int) -> None:
    """A bidder's whole journey: create the upload, PUT the chunks, submit, keep the receipt."""
    headers = bid.bidder.headers
    start = time.monotonic()
    created = await _call(
        bid,
        lambda: http.post(
            f"{base_url}/api/v1/sections/{section}/bids/uploads",
            json={"size": bid.size, "chunk_size": chunk_size},
            headers=headers,
        ),
        201,
        "create",
    )
    upload_id = created["upload_id"]
    bid.create_latency = time.monotonic() - start
    for index, sha256 in enumerate(bid.chunk_hashes):
        data = read_chunk(bid.path, index, chunk_size)
        await _call(
            bid,
            lambda index=index, data=data, sha256=sha256: http.put(
                f"{base_url}/api/v1/bids/uploads/{upload_id}/chunks/{index}",
                data=data,
                headers={
                    **headers,
                    "Content-Type": "application/octet-stream",
                    "X-Chunk-SHA256": sha256,
                },
            ),
            204,
            f"chunk {index}",
        )
    submit = time.monotonic()
    bid.put_latency = submit - start - bid.create_latency
    bid.receipt = await _call(
        bid,
        lambda: http.post(
            f"{base_url}/api/v1/bids/uploads/{upload_id}/submit",
            json={"digest": bid.digest.hex(), "signature": _server.b64(bid.signature)},
            headers=headers,
        ),
        201,
        "submit",
    )
    end = time.monotonic()
    bid.submit_latency, bid.latency = end - submit, end - start


async def one_echo(http, base_url: str, bid: Bid) -> None:
    start = time.monotonic()
    async with http.post(
        f"{base_url}/echo",
        data=bid.path.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    ) as response:
        answer = await _expect(response, 200, "echo")
    if answer["sha256"] != hashlib.sha256(bid.path.read_bytes()).hexdigest():
        raise RuntimeError("echo: body hash differs")
    bid.echo_latency = time.monotonic() - start


async def surge(run: Run, base_url: str, section: str, *, echo: bool) -> None:
    """Start each bidder at its offset from run.start, with at most run.concurrency in flight."""
    import aiohttp

    slots = asyncio.Semaphore(run.concurrency)
    connector = aiohttp.TCPConnector(limit=run.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def bidder(bid: Bid) -> None:
            await asyncio.sleep(max(0.0, run.start + bid.offset - time.monotonic()))
            due = time.monotonic()
            async with slots:
                if not echo:
                    bid.wait = time.monotonic() - due
                try:
                    if echo:
                        await one_echo(http, base_url, bid)
                    else:
                        await one_bid(http, base_url, section, bid, run.chunk_size)
                except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                    message = f"{type(exc).__name__}: {exc}"
                    if echo:
                        bid.echo_error = message
                    else:
                        bid.error = message

        await asyncio.gather(*(bidder(bid) for bid in run.bids))
    run.end = time.monotonic()


def check_database(platform: Platform, seed: dict, run: Run, deadline: datetime) -> dict:
    """What the database and the receipts prove after the surge."""
    from timestamps.tsa import verify_token

    rows = platform.helper("bids", "--section", seed["section"])["bids"]
    submitted = [r for r in rows if r["status"] == "submitted"]
    by_code = {r["credit_code"]: r for r in submitted}
    sent = {b.bidder.credit_code: b for b in run.bids}
    matching = sum(
        1
        for code, bid in sent.items()
        if code in by_code
        and by_code[code]["digest"] == bid.digest.hex()
        and by_code[code]["stored"]
        and bid.receipt is not None
        and bid.receipt["bid_id"] == by_code[code]["bid_id"]
        and bid.receipt["digest"] == bid.digest.hex()
    )
    tokens_ok = 0
    for bid in run.bids:
        if bid.receipt is None:
            continue
        try:
            verify_token(
                base64.b64decode(bid.receipt["timestamp_token"]),
                bid.digest,
                directory=platform.tsa_dir,
            )
        except Exception:  # noqa: BLE001 - a token that does not verify is counted as such
            continue
        tokens_ok += 1
    received = [datetime.fromisoformat(r["received_at"]) for r in submitted]
    return {
        "rows": len(rows),
        "submitted": len(submitted),
        "distinct": len({r["digest"] for r in submitted}),
        "matching": matching,
        "tokens_ok": tokens_ok,
        "before_deadline": sum(1 for t in received if t < deadline),
        "margin": (deadline - max(received)).total_seconds() if received else float("nan"),
    }


def print_table(
    args,
    platform: Platform,
    run: Run,
    db: dict,
    rss: _server.RssSampler,
    echo_rss: _server.RssSampler | None,
    echo_wall: float,
) -> bool:
    n = len(run.bids)
    done = [b for b in run.bids if b.receipt is not None]
    echoed = [b for b in run.bids if not b.echo_error and b.echo_latency] if echo_rss else []
    whole = [b.latency for b in done]
    submits = [b.submit_latency for b in done]
    echoes = [b.echo_latency for b in echoed]
    accepted_ok = len(done) == n
    db_ok = db["submitted"] == db["distinct"] == db["matching"] == n
    tokens_ok = db["tokens_ok"] == n
    deadline_ok = db["before_deadline"] == n

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:,.0f} ms" if values else "-"

    spread = "all at once (--burst)" if args.burst else f"spread over {args.window} s"
    print(f"\nDeadline surge over HTTP to daphne on loopback, {platform.database}")
    print(
        f"{n} bidders x {run.bids[0].size / MB:.2f} MB envelopes ({args.size_mb} MiB documents), {spread}, "
        f"{run.concurrency} in flight, {run.chunk_size // MIB} MiB upload chunks; deadline = start + "
        f"{args.window + 30} s; setup (not timed): {run.timings['setup']:.0f} s, sealing {run.timings['seal']:.0f} s; "
        f"machine load average {run.timings['load'][0]:.1f} at start, {run.timings['load'][1]:.1f} at end\n"
    )
    rows = [
        ("accepted with a receipt", f"{len(done)} / {n}", f"all  {verdict(accepted_ok)}"),
        (
            "DB: submitted bids, distinct digests",
            f"{db['submitted']} / {db['distinct']}",
            f"{n} each",
        ),
        (
            "DB: digest + bid id = sent + receipt",
            f"{db['matching']} / {n}",
            f"all  {verdict(db_ok)}",
        ),
        (
            "receipt timestamp tokens verify",
            f"{db['tokens_ok']} / {n}",
            f"all  {verdict(tokens_ok)}",
        ),
        (
            "received before the deadline",
            f"{db['before_deadline']} / {n}",
            f"last {db['margin']:.0f} s early  {verdict(deadline_ok)}",
        ),
        (
            "receipt latency p50 / p99 / max",
            f"{ms(submits, 50)} / {ms(submits, 99)} / {ms(submits, 100)}",
            "submit call",
        ),
        (
            "whole-bid latency p50 / p99",
            f"{ms(whole, 50)} / {ms(whole, 99)}",
            "create + PUT + submit",
        ),
        (
            "waiting for a slot, max",
            f"{max((b.wait for b in run.bids), default=0) * 1000:,.0f} ms",
            f"of {run.concurrency}",
        ),
        ("wall time, start to last receipt", f"{run.timings['wall']:.1f} s", ""),
        ("server peak RSS", f"{rss.peak_mb:.0f} MB", f"at start {rss.start_rss / MB:.0f} MB"),
        ("server CPU during the surge", f"{rss.cpu:.1f} s", f"{rss.cores:.2f} cores on average"),
        (
            "503 answered and tried again",
            f"{sum(b.retries for b in run.bids)}",
            f"by {sum(1 for b in run.bids if b.retries)} bidders, honouring Retry-After",
        ),
        (
            "raw limit: echo POST p50 / p99",
            f"{ms(echoes, 50)} / {ms(echoes, 99)}",
            f"{len(echoed)}/{n} ok, wall {echo_wall:.1f} s, peak RSS {echo_rss.peak_mb:.0f} MB, "
            f"CPU {echo_rss.cpu:.1f} s"
            if echo_rss
            else "measured in the first run only",
        ),
        (
            "whole bid / echo, p50 and p99",
            f"{percentile(whole, 50) / percentile(echoes, 50):.1f}x / {percentile(whole, 99) / percentile(echoes, 99):.1f}x"
            if whole and echoes
            else "-",
            "same schedule, same concurrency",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>{vwidth}}  target / note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>{vwidth}}  {note}")
    failures = [b for b in run.bids if b.error]
    if failures:
        print(f"\n{len(failures)} failed; first errors:")
        for text in sorted({b.error for b in failures})[:5]:
            print("  ", text)
    return accepted_ok and db_ok and tokens_ok and deadline_ok


def profile_start(path: Path, pid: int) -> subprocess.Popen:
    """py-spy on the server for the surge (pip install py-spy): only the thread holding the GIL is sampled."""
    kind = {".json": "speedscope", ".txt": "raw"}.get(path.suffix, "flamegraph")
    return subprocess.Popen(
        [
            str(Path(_server.PYTHON).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--gil",
            "--format",
            kind,
            "--output",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bidders", type=int, default=300)
    parser.add_argument(
        "--size-mb", type=int, default=5, help="MiB of documents per bid (default 5)"
    )
    parser.add_argument(
        "--window", type=int, default=60, help="seconds over which bidders start (default 60)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="bidders in flight at most (default 32)"
    )
    parser.add_argument(
        "--chunk-mb", type=int, default=8, help="upload chunk size in MiB (default 8)"
    )
    parser.add_argument("--burst", action="store_true", help="start every bidder at once")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL database, not SQLite"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the start times")
    parser.add_argument("--dump", type=Path, help="write every bid's timings to this JSON file")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server with py-spy into this .svg (.json: speedscope, .txt: collapsed stacks)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat the whole surge on a fresh platform (default 1)"
    )
    parser.add_argument(
        "--echo-every-run",
        action="store_true",
        help="measure the raw limit in every run, not only the first",
    )
    args = parser.parse_args()
    results = []
    for number in range(1, args.runs + 1):
        if args.runs > 1:
            print(f"\n##### run {number} of {args.runs}", flush=True)
        echo = number == 1 or args.echo_every_run
        results.append(surge_once(args, seed=args.seed + number - 1, echo=echo))
    if args.runs > 1:
        print_runs(args, results)
    raise SystemExit(0 if all(r["ok"] for r in results) else 1)


def surge_once(args, *, seed: int, echo: bool) -> dict:
    """One whole surge on a fresh platform; prints its table and returns its figures."""
    began = time.monotonic()
    with Platform(postgres=args.postgres) as platform:
        platform.migrate()
        seeded = platform.seed(args.bidders)
        platform.start()
        bidders = _server.bidders_from(seeded)
        _server.register_keys(platform.base_url, bidders)
        setup = time.monotonic() - began
        began = time.monotonic()
        bids = seal_all(platform, seeded, bidders, args.size_mb, args.chunk_mb * MIB)
        run = Run(
            bids,
            args.chunk_mb * MIB,
            args.concurrency,
            timings={"setup": setup, "seal": time.monotonic() - began},
        )
        rng = random.Random(seed)
        for bid in bids:
            bid.offset = 0.0 if args.burst else rng.uniform(0, args.window)

        # The deadline is fixed before the clock starts: window + 30 s after the start.
        start_epoch = time.time() + 3
        deadline = datetime.fromisoformat(
            platform.helper(
                "set-deadline",
                "--section",
                seeded["section"],
                "--epoch",
                str(start_epoch + args.window + 30),
            )["bid_deadline"]
        )
        rss = _server.RssSampler(platform.pid).start()
        spy = profile_start(args.profile, platform.pid) if args.profile else None
        run.start = time.monotonic() + max(0.0, start_epoch - time.time())
        load = os.getloadavg()[0]
        asyncio.run(surge(run, platform.base_url, seeded["section"], echo=False))
        run.timings["wall"] = run.end - run.start
        run.timings["load"] = (load, os.getloadavg()[0])
        rss.stop()
        if spy:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
            spy.wait(30)
        platform.stop()
        server_log = platform.log_tail(200)
        db = check_database(platform, seeded, run, deadline)

        echo_rss, echo_wall = None, 0.0
        if echo:
            platform.start("bench._echo_asgi:app")
            echo_rss = _server.RssSampler(platform.pid).start()
            run.start = time.monotonic() + 1
            asyncio.run(surge(run, platform.base_url, seeded["section"], echo=True))
            echo_rss.stop()
            echo_wall = run.end - run.start
            platform.stop()
        ok = print_table(args, platform, run, db, rss, echo_rss, echo_wall)
        if any(b.error for b in run.bids):
            print("\nthe server's log (warnings and errors), last lines:\n" + server_log[-8000:])
        if args.dump:
            args.dump.write_text(
                json.dumps(
                    [
                        {
                            "offset": b.offset,
                            "wait": b.wait,
                            "create": b.create_latency,
                            "put": b.put_latency,
                            "submit": b.submit_latency,
                            "latency": b.latency,
                            "retries": b.retries,
                            "echo": b.echo_latency,
                            "error": b.error,
                            "echo_error": b.echo_error,
                        }
                        for b in run.bids
                    ],
                    indent=1,
                )
            )
    done = [b for b in run.bids if b.receipt is not None]
    return {
        "ok": ok,
        "receipted": len(done),
        "n": len(run.bids),
        "before_deadline": db["before_deadline"],
        "tokens_ok": db["tokens_ok"],
        "retries": sum(b.retries for b in run.bids),
        "whole_p50": percentile([b.latency for b in done], 50),
        "whole_p99": percentile([b.latency for b in done], 99),
        "submit_p99": percentile([b.submit_latency for b in done], 99),
        "wall": run.timings["wall"],
        "load": run.timings["load"],
    }


def print_runs(args, results: list[dict]) -> None:
    """One line per run, so that a rare failure shows against the runs that passed."""
    database = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    print(
        f"\n{len(results)} runs, {database}, {args.bidders} bidders x {args.size_mb} MiB, "
        f"window {args.window} s, {args.concurrency} in flight"
    )
    header = (
        f"{'run':>3}  {'receipted':>9}  {'before deadline':>15}  {'tokens ok':>9}  {'503 retried':>11}  "
        f"{'whole p50':>9}  {'whole p99':>9}  {'submit p99':>10}  {'wall':>6}  {'load':>9}  verdict"
    )
    print(header)
    for number, r in enumerate(results, 1):
        print(
            f"{number:>3}  {r['receipted']:>5}/{r['n']:<3}  {r['before_deadline']:>11}/{r['n']:<3}  "
            f"{r['tokens_ok']:>5}/{r['n']:<3}  {r['retries']:>11}  {r['whole_p50']:>8.2f}s  "
            f"{r['whole_p99']:>8.2f}s  {r['submit_p99']:>9.2f}s  {r['wall']:>5.0f}s  "
            f"{r['load'][0]:>4.1f}/{r['load'][1]:<4.1f}  {'PASS' if r['ok'] else 'FAIL'}"
        )
    passed = sum(r["ok"] for r in results)
    print(
        f"all runs: {passed} / {len(results)} with every bid receipted  {'PASS' if passed == len(results) else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
