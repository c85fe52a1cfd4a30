"""Benchmark the timestamp authority against the raw ECDSA limit of the same key, in one run.

python bench/tsa.py [--seconds 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asn1crypto import tsp  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from timestamps.pki import ensure_tsa_keys, load_tsa  # noqa: E402
from timestamps.tsa import respond, timestamp_digest, verify_token  # noqa: E402


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``operation`` run back to back for about ``seconds``."""
    for _ in range(50):  # warm caches and the key
        operation()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            operation()
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def threaded_rate(operation: Callable[[], object], seconds: float, threads: int) -> float:
    counts = [0] * threads
    stop = threading.Event()

    def work(slot: int) -> None:
        while not stop.is_set():
            for _ in range(50):
                operation()
            counts[slot] += 50

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per row")
    parser.add_argument("--threads", type=int, default=4, help="threads for the threaded row")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ensure_tsa_keys(directory)
        identity = load_tsa(directory)
        key, public_key = identity.private_key, identity.public_key
        digest = hashlib.sha256(b"sealed bid envelope").digest()
        query = tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": digest,
                },
                "nonce": 0x1234567890ABCDEF,
                "cert_req": True,
            }
        ).dump()
        token = timestamp_digest(digest, directory=directory)
        assert respond(query, directory=directory).granted
        # The TSA signs its signed attributes (~200 bytes); the raw rows use the same size.
        signed_attrs = b"\x31" + bytes(199)
        ecdsa = ec.ECDSA(hashes.SHA256())
        signature = key.sign(signed_attrs, ecdsa)

        raw_sign = rate(lambda: key.sign(signed_attrs, ecdsa), args.seconds)
        raw_verify = rate(lambda: public_key.verify(signature, signed_attrs, ecdsa), args.seconds)
        rows = [
            ("raw ECDSA P-256 sign (same key)", raw_sign, raw_sign),
            (
                "(a) timestamp_digest, in-process",
                rate(lambda: timestamp_digest(digest, directory=directory), args.seconds),
                raw_sign,
            ),
            (
                "(b) respond(TimeStampReq) -> TimeStampResp",
                rate(lambda: respond(query, directory=directory), args.seconds),
                raw_sign,
            ),
            (
                f"(a) timestamp_digest, {args.threads} threads",
                threaded_rate(
                    lambda: timestamp_digest(digest, directory=directory),
                    args.seconds,
                    args.threads,
                ),
                raw_sign,
            ),
            ("raw ECDSA P-256 verify (same key)", raw_verify, raw_verify),
            (
                "verify_token",
                rate(lambda: verify_token(token, digest, directory=directory), args.seconds),
                raw_verify,
            ),
        ]

    print(f"{'operation':<46} {'ops/s':>10} {'vs raw':>8}")
    print("-" * 66)
    for name, ops, raw in rows:
        print(f"{name:<46} {ops:>10,.0f} {ops / raw:>8.2f}")


if __name__ == "__main__":
    main()
