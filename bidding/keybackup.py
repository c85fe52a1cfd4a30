"""Passphrase-protected backup file for a bidder's two private keys (DESIGN §5.1).

The same file is written by the browser, so the layout is fixed: PBKDF2-SHA256 turns
the passphrase into an AES-256-GCM key, which encrypts each key's PKCS#8 DER with
AAD "sbe1-key-backup:<use>:<kid>".
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils.translation import gettext_lazy as _

from bidding.envelope import b64url_decode, b64url_encode, kid_of, spki_der

FORMAT = "sbe1-key-backup"
MIN_ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000  # a hostile file must not tie up the CPU for minutes
USES = ("enc", "sign")

_MESSAGES = {
    "bad_backup": _("This is not a valid key backup file (field “%(field)s”)."),
    "weak_kdf": _("The key backup uses fewer than 600000 PBKDF2 iterations."),
    "wrong_passphrase": _("The passphrase is wrong, or the key backup file is damaged."),
}


class KeyBackupError(Exception):
    """A bad backup file or passphrase; ``code`` for machines, ``message`` for people."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self._params = params

    @property
    def message(self) -> str:
        text = str(_MESSAGES[self.code])
        return text % self._params if self._params else text

    def __str__(self) -> str:
        try:
            return f"{self.code}: {self.message}"
        except Exception:  # translation needs Django settings, which a bare script lacks
            return self.code


def _aad(use: str, kid: str) -> bytes:
    return f"sbe1-key-backup:{use}:{kid}".encode("ascii")


def _derive(passphrase: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, iterations, 32)


def _seal_key(aead: AESGCM, use: str, private_key, iv: bytes) -> dict:
    public = private_key.public_key()
    kid = kid_of(public)
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ciphertext = aead.encrypt(iv, pkcs8, _aad(use, kid))
    return {
        "use": use,
        "kid": kid,
        "public_key": b64url_encode(spki_der(public)),
        "iv": b64url_encode(iv),
        "ciphertext": b64url_encode(ciphertext),
    }


def backup_write(
    *,
    enc_private,
    sign_private,
    organization: str,
    passphrase: str,
    iterations: int = MIN_ITERATIONS,
    rng: Callable[[int], bytes] | None = None,
) -> bytes:
    """The backup file's bytes; rng (salt, then the two IVs) is for test vectors."""
    if iterations < MIN_ITERATIONS:
        raise KeyBackupError("weak_kdf")
    rng = rng or os.urandom
    salt = rng(16)
    aead = AESGCM(_derive(passphrase, salt, iterations))
    backup = {
        "format": FORMAT,
        "v": 1,
        "organization": organization,
        "kdf": {"name": "PBKDF2-SHA256", "iterations": iterations, "salt": b64url_encode(salt)},
        "keys": [
            _seal_key(aead, "enc", enc_private, rng(12)),
            _seal_key(aead, "sign", sign_private, rng(12)),
        ],
    }
    return json.dumps(backup, indent=2).encode("utf-8") + b"\n"


def _field(value, field: str, size: int | None = None) -> bytes:
    try:
        data = b64url_decode(value)
    except ValueError as exc:
        raise KeyBackupError("bad_backup", field=field) from exc
    if size is not None and len(data) != size:
        raise KeyBackupError("bad_backup", field=field)
    return data


def _parse(data: bytes) -> dict:
    try:
        backup = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeyBackupError("bad_backup", field="JSON") from exc
    if not isinstance(backup, dict) or backup.get("format") != FORMAT:
        raise KeyBackupError("bad_backup", field="format")
    if backup.get("v") != 1 or isinstance(backup.get("v"), bool):
        raise KeyBackupError("bad_backup", field="v")
    kdf = backup.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "PBKDF2-SHA256":
        raise KeyBackupError("bad_backup", field="kdf")
    iterations = kdf.get("iterations")
    if not isinstance(iterations, int) or isinstance(iterations, bool):
        raise KeyBackupError("bad_backup", field="kdf.iterations")
    if iterations < MIN_ITERATIONS:
        raise KeyBackupError("weak_kdf")
    if iterations > MAX_ITERATIONS:
        raise KeyBackupError("bad_backup", field="kdf.iterations")
    keys = backup.get("keys")
    keys = keys if isinstance(keys, list) else []
    uses = sorted(str(k.get("use")) for k in keys if isinstance(k, dict))
    if uses != sorted(USES) or len(keys) != len(USES):
        raise KeyBackupError("bad_backup", field="keys")
    return backup


def _open_key(aead: AESGCM, entry: dict):
    use, kid = entry["use"], entry.get("kid")
    public_der = _field(entry.get("public_key"), f"{use}.public_key")
    if not isinstance(kid, str) or hashlib.sha256(public_der).hexdigest() != kid:
        raise KeyBackupError("bad_backup", field=f"{use}.kid")
    iv = _field(entry.get("iv"), f"{use}.iv", 12)
    ciphertext = _field(entry.get("ciphertext"), f"{use}.ciphertext")
    try:
        pkcs8 = aead.decrypt(iv, ciphertext, _aad(use, kid))
    except InvalidTag as exc:
        raise KeyBackupError("wrong_passphrase") from exc
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
    except ValueError as exc:
        raise KeyBackupError("bad_backup", field=f"{use}.ciphertext") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or spki_der(key.public_key()) != public_der:
        raise KeyBackupError("bad_backup", field=f"{use}.public_key")
    return key


def backup_read(data: bytes, passphrase: str):
    """(enc_private, sign_private) from a backup file's bytes."""
    backup = _parse(data)
    kdf = backup["kdf"]
    salt = _field(kdf.get("salt"), "kdf.salt", 16)
    aead = AESGCM(_derive(passphrase, salt, kdf["iterations"]))
    keys = {entry["use"]: _open_key(aead, entry) for entry in backup["keys"]}
    return keys["enc"], keys["sign"]


def backup_organization(data: bytes) -> str:
    """The organization (credit code) a backup file belongs to."""
    return str(_parse(data).get("organization", ""))
