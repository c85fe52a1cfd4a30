"""Write the SBE1 test vectors shared by the Python and browser implementations.

Run from the project root: ``python tests/vectors/sbe1/generate.py``. Every random value
is derived from a label, so the output is the same on every run except the ECDSA
signatures: they are RFC 6979 here so the files stay stable, but signatures are
randomized in general, so check them by verifying, not by comparing.

Binary values are standard base64 (``*_b64``) or lowercase hex (``*_hex``). The
``rng_hex`` list is the exact sequence ``envelope.seal`` draws from its rng: K1, K2,
then for each recipient the ephemeral scalar and the IV. The intermediate values
(header JSON, AAD, part keys, KEKs, nonces) are there to find where two
implementations part ways.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from bidding import envelope, keybackup  # noqa: E402

SECTION = "SEC-7Q4M2X"
BIDDER = "91350100M000100Y43"
PASSPHRASE = "correct horse battery staple 投标"
SUMMARY = {"price": "1234567.89", "currency": "CNY", "duration_days": 180}
VECTORS = [
    ("sbe1-1-tiny", "1-byte documents, chunk_size 65536: one short last frame", 1),
    ("sbe1-2-two-full-frames", "exactly 2 full frames; the second carries last=1", 2 * 65536),
    ("sbe1-3-short-last-frame", "200000 bytes: 3 full frames and a short last frame", 200000),
]


def label_bytes(label: str, size: int) -> bytes:
    """Deterministic bytes: SHA-256 in counter mode over the label."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def label_key(label: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(label_bytes(label, 32), "big") % envelope.P256_ORDER
    return ec.derive_private_key(scalar, ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pkcs8(key) -> str:
    return b64(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class Sequence:
    """An rng that hands out fixed byte strings in order."""

    def __init__(self, values: list[bytes]):
        self.values = list(values)

    def __call__(self, n: int) -> bytes:
        value = self.values.pop(0)
        assert len(value) == n, (len(value), n)
        return value


def frame_nonces(frame_count: int) -> list[str]:
    nonces = [envelope.frame_nonce(0, 0, True).hex()]
    nonces += [envelope.frame_nonce(1, i, i == frame_count - 1).hex() for i in range(frame_count)]
    return nonces


def recipient_details(name: str, header: dict, keys: dict) -> list[dict]:
    details = []
    for index, (role, recipient_key) in enumerate(
        (("opening", keys["opening"]), ("bidder_enc", keys["enc"]))
    ):
        ephemeral = label_key(f"{name}/ephemeral{index}")
        epk = envelope.b64url_decode(header["recipients"][index]["epk"])
        shared = ephemeral.exchange(ec.ECDH(), recipient_key.public_key())
        details.append(
            {
                "recipient": role,
                "ephemeral_private_key_pkcs8_b64": pkcs8(ephemeral),
                "ephemeral_d_hex": f"{ephemeral.private_numbers().private_value:064x}",
                "iv_hex": label_bytes(f"{name}/iv{index}", 12).hex(),
                "ecdh_shared_hex": shared.hex(),
                "kek_hex": envelope._hkdf(shared, epk, b"SBE1 wrap").hex(),
            }
        )
    return details


def build_vector(name: str, description: str, size: int, keys: dict) -> dict:
    documents = label_bytes(f"{name}/documents", size)
    summary = {
        **SUMMARY,
        "documents": {
            "name": "bid.zip",
            "size": size,
            "sha256": hashlib.sha256(documents).hexdigest(),
        },
    }
    k1, k2 = label_bytes(f"{name}/K1", 32), label_bytes(f"{name}/K2", 32)
    rng_values = [k1, k2]
    for index in range(2):
        ephemeral = label_key(f"{name}/ephemeral{index}")
        rng_values += [
            ephemeral.private_numbers().private_value.to_bytes(32, "big"),
            label_bytes(f"{name}/iv{index}", 12),
        ]
    out = io.BytesIO()
    result = envelope.seal(
        out=out,
        documents=io.BytesIO(documents),
        summary=summary,
        section=SECTION,
        bidder=BIDDER,
        opening_public_key=keys["opening"].public_key(),
        bidder_enc_public_key=keys["enc"].public_key(),
        chunk_size=65536,
        rng=Sequence(rng_values),
    )
    data = out.getvalue()
    header_json = envelope._dump_json(result.header)
    dek_summary, dek_documents = envelope.part_keys(k1, k2)
    frame_count = max(1, -(-size // 65536))
    return {
        "name": name,
        "description": description,
        "opening_private_key_pkcs8_b64": pkcs8(keys["opening"]),
        "bidder_enc_private_key_pkcs8_b64": pkcs8(keys["enc"]),
        "bidder_sign_private_key_pkcs8_b64": pkcs8(keys["sign"]),
        "opening_kid": envelope.kid_of(keys["opening"].public_key()),
        "bidder_kid": envelope.kid_of(keys["enc"].public_key()),
        "section": SECTION,
        "bidder": BIDDER,
        "chunk_size": 65536,
        "summary": summary,
        "summary_json": envelope._dump_json(summary).decode("utf-8"),
        "documents_b64": b64(documents),
        "k1_b64": b64(k1),
        "k2_b64": b64(k2),
        "recipients": recipient_details(name, result.header, keys),
        "rng_hex": [value.hex() for value in rng_values],
        "header_json": header_json.decode("utf-8"),
        "aad_hex": hashlib.sha256(header_json).hexdigest(),
        "dek_summary_hex": dek_summary.hex(),
        "dek_documents_hex": dek_documents.hex(),
        "frame_nonces_hex": frame_nonces(frame_count),
        "frame_count": frame_count,
        "envelope_size": len(data),
        "envelope_b64": b64(data),
        "digest_hex": result.digest.hex(),
        # RFC 6979 here only keeps the file stable; envelope.sign_digest is randomized.
        "signature_b64": b64(
            keys["sign"].sign(result.digest, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        ),
    }


def build_backup(keys: dict) -> dict:
    salt, iv_enc, iv_sign = (
        label_bytes(f"backup/{x}", n) for x, n in (("salt", 16), ("iv-enc", 12), ("iv-sign", 12))
    )
    data = keybackup.backup_write(
        enc_private=keys["enc"],
        sign_private=keys["sign"],
        organization=BIDDER,
        passphrase=PASSPHRASE,
        rng=Sequence([salt, iv_enc, iv_sign]),
    )
    aes_key = hashlib.pbkdf2_hmac("sha256", PASSPHRASE.encode("utf-8"), salt, 600000, 32)
    return {
        "name": "sbe1-key-backup-1",
        "description": "backup of the vectors' bidder keys; passphrase is UTF-8, not normalized",
        "passphrase": PASSPHRASE,
        "organization": BIDDER,
        "iterations": 600000,
        "salt_b64": b64(salt),
        "ivs_b64": {"enc": b64(iv_enc), "sign": b64(iv_sign)},
        "aes_key_hex": aes_key.hex(),
        "enc_private_key_pkcs8_b64": pkcs8(keys["enc"]),
        "sign_private_key_pkcs8_b64": pkcs8(keys["sign"]),
        "file": data.decode("utf-8"),
    }


def main() -> None:
    keys = {role: label_key(f"key/{role}") for role in ("opening", "enc", "sign")}
    for name, description, size in VECTORS:
        vector = build_vector(name, description, size, keys)
        (HERE / f"{name}.json").write_text(
            json.dumps(vector, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    backup = build_backup(keys)
    (HERE / "key-backup.json").write_text(
        json.dumps(backup, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
