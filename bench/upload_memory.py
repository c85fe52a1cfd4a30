"""Benchmark one big sealed bid uploaded to a real daphne: server memory, throughput, submit time.

    python bench/upload_memory.py [--size-mb 2048] [--postgres] [--s3]

A bid of --size-mb MiB of documents is made on the fly and sealed to a temp file (4 MiB
envelope frames), then sent over loopback HTTP as DESIGN.md §5.3 says: create the upload,
PUT 8 MiB chunks with X-Chunk-SHA256, submit with digest and signature. The server's
RSS is sampled the whole time (target: peak <= 150 MB whatever the size). The raw limit,
timed in the same run on the same file, is shutil.copyfile plus one SHA-256 pass.
With --s3 the file store is a bucket on moto's S3 server (its own process, not measured).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import time

import _server
from _server import MB, MIB, Platform

RSS_TARGET_MB = 150
ENVELOPE_CHUNK = 4 * MIB
UPLOAD_CHUNK = 8 * MIB


def s3_client_footprint_mb() -> float:
    """RSS that importing boto3 and making one S3 client adds to a fresh interpreter: the fixed price of the
    S3 backend in every daphne process, whatever it uploads."""
    import subprocess
    import sys

    probe = (
        "def rss():\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))\n"
        "before = rss()\n"
        "import boto3, storages.backends.s3\n"
        "boto3.client('s3', endpoint_url='http://127.0.0.1:9', region_name='us-east-1',"
        " aws_access_key_id='a', aws_secret_access_key='b')\n"
        "print((rss() - before) * 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(done.stdout.strip()) / MB


def raw_copy_and_hash(path, size: int) -> float:
    """MB/s of shutil.copyfile plus a SHA-256 of the file: the least any server must do with it."""
    copy = path.with_suffix(".copy")
    start = time.perf_counter()
    shutil.copyfile(path, copy)
    digest = hashlib.sha256()
    with open(copy, "rb") as source:
        while block := source.read(UPLOAD_CHUNK):
            digest.update(block)
    elapsed = time.perf_counter() - start
    copy.unlink()
    return size / MB / elapsed


def upload(http, base_url: str, bidder, seed: dict, path, size: int) -> str:
    created = http.post(
        f"{base_url}/api/v1/sections/{seed['section']}/bids/uploads",
        json={"size": size, "chunk_size": UPLOAD_CHUNK},
        headers=bidder.headers,
        timeout=60,
    )
    assert created.status_code == 201, created.text
    upload_id = created.json()["upload_id"]
    for index, data in _server.file_chunks(path, UPLOAD_CHUNK):
        answer = http.put(
            f"{base_url}/api/v1/bids/uploads/{upload_id}/chunks/{index}",
            data=data,
            headers={
                **bidder.headers,
                "Content-Type": "application/octet-stream",
                "X-Chunk-SHA256": hashlib.sha256(data).hexdigest(),
            },
            timeout=600,
        )
        assert answer.status_code == 204, (index, answer.status_code, answer.text[:300])
    return upload_id


def run(size_mb: int, postgres: bool, s3: bool = False) -> bool:
    import requests

    from bidding.envelope import sign_digest
    from timestamps.tsa import verify_token

    with Platform(postgres=postgres, s3=s3) as platform:
        platform.migrate()
        seed = platform.seed(1)
        platform.start()
        bidder = _server.bidders_from(seed)[0]
        _server.register_keys(platform.base_url, [bidder])

        path = platform.var_dir / "bid.sbe"
        start = time.perf_counter()
        sealed = _server.seal_to_file(
            path,
            documents=_server.Generated(size_mb * MIB),
            seed=seed,
            bidder=bidder,
            chunk_size=ENVELOPE_CHUNK,
        )
        seal_seconds = time.perf_counter() - start
        size = sealed.size
        raw_mbps = raw_copy_and_hash(path, size)

        sampler = _server.RssSampler(platform.pid).start()
        with requests.Session() as http:
            start = time.perf_counter()
            upload_id = upload(http, platform.base_url, bidder, seed, path, size)
            upload_seconds = time.perf_counter() - start
            rss_after_upload = sampler.peak / MB
            start = time.perf_counter()
            answer = http.post(
                f"{platform.base_url}/api/v1/bids/uploads/{upload_id}/submit",
                json={
                    "digest": sealed.digest.hex(),
                    "signature": _server.b64(sign_digest(sealed.digest, bidder.sign)),
                },
                headers=bidder.headers,
                timeout=600,
            )
            submit_seconds = time.perf_counter() - start
        sampler.stop()
        assert answer.status_code == 201, answer.text[:500]
        receipt = answer.json()
        assert receipt["digest"] == sealed.digest.hex()
        verify_token(
            base64.b64decode(receipt["timestamp_token"]), sealed.digest, directory=platform.tsa_dir
        )
        platform.stop()
        stored = platform.helper("bids", "--section", seed["section"])["bids"]
        assert [(b["digest"], b["size"], b["stored"]) for b in stored] == [
            (sealed.digest.hex(), size, True)
        ]

    upload_mbps = size / MB / upload_seconds
    client_mb = s3_client_footprint_mb() if s3 else 0.0
    target_mb = RSS_TARGET_MB + client_mb
    ok = sampler.peak_mb <= target_mb
    print(
        f"\nSealed-bid upload over HTTP to daphne on loopback, {platform.database}; "
        f"machine load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"envelope {size / MB:,.0f} MB ({size_mb} MiB documents, {ENVELOPE_CHUNK // MIB} MiB frames), "
        f"{UPLOAD_CHUNK // MIB} MiB chunks; sealed in {seal_seconds:.1f} s (client side, not timed below)\n"
    )
    rows = [
        ("server RSS at start", f"{sampler.start_rss / MB:.0f} MB", ""),
        ("server RSS peak during upload", f"{rss_after_upload:.0f} MB", ""),
        (
            "server RSS peak (upload + submit)",
            f"{sampler.peak_mb:.0f} MB",
            f"<= {target_mb:.0f} MB  {'PASS' if ok else 'FAIL'}"
            + (f" ({RSS_TARGET_MB} + the S3 client's {client_mb:.0f})" if s3 else ""),
        ),
        (
            "upload throughput",
            f"{upload_mbps:.0f} MB/s",
            f"{upload_mbps / raw_mbps:.0%} of raw limit",
        ),
        ("raw limit: copyfile + sha256", f"{raw_mbps:.0f} MB/s", "same file, same run"),
        (
            "submit (assemble+inspect+sign+TSA)",
            f"{submit_seconds:.1f} s",
            f"{size / MB / submit_seconds:.0f} MB/s",
        ),
        (
            "server CPU, upload + submit",
            f"{sampler.cpu:.1f} s",
            f"{sampler.cores:.2f} cores on average",
        ),
        ("receipt", "verified", "digest matches, token verifies, file stored"),
    ]
    width, vwidth = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>{vwidth}}  target / note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>{vwidth}}  {note}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size-mb", type=int, default=2048, help="MiB of documents to seal (default 2048)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL database, not SQLite"
    )
    parser.add_argument(
        "--s3", action="store_true", help="keep files in a bucket on moto's S3 server, not local disk"
    )
    args = parser.parse_args()
    raise SystemExit(0 if run(args.size_mb, args.postgres, args.s3) else 1)


if __name__ == "__main__":
    main()
