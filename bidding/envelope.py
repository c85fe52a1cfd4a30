"""SBE1 sealed bid envelope (密封投标文件): seal, inspect and open at constant memory.

The format is fixed by DESIGN.md §5.2. Points the design leaves open, settled here
and pinned by the vectors in tests/vectors/sbe1/:

- The header is compact JSON (no spaces) with keys in the order v, suite, section,
  bidder, opening_kid, bidder_kid, chunk_size, recipients; recipient keys in the order
  kid, epk, iv, wrapped. Readers accept any key order but no unknown or duplicate keys.
- The summary frame is the only frame of part 0, so its nonce is (0, 0, last=1).
- Documents whose size is a multiple of chunk_size end with a full frame carrying
  last=1 (no empty trailing frame); empty documents are one empty frame with last=1.
- An injected ``rng(n) -> bytes`` is drawn in this order: K1, K2, then for each
  recipient the ephemeral private scalar (redrawn while 0 or >= the group order) and IV.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.utils.translation import gettext_lazy as _

MAGIC = b"SBE1"
SUITE = "P256-HKDF-SHA256-A256GCM"
MIN_CHUNK_SIZE = 65536
MAX_CHUNK_SIZE = 4194304
DEFAULT_CHUNK_SIZE = 1 << 20
MAX_HEADER_SIZE = 65536
MAX_SUMMARY_SIZE = 65536
TAG_SIZE = 16
EPK_SIZE = 91  # SPKI DER of an uncompressed P-256 point, as WebCrypto exports it
HEADER_KEYS = (
    "v",
    "suite",
    "section",
    "bidder",
    "opening_kid",
    "bidder_kid",
    "chunk_size",
    "recipients",
)
RECIPIENT_KEYS = ("kid", "epk", "iv", "wrapped")
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_KID = re.compile(r"[0-9a-f]{64}")
_PRICE = re.compile(r"(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?")  # fits DecimalField(15, 2)
_CURRENCY = re.compile(r"[A-Z]{3}")

_MESSAGES = {
    "bad_magic": _("This file is not an SBE1 sealed bid envelope."),
    "bad_header": _("The envelope header is invalid (field “%(field)s”)."),
    "section_mismatch": _("The envelope was sealed for another section."),
    "bidder_mismatch": _("The envelope was sealed by another bidder."),
    "opening_kid_mismatch": _("The envelope was sealed with another opening key."),
    "bidder_kid_mismatch": _("The envelope was sealed for a bidder key that is not registered."),
    "bad_framing": _("The envelope's frames are malformed."),
    "truncated": _("The envelope is incomplete: the file ends too early."),
    "missing_last_frame": _("The envelope's final documents frame is missing."),
    "too_large": _("The envelope is larger than the allowed size."),
    "bad_signature": _("The bid signature does not match the envelope."),
    "auth_failed": _("A documents frame failed to authenticate: the envelope is damaged."),
    "bad_k2": _("The summary could not be decrypted: K2 is wrong or the envelope is damaged."),
    "wrong_key": _("This private key is not the one the envelope was sealed for."),
    "unwrap_failed": _("The content key could not be unwrapped: the envelope is damaged."),
    "bad_key": _("The key is not a valid P-256 public key."),
    "bad_summary": _("The opening form (summary) is invalid (field “%(field)s”)."),
    "bad_price": _("The price must be a decimal number with at most 2 decimals."),
    "summary_too_large": _("The opening form (summary) is larger than 64 KiB."),
    "documents_mismatch": _("The documents do not match the size and SHA-256 in the summary."),
}


class EnvelopeError(Exception):
    """A bad envelope, key or summary; ``code`` is for machines, ``message`` for people."""

    def __init__(self, code: str, message=None, **params):
        super().__init__(code)
        self.code = code
        self._text = message if message is not None else _MESSAGES[code]
        self._params = params

    @property
    def message(self) -> str:
        # Translated on access, so the user's active language applies.
        text = str(self._text)
        return text % self._params if self._params else text

    def __str__(self) -> str:
        try:
            return f"{self.code}: {self.message}"
        except Exception:  # translation needs Django settings, which a bare script lacks
            return self.code


@dataclass(frozen=True)
class SealResult:
    digest: bytes
    header: dict
    size: int


@dataclass(frozen=True)
class Inspection:
    header: dict
    header_bytes: bytes
    digest: bytes
    size: int
    frame_count: int  # documents frames; the summary frame is not counted


# --- encodings and keys ---------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises ValueError on anything non-canonical."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:  # rejects stray trailing bits and impossible lengths
        raise ValueError("non-canonical base64url")
    return data


def spki_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kid_of(public_key) -> str:
    """The key id: lowercase hex SHA-256 of the SPKI DER."""
    return hashlib.sha256(spki_der(public_key)).hexdigest()


def load_public_key_der(der: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        raise EnvelopeError("bad_key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise EnvelopeError("bad_key")
    return key


def load_public_key_b64(b64: str) -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key given as standard base64 of its SPKI DER."""
    try:
        der = base64.b64decode(b64, validate=True)
    except (ValueError, TypeError) as exc:
        raise EnvelopeError("bad_key") from exc
    return load_public_key_der(der)


def sign_digest(digest: bytes, sign_private_key) -> bytes:
    """The bid signature: ECDSA-P256-SHA256 over the 32 digest bytes, DER."""
    return sign_private_key.sign(digest, ec.ECDSA(hashes.SHA256()))


def verify_signature(*, digest: bytes, signature_der: bytes, sign_public_key) -> None:
    try:
        sign_public_key.verify(signature_der, digest, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise EnvelopeError("bad_signature") from exc


# --- key schedule ---------------------------------------------------------------------------


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def part_keys(k1: bytes, k2: bytes) -> tuple[bytes, bytes]:
    """DEK_summary and DEK_documents from K1‖K2."""
    ikm = k1 + k2
    zero = bytes(32)
    return _hkdf(ikm, zero, b"SBE1 summary"), _hkdf(ikm, zero, b"SBE1 documents")


def frame_nonce(part: int, index: int, last: bool) -> bytes:
    return struct.pack(">III", part, index, 1 if last else 0)


def _kek(private_key, public_key, epk: bytes) -> bytes:
    return _hkdf(private_key.exchange(ec.ECDH(), public_key), epk, b"SBE1 wrap")


def _ephemeral_key(rng: Callable[[int], bytes] | None) -> ec.EllipticCurvePrivateKey:
    if rng is None:
        return ec.generate_private_key(ec.SECP256R1())
    while True:
        scalar = int.from_bytes(rng(32), "big")
        if 0 < scalar < P256_ORDER:
            return ec.derive_private_key(scalar, ec.SECP256R1())


def _wrap(key: bytes, recipient_public, rng) -> dict:
    ephemeral = _ephemeral_key(rng)
    epk = spki_der(ephemeral.public_key())
    iv = (rng or os.urandom)(12)
    kid = kid_of(recipient_public)
    wrapped = AESGCM(_kek(ephemeral, recipient_public, epk)).encrypt(iv, key, kid.encode())
    return {
        "kid": kid,
        "epk": b64url_encode(epk),
        "iv": b64url_encode(iv),
        "wrapped": b64url_encode(wrapped),
    }


def unwrap_key(header: dict, recipient_index: int, private_key) -> bytes:
    """K1 (index 0, opening private key) or K2 (index 1, bidder encryption private key)."""
    recipient = header["recipients"][recipient_index]
    if recipient["kid"] != kid_of(private_key.public_key()):
        raise EnvelopeError("wrong_key")
    epk = b64url_decode(recipient["epk"])
    kek = _kek(private_key, load_public_key_der(epk), epk)
    try:
        return AESGCM(kek).decrypt(
            b64url_decode(recipient["iv"]),
            b64url_decode(recipient["wrapped"]),
            recipient["kid"].encode(),
        )
    except InvalidTag as exc:
        raise EnvelopeError("unwrap_failed") from exc


# --- header and summary validation ----------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(name)


def _unique_object(pairs: list) -> dict:
    keys = [k for k, _v in pairs]
    if len(set(keys)) != len(keys):  # duplicate keys read differently across parsers
        raise ValueError("duplicate key")
    return dict(pairs)


def _parse_json_object(data: bytes) -> dict:
    """Strict JSON object: UTF-8, no duplicate keys, no NaN/Infinity; ValueError otherwise."""
    value = json.loads(
        data.decode("utf-8"), object_pairs_hook=_unique_object, parse_constant=_reject_constant
    )
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _dump_json(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_b64url(value, size: int) -> bool:
    try:
        return len(b64url_decode(value)) == size
    except ValueError:
        return False


def _check_recipient(recipient, kid: str, index: int) -> None:
    field = f"recipients[{index}]"
    if not isinstance(recipient, dict) or set(recipient) != set(RECIPIENT_KEYS):
        raise EnvelopeError("bad_header", field=field)
    if recipient["kid"] != kid:
        raise EnvelopeError("bad_header", field=f"{field}.kid")
    if not _check_b64url(recipient["epk"], EPK_SIZE):
        raise EnvelopeError("bad_header", field=f"{field}.epk")
    try:
        load_public_key_der(b64url_decode(recipient["epk"]))
    except EnvelopeError as exc:
        raise EnvelopeError("bad_header", field=f"{field}.epk") from exc
    if not _check_b64url(recipient["iv"], 12):
        raise EnvelopeError("bad_header", field=f"{field}.iv")
    if not _check_b64url(recipient["wrapped"], 32 + TAG_SIZE):
        raise EnvelopeError("bad_header", field=f"{field}.wrapped")


def check_header(header: dict) -> None:
    """Check the header's schema (DESIGN §5.2); raises EnvelopeError("bad_header")."""
    for key in HEADER_KEYS:
        if key not in header:
            raise EnvelopeError("bad_header", field=key)
    for key in header:
        if key not in HEADER_KEYS:
            raise EnvelopeError("bad_header", field=key)
    if not _is_int(header["v"]) or header["v"] != 1:
        raise EnvelopeError("bad_header", field="v")
    if header["suite"] != SUITE:
        raise EnvelopeError("bad_header", field="suite")
    for key in ("section", "bidder"):
        if not isinstance(header[key], str) or not 0 < len(header[key]) <= 200:
            raise EnvelopeError("bad_header", field=key)
    for key in ("opening_kid", "bidder_kid"):
        if not isinstance(header[key], str) or not _KID.fullmatch(header[key]):
            raise EnvelopeError("bad_header", field=key)
    size = header["chunk_size"]
    if not _is_int(size) or not MIN_CHUNK_SIZE <= size <= MAX_CHUNK_SIZE:
        raise EnvelopeError(
            "bad_header", _("The chunk size must be between 65536 and 4194304 bytes.")
        )
    recipients = header["recipients"]
    if not isinstance(recipients, list) or len(recipients) != 2:
        raise EnvelopeError("bad_header", field="recipients")
    _check_recipient(recipients[0], header["opening_kid"], 0)
    _check_recipient(recipients[1], header["bidder_kid"], 1)


def check_summary(summary: dict) -> None:
    """Check the opening form (开标一览表): price, currency and documents."""
    if not isinstance(summary, dict):
        raise EnvelopeError("bad_summary", field="summary")
    if len(_dump_json(summary)) > MAX_SUMMARY_SIZE:
        raise EnvelopeError("summary_too_large")
    price = summary.get("price")
    if not isinstance(price, str) or not _PRICE.fullmatch(price):
        raise EnvelopeError("bad_price")
    currency = summary.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise EnvelopeError("bad_summary", field="currency")
    documents = summary.get("documents")
    if not isinstance(documents, dict):
        raise EnvelopeError("bad_summary", field="documents")
    if not isinstance(documents.get("name"), str) or not documents["name"]:
        raise EnvelopeError("bad_summary", field="documents.name")
    if not _is_int(documents.get("size")) or documents["size"] < 0:
        raise EnvelopeError("bad_summary", field="documents.size")
    if not isinstance(documents.get("sha256"), str) or not _KID.fullmatch(documents["sha256"]):
        raise EnvelopeError("bad_summary", field="documents.sha256")


def summary_price(summary: dict) -> Decimal:
    """The bid price (投标报价) of a checked summary."""
    return Decimal(summary["price"])


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
