"""Sealing a bid (the bidder's side): hash the documents, complete the summary, encrypt both parts."""


from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bidding.envelope.checks import _dump_json, check_header, check_summary
from bidding.envelope.format import (
    DEFAULT_CHUNK_SIZE,
    MAGIC,
    SUITE,
    TAG_SIZE,
    EnvelopeError,
    SealResult,
)
from bidding.envelope.frames import _read_exact
from bidding.envelope.keys import _wrap, frame_nonce, kid_of, part_keys

# --- seal -----------------------------------------------------------------------------------


def _hash_documents(documents: BinaryIO) -> tuple[str, int]:
    """First pass over a seekable input: its SHA-256 hex and size; rewinds afterwards."""
    start = documents.tell()
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(DEFAULT_CHUNK_SIZE))
    size = 0
    while n := _read_exact(documents, buffer):
        digest.update(buffer[:n])
        size += n
    documents.seek(start)
    return digest.hexdigest(), size


def _complete_summary(summary: dict, documents: BinaryIO, name: str | None) -> dict:
    if "documents" in summary:
        return summary
    if not documents.seekable():
        raise EnvelopeError("bad_summary", field="documents")
    sha256, size = _hash_documents(documents)
    if name is None:
        name = os.path.basename(getattr(documents, "name", "") or "") or "documents"
    return {**summary, "documents": {"name": name, "size": size, "sha256": sha256}}


class _Writer:
    """Writes the envelope, hashing it on the way out."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> None:
        self.out.write(data)
        self.hash.update(data)
        self.size += len(data)

    def frame(self, ciphertext) -> None:
        self.write(struct.pack(">I", len(ciphertext)))
        self.write(ciphertext)


def _seal_documents(
    writer: _Writer, documents: BinaryIO, aead: AESGCM, aad: bytes, chunk_size: int
) -> tuple[str, int]:
    """Encrypt documents frame by frame, reading one chunk ahead to find the last one."""
    current = memoryview(bytearray(chunk_size))
    ahead = memoryview(bytearray(chunk_size))
    sealed = memoryview(bytearray(chunk_size + TAG_SIZE))
    digest = hashlib.sha256()
    size = 0
    index = 0
    n = _read_exact(documents, current)
    while True:
        # A short read means end of input, so only a full chunk needs a look ahead.
        following = _read_exact(documents, ahead) if n == chunk_size else 0
        plain = current[:n]
        digest.update(plain)
        size += n
        out = sealed[: n + TAG_SIZE]
        aead.encrypt_into(frame_nonce(1, index, following == 0), plain, aad, out)
        writer.frame(out)
        if following == 0:
            return digest.hexdigest(), size
        current, ahead, n = ahead, current, following
        index += 1


def seal(
    *,
    out: BinaryIO,
    documents: BinaryIO,
    summary: dict,
    section: str,
    bidder: str,
    opening_public_key,
    bidder_enc_public_key,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rng: Callable[[int], bytes] | None = None,
    documents_name: str | None = None,
) -> SealResult:
    """Seal documents and summary into out; returns the envelope digest.

    If the summary has no "documents" entry, the input must be seekable: it is hashed
    in a first pass and rewound. If it has one, the single pass checks it and raises
    "documents_mismatch" at the end (out then holds a useless envelope to discard).
    """
    summary = _complete_summary(summary, documents, documents_name)
    check_summary(summary)
    k1 = (rng or os.urandom)(32)
    k2 = (rng or os.urandom)(32)
    header = {
        "v": 1,
        "suite": SUITE,
        "section": section,
        "bidder": bidder,
        "opening_kid": kid_of(opening_public_key),
        "bidder_kid": kid_of(bidder_enc_public_key),
        "chunk_size": chunk_size,
        "recipients": [_wrap(k1, opening_public_key, rng), _wrap(k2, bidder_enc_public_key, rng)],
    }
    check_header(header)
    header_bytes = _dump_json(header)
    aad = hashlib.sha256(header_bytes).digest()
    dek_summary, dek_documents = part_keys(k1, k2)
    writer = _Writer(out)
    writer.write(MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes)
    writer.frame(AESGCM(dek_summary).encrypt(frame_nonce(0, 0, True), _dump_json(summary), aad))
    sha256, size = _seal_documents(writer, documents, AESGCM(dek_documents), aad, chunk_size)
    if (sha256, size) != (summary["documents"]["sha256"], summary["documents"]["size"]):
        raise EnvelopeError("documents_mismatch")
    return SealResult(digest=writer.hash.digest(), header=header, size=writer.size)


