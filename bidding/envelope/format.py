"""SBE1 constants, errors and results (DESIGN.md §5.2)."""


from __future__ import annotations

import re
from dataclasses import dataclass

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
