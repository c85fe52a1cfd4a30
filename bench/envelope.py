"""Benchmark the SBE1 envelope against raw AES-256-GCM, and its memory on a big stream.

    python bench/envelope.py [--size-mb 256] [--chunk-mb 1] [--big-gb 2]

Throughput is measured in memory (documents in RAM, output discarded) with the same
bytes and the same chunking as the raw AES-GCM loop. The format also needs SHA-256
over the documents (the summary's hash) and over the whole file (the digest), so a
second baseline, "crypto floor", adds exactly those hashes to the raw AES-GCM loop.
Memory is measured in one child process per phase on a stream made on the fly.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from bidding import envelope  # noqa: E402

MIB = 1 << 20
RATIO_TARGET = 0.7
RSS_TARGET_MB = 150
SUMMARY = {"price": "1234567.89", "currency": "CNY"}


class Generated(io.RawIOBase):
    """Documents made on the fly: a random block with a position stamp, never held whole."""

    def __init__(self, size: int):
        self.size = size
        self.pos = 0
        self.block = bytearray(os.urandom(4 * MIB))

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, pos, whence=0):
        self.pos = pos
        return pos

    def readinto(self, b):
        n = min(len(b), self.size - self.pos, len(self.block))
        self.block[:8] = self.pos.to_bytes(8, "big")
        b[:n] = memoryview(self.block)[:n]
        self.pos += n
        return n


class Discard:
    """An output that keeps nothing."""

    def write(self, data):
        return len(data)


def best_times(runs: int, *works) -> list[float]:
    """The best time of each work; rounds interleave them so load from others hits all alike."""
    best = [float("inf")] * len(works)
    for _ in range(runs):
        for i, work in enumerate(works):
            start = time.perf_counter()
            work()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def raw_aes(data: memoryview, chunk: int, *, decrypt: bool, hashes: int) -> None:
    """AES-GCM over data in frames of chunk bytes, plus `hashes` SHA-256 passes per frame."""
    aead = AESGCM(bytes(32))
    aad = bytes(32)
    out = memoryview(bytearray(chunk + 16))
    sealed = aead.encrypt(bytes(12), bytes(data[:chunk]), aad) if decrypt else b""
    digests = [hashlib.sha256() for _ in range(hashes)]
    for i in range(0, len(data), chunk):
        frame = data[i : i + chunk]
        if decrypt:
            aead.decrypt_into(bytes(12), sealed[: len(frame) + 16], aad, out[: len(frame)])
        else:
            aead.encrypt_into(bytes(12), frame, aad, out[: len(frame) + 16])
        for digest in digests:
            digest.update(frame)


def throughput(size_mb: int, chunk: int, runs: int) -> list[tuple[str, float, float, float]]:
    """Rows of (operation, MB/s, raw AES-GCM MB/s, crypto floor MB/s)."""
    data = memoryview(bytearray(size_mb * MIB))
    envelope._read_exact(Generated(len(data)), data)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
    documents = {"name": "bid.zip", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def seal(summary, out):
        return envelope.seal(
            out=out,
            documents=io.BytesIO(data),
            summary=summary,
            section="S",
            bidder="B",
            opening_public_key=keys[0].public_key(),
            bidder_enc_public_key=keys[1].public_key(),
            chunk_size=chunk,
        )

    sealed = io.BytesIO()
    header = seal({**SUMMARY, "documents": documents}, sealed).header
    blob = sealed.getvalue()
    k1, k2 = envelope.unwrap_key(header, 0, keys[0]), envelope.unwrap_key(header, 1, keys[1])
    kid = envelope.kid_of(keys[0].public_key())
    timed = {
        "seal (summary has hash)": lambda: seal({**SUMMARY, "documents": documents}, Discard()),
        "seal (extra hash pass)": lambda: seal(dict(SUMMARY), Discard()),
        "inspect (server, no keys)": lambda: envelope.inspect(
            io.BytesIO(blob), section="S", bidder="B", opening_kid=kid, max_size=len(blob)
        ),
        "open_documents": lambda: envelope.open_documents(
            io.BytesIO(blob), Discard(), k1=k1, k2=k2
        ),
    }
    encrypt = lambda hashes: lambda: raw_aes(data, chunk, decrypt=False, hashes=hashes)  # noqa: E731
    decrypt = lambda hashes: lambda: raw_aes(data, chunk, decrypt=True, hashes=hashes)  # noqa: E731
    baselines = {  # (raw AES-GCM, raw AES-GCM plus the hashes the operation cannot avoid)
        "seal (summary has hash)": (encrypt(0), encrypt(2)),
        "seal (extra hash pass)": (encrypt(0), encrypt(3)),
        "inspect (server, no keys)": (decrypt(0), lambda: hashlib.sha256(data)),
        "open_documents": (decrypt(0), decrypt(1)),
    }
    rows = []
    for name, work in timed.items():
        op, raw, floor = best_times(runs, work, *baselines[name])
        rows.append((name, size_mb / op, size_mb / raw, size_mb / floor))
    return rows


# --- memory on a big stream -----------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS; VmHWM, because ru_maxrss survives exec from a big parent."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_pem(path: Path, key) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def read_pem(path: Path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def phase(name: str, workdir: Path, size: int) -> None:
    """One memory phase, run in a child process; prints its own peak RSS in MB."""
    sealed = workdir / "big.sbe1"
    if name == "seal":
        keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
        write_pem(workdir / "opening.pem", keys[0])
        write_pem(workdir / "enc.pem", keys[1])
        with open(sealed, "wb") as out:
            envelope.seal(
                out=out,
                documents=Generated(size),
                summary=dict(SUMMARY),
                section="S",
                bidder="B",
                opening_public_key=keys[0].public_key(),
                bidder_enc_public_key=keys[1].public_key(),
            )
    elif name == "inspect":
        kid = envelope.kid_of(read_pem(workdir / "opening.pem").public_key())
        with open(sealed, "rb") as f:
            envelope.inspect(f, section="S", bidder="B", opening_kid=kid, max_size=1 << 40)
    else:
        with open(sealed, "rb") as f:
            header = envelope.read_header(f)
            k1 = envelope.unwrap_key(header, 0, read_pem(workdir / "opening.pem"))
            k2 = envelope.unwrap_key(header, 1, read_pem(workdir / "enc.pem"))
            f.seek(0)
            envelope.open_documents(f, Discard(), k1=k1, k2=k2)
    print(f"{peak_rss_mb():.1f}")


def memory(big_gb: float) -> list[tuple[str, float, float, float]]:
    """Rows of (phase, seconds, child peak RSS MB, RUSAGE_CHILDREN max RSS MB so far)."""
    size = int(big_gb * (1 << 30))
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        for name in ("seal", "inspect", "open"):
            start = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--phase",
                    name,
                    "--workdir",
                    tmp,
                    "--big-gb",
                    str(big_gb),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - start
            children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            rows.append((f"{name} {size / (1 << 30):g} GiB", seconds, float(done.stdout), children))
    return rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--chunk-mb", type=float, default=1)
    parser.add_argument("--big-gb", type=float, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--phase", choices=["seal", "inspect", "open"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, Path(args.workdir), int(args.big_gb * (1 << 30)))
        return
    # Memory first, while this process is small: RUSAGE_CHILDREN counts a child's
    # inherited peak from before exec.
    print(f"SBE1 memory: {args.big_gb:g} GiB generated on the fly, one child process per phase\n")
    print(f"{'phase':<18}{'seconds':>8}{'peak RSS MB':>13}{'children max':>14}  target")
    for name, seconds, peak, children in memory(args.big_gb):
        print(
            f"{name:<18}{seconds:>8.1f}{peak:>13.1f}{children:>14.1f}  "
            f"{verdict(max(peak, children) <= RSS_TARGET_MB)} (<= {RSS_TARGET_MB} MB)"
        )
    chunk = int(args.chunk_mb * MIB)
    print(
        f"\nSBE1 throughput: {args.size_mb} MiB in memory, chunk {chunk} bytes, "
        f"best of {args.runs}\n"
    )
    print(
        f"{'operation':<27}{'MB/s':>8}{'raw AES':>9}{'ratio':>7}  target  {'floor':>7}{'ratio':>7}"
    )
    for name, speed, raw, floor in throughput(args.size_mb, chunk, args.runs):
        ratio = speed / raw
        print(
            f"{name:<27}{speed:>8.0f}{raw:>9.0f}{ratio:>7.2f}  {verdict(ratio >= RATIO_TARGET):<6}  "
            f"{floor:>7.0f}{speed / floor:>7.2f}"
        )
    print(
        "\nraw AES = AES-256-GCM alone on the same bytes and frames (target ratio >= 0.7);\n"
        "floor = raw AES plus the SHA-256 passes the operation must make (documents hash,\n"
        "envelope digest), i.e. the best any implementation of SBE1 can do here"
    )


if __name__ == "__main__":
    main()
