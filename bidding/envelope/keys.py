"""SBE1 encodings and the key schedule: SPKI kids, ECDSA signatures, HKDF part keys, ECDH key wrapping."""


from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bidding.envelope.format import P256_ORDER, EnvelopeError

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


