"""Reading an SBE1 stream at constant memory: the header, the summary frame, the document frames."""


from __future__ import annotations

import hashlib
import struct
from typing import BinaryIO

from bidding.envelope.checks import _parse_json_object, check_header
from bidding.envelope.format import (
    MAGIC,
    MAX_HEADER_SIZE,
    MAX_SUMMARY_SIZE,
    TAG_SIZE,
    EnvelopeError,
)

# --- stream helpers -------------------------------------------------------------------------


def _read_exact(stream: BinaryIO, view: memoryview) -> int:
    """Fill view from stream; returns how many bytes were read (short only at end of file)."""
    readinto = getattr(stream, "readinto", None)
    got = 0
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:])
        else:  # e.g. a storage backend's body without readinto
            data = stream.read(len(view) - got)
            n = len(data)
            view[got : got + n] = data
        if not n:
            break
        got += n
    return got


class _Reader:
    """Reads an envelope, hashing every byte and enforcing a size limit."""

    def __init__(self, stream: BinaryIO, max_size: int | None = None):
        self.stream = stream
        self.max_size = max_size
        self.hash = hashlib.sha256()
        self.size = 0

    def expect(self, n: int) -> None:
        if self.max_size is not None and self.size + n > self.max_size:
            raise EnvelopeError("too_large")

    def read_into(self, view: memoryview) -> int:
        got = _read_exact(self.stream, view)
        self.hash.update(view[:got])
        self.size += got
        self.expect(0)
        return got

    def read_exact(self, view: memoryview) -> None:
        self.expect(len(view))
        if self.read_into(view) < len(view):
            raise EnvelopeError("truncated")

    def frame_length(self) -> int | None:
        """The next frame's length prefix, or None at a clean end of file."""
        prefix = bytearray(4)
        got = self.read_into(memoryview(prefix))
        if got == 0:
            return None
        if got < 4:
            raise EnvelopeError("truncated")
        return struct.unpack(">I", prefix)[0]


def _read_header(reader: _Reader) -> tuple[dict, bytes]:
    start = bytearray(8)
    got = reader.read_into(memoryview(start))
    if got < 4 or start[:4] != MAGIC:
        raise EnvelopeError("bad_magic")
    if got < 8:
        raise EnvelopeError("truncated")
    length = struct.unpack(">I", start[4:])[0]
    if not 0 < length <= MAX_HEADER_SIZE:
        raise EnvelopeError("bad_header", field="length")
    header_bytes = bytearray(length)
    reader.read_exact(memoryview(header_bytes))
    try:
        header = _parse_json_object(bytes(header_bytes))
    except ValueError as exc:
        raise EnvelopeError("bad_header", field="JSON") from exc
    check_header(header)
    return header, bytes(header_bytes)


def read_header(stream: BinaryIO) -> dict:
    """The schema-checked header of an envelope, e.g. to unwrap K1 or K2."""
    return _read_header(_Reader(stream))[0]


def _read_summary_frame(reader: _Reader) -> bytearray:
    length = reader.frame_length()
    if length is None:
        raise EnvelopeError("truncated")
    if not TAG_SIZE <= length <= MAX_SUMMARY_SIZE + TAG_SIZE:
        raise EnvelopeError("bad_framing")
    frame = bytearray(length)
    reader.read_exact(memoryview(frame))
    return frame


def _document_frames(reader: _Reader, chunk_size: int):
    """Yield (index, ciphertext view, is_final) for each documents frame; one buffer reused."""
    buffer = memoryview(bytearray(chunk_size + TAG_SIZE))
    length = reader.frame_length()
    if length is None:
        raise EnvelopeError("truncated")
    index = 0
    while length is not None:
        if not TAG_SIZE <= length <= chunk_size + TAG_SIZE or index > 0xFFFFFFFF:
            raise EnvelopeError("bad_framing")
        frame = buffer[:length]
        reader.read_exact(frame)
        following = reader.frame_length()
        # Only the final frame may be short: the server cannot see the last flag itself.
        if following is not None and length != chunk_size + TAG_SIZE:
            raise EnvelopeError("bad_framing")
        yield index, frame, following is None
        index += 1
        length = following


