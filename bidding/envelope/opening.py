"""Inspecting an envelope without keys (the server) and opening it with K1 and K2 (the opening room)."""


from __future__ import annotations

import hashlib
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bidding.envelope.checks import _parse_json_object, check_summary
from bidding.envelope.format import TAG_SIZE, EnvelopeError, Inspection
from bidding.envelope.frames import _document_frames, _read_header, _read_summary_frame, _Reader
from bidding.envelope.keys import frame_nonce, part_keys

# --- inspect (server side, no keys) ---------------------------------------------------------


def inspect(
    stream: BinaryIO,
    *,
    section: str,
    bidder: str,
    opening_kid: str,
    max_size: int,
    bidder_kid: str | None = None,
) -> Inspection:
    """Check magic, header, identities, framing and size in one pass; returns the digest."""
    reader = _Reader(stream, max_size)
    header, header_bytes = _read_header(reader)
    if header["section"] != section:
        raise EnvelopeError("section_mismatch")
    if header["bidder"] != bidder:
        raise EnvelopeError("bidder_mismatch")
    if header["opening_kid"] != opening_kid:
        raise EnvelopeError("opening_kid_mismatch")
    if bidder_kid is not None and header["bidder_kid"] != bidder_kid:
        raise EnvelopeError("bidder_kid_mismatch")
    _read_summary_frame(reader)
    count = sum(1 for _frame in _document_frames(reader, header["chunk_size"]))
    return Inspection(
        header=header,
        header_bytes=header_bytes,
        digest=reader.hash.digest(),
        size=reader.size,
        frame_count=count,
    )


# --- open -----------------------------------------------------------------------------------


def _open_summary(reader: _Reader, k1: bytes, k2: bytes) -> tuple[dict, dict, bytes, bytes]:
    header, header_bytes = _read_header(reader)
    aad = hashlib.sha256(header_bytes).digest()
    frame = _read_summary_frame(reader)
    dek_summary, dek_documents = part_keys(k1, k2)
    try:
        plain = AESGCM(dek_summary).decrypt(frame_nonce(0, 0, True), bytes(frame), aad)
    except InvalidTag as exc:
        raise EnvelopeError("bad_k2") from exc
    try:
        summary = _parse_json_object(plain)
    except ValueError as exc:
        raise EnvelopeError("bad_summary", field="JSON") from exc
    check_summary(summary)
    return header, summary, aad, dek_documents


def open_summary(stream: BinaryIO, *, k1: bytes, k2: bytes) -> dict:
    """Decrypt the opening form; a wrong K2 raises EnvelopeError("bad_k2")."""
    return _open_summary(_Reader(stream), k1, k2)[1]


def _decrypt_frame(aead: AESGCM, index: int, frame, aad: bytes, plain, is_final: bool) -> None:
    try:
        aead.decrypt_into(frame_nonce(1, index, is_final), frame, aad, plain)
        return
    except InvalidTag:
        pass
    if is_final:
        try:
            aead.decrypt_into(frame_nonce(1, index, False), frame, aad, plain)
        except InvalidTag:
            pass
        else:  # authentic frame, but not marked last: the real last frame was cut off
            raise EnvelopeError("missing_last_frame")
    raise EnvelopeError("auth_failed")


def open_documents(stream: BinaryIO, out: BinaryIO, *, k1: bytes, k2: bytes) -> dict:
    """Decrypt the documents into out, authenticating every frame; returns the summary.

    Each frame is authenticated before it is written, but an error can come after
    earlier frames were written: write to a temporary file and keep it only on success.
    """
    reader = _Reader(stream)
    header, summary, aad, dek_documents = _open_summary(reader, k1, k2)
    aead = AESGCM(dek_documents)
    plain = memoryview(bytearray(header["chunk_size"]))
    digest = hashlib.sha256()
    size = 0
    for index, frame, is_final in _document_frames(reader, header["chunk_size"]):
        view = plain[: len(frame) - TAG_SIZE]
        _decrypt_frame(aead, index, frame, aad, view, is_final)
        out.write(view)
        digest.update(view)
        size += len(view)
    expected = summary["documents"]
    if (digest.hexdigest(), size) != (expected["sha256"], expected["size"]):
        raise EnvelopeError("documents_mismatch")
    return summary
