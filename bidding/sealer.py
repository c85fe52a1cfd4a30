"""Command-line bidder tool (投标工具): make keys, seal a bid, and open it again.

    python -m bidding.sealer keygen --out-dir keys [--backup keys.json --organization CODE]
    python -m bidding.sealer seal --opening-key opening.json --bidder-enc-key keys/enc-public.pem \\
        --bidder-sign-key keys/sign-private.pem --section S --bidder CODE \\
        --summary summary.json --documents bid.zip --out bid.sbe1
    python -m bidding.sealer inspect bid.sbe1 --section S --bidder CODE --opening-key opening.json
    python -m bidding.sealer unwrap-k2 bid.sbe1 --bidder-enc-key keys/enc-private.pem
    python -m bidding.sealer open bid.sbe1 --k1 B64 --k2 B64 --out bid.zip
    python -m bidding.sealer upload bid.sbe1 --server https://platform --section S \\
        (--bidder-sign-key keys/sign-private.pem | --digest HEX --signature B64) [--parallel 4]
        # the API token from SBE1_API_TOKEN (or PLATFORM_TOKEN); prints the receipt

`upload` is resumable (断点续传): run it again after an interruption and only the missing chunks
are sent (the upload id is kept in bid.sbe1.upload.json until the receipt comes). A busy server's 503
is tried again after the time its Retry-After asks for, a bounded number of times.

A key file may be a PEM file or the backup file; the backup's passphrase is read from
the SBE1_PASSPHRASE environment variable or asked for.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bidding import envelope
from bidding.envelope import EnvelopeError
from bidding.keybackup import KeyBackupError, backup_read, backup_write

PASSPHRASE_ENV = "SBE1_PASSPHRASE"
TOKEN_ENV = "SBE1_API_TOKEN"
TOKEN_ENV_OLD = "PLATFORM_TOKEN"  # the name the first upload command read; still accepted
KEY_FILES = ("enc-private.pem", "enc-public.pem", "sign-private.pem", "sign-public.pem")


class CommandError(Exception):
    """A usage problem reported to the user without a traceback."""


# --- keys -----------------------------------------------------------------------------------


def _passphrase(confirm: bool = False) -> str:
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    passphrase = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != passphrase:
        raise CommandError("the passphrases differ")
    return passphrase


def _json_file(data: bytes) -> dict | None:
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise CommandError(f"not valid JSON: {exc}") from exc


def load_private_key(path: str, use: str):
    """A private key from a PEM file, or the enc/sign key from a backup file."""
    data = Path(path).read_bytes()
    if _json_file(data) is not None:
        enc, sign = backup_read(data, _passphrase())
        return enc if use == "enc" else sign
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"{path}: not an unencrypted PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CommandError(f"{path}: not an EC private key")
    return key


def _public_from_json(doc: dict, use: str, path: str):
    if doc.get("format") == "sbe1-key-backup":  # public halves need no passphrase
        for entry in doc.get("keys", []):
            if entry.get("use") == use:
                return envelope.load_public_key_der(envelope.b64url_decode(entry["public_key"]))
        raise CommandError(f"{path}: no {use} key in the backup")
    if "public_key" not in doc:
        raise CommandError(f"{path}: no public_key field")
    key = envelope.load_public_key_b64(doc["public_key"])
    if "kid" in doc and doc["kid"] != envelope.kid_of(key):
        raise CommandError(f"{path}: kid does not match public_key")
    return key


def load_public_key(path: str, use: str = "enc"):
    """A public key from PEM (public or private), the opening-key JSON, or a backup file."""
    data = Path(path).read_bytes()
    doc = _json_file(data)
    if doc is not None:
        return _public_from_json(doc, use, path)
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = load_private_key(path, use).public_key()
    return envelope.load_public_key_der(envelope.spki_der(key))


def _write_pem(path: Path, data: bytes, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_pem(key) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def keys_generate(*, out_dir: Path, force: bool = False, backup: Path | None = None, organization: str = "",
                  passphrase: str | None = None) -> dict:
    """keygen: two P-256 key pairs as PEM files in out_dir, and optionally the backup file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not force and any((out_dir / name).exists() for name in KEY_FILES):
        raise CommandError(f"{out_dir} already holds keys; use --force to replace them")
    if backup and not organization:
        raise CommandError("--backup needs --organization")
    enc = ec.generate_private_key(ec.SECP256R1())
    sign = ec.generate_private_key(ec.SECP256R1())
    for use, key in (("enc", enc), ("sign", sign)):
        _write_pem(out_dir / f"{use}-private.pem", _private_pem(key), private=True)
        _write_pem(out_dir / f"{use}-public.pem", _public_pem(key.public_key()), private=False)
    if backup:
        data = backup_write(
            enc_private=enc,
            sign_private=sign,
            organization=organization,
            passphrase=passphrase if passphrase is not None else _passphrase(confirm=True),
        )
        _write_pem(Path(backup), data, private=True)
    # These two fields are the body of POST /api/v1/bidder-keys.
    return {
        "enc_public_key": base64.b64encode(envelope.spki_der(enc.public_key())).decode(),
        "sign_public_key": base64.b64encode(envelope.spki_der(sign.public_key())).decode(),
        "enc_kid": envelope.kid_of(enc.public_key()),
        "sign_kid": envelope.kid_of(sign.public_key()),
    }


def cmd_keygen(args) -> dict:
    return keys_generate(out_dir=Path(args.out_dir), force=args.force,
                         backup=Path(args.backup) if args.backup else None, organization=args.organization or "")


# --- seal and inspect -----------------------------------------------------------------------


def _replace_on_success(path: str, write) -> None:
    """Run write(file) on a temporary file and move it to path only if it succeeds."""
    part = Path(path + ".part")
    try:
        with open(part, "wb") as f:
            write(f)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def bid_seal(*, opening_key: str, bidder_enc_key: str, bidder_sign_key: str, section: str, bidder: str,
             summary: dict, documents: str, out: str, chunk_size: int = envelope.DEFAULT_CHUNK_SIZE) -> dict:
    """seal: the envelope at out, and the digest and signature that the upload submits."""
    opening = load_public_key(opening_key)
    bidder_enc = load_public_key(bidder_enc_key, "enc")
    sign_key = load_private_key(bidder_sign_key, "sign")
    results = []

    def write(target):
        with open(documents, "rb") as source:
            results.append(
                envelope.seal(
                    out=target,
                    documents=source,
                    summary=summary,
                    section=section,
                    bidder=bidder,
                    opening_public_key=opening,
                    bidder_enc_public_key=bidder_enc,
                    chunk_size=chunk_size,
                )
            )

    _replace_on_success(out, write)
    digest = results[0].digest
    return {
        "digest": digest.hex(),
        "signature": base64.b64encode(envelope.sign_digest(digest, sign_key)).decode(),
        "size": results[0].size,
    }


def cmd_seal(args) -> dict:
    return bid_seal(opening_key=args.opening_key, bidder_enc_key=args.bidder_enc_key,
                    bidder_sign_key=args.bidder_sign_key, section=args.section, bidder=args.bidder,
                    summary=json.loads(Path(args.summary).read_text(encoding="utf-8")),
                    documents=args.documents, out=args.out, chunk_size=args.chunk_size)


def cmd_inspect(args) -> dict:
    if args.opening_kid is None and args.opening_key is None:
        raise CommandError("give --opening-kid or --opening-key")
    kid = args.opening_kid or envelope.kid_of(load_public_key(args.opening_key))
    with open(args.envelope, "rb") as f:
        result = envelope.inspect(
            f, section=args.section, bidder=args.bidder, opening_kid=kid, max_size=args.max_size
        )
    return {
        "digest": result.digest.hex(),
        "size": result.size,
        "frame_count": result.frame_count,
        "header": result.header,
    }


# --- unwrap and open ------------------------------------------------------------------------


def _read_header(path: str) -> dict:
    with open(path, "rb") as f:
        return envelope.read_header(f)


def k2_unwrap(*, envelope_path: str, enc_private) -> str:
    """unwrap-k2: the bidder's K2 from the envelope header, base64, as the room's decrypt command takes it."""
    return base64.b64encode(envelope.unwrap_key(_read_header(envelope_path), 1, enc_private)).decode()


def cmd_unwrap_k2(args) -> dict:
    return {"k2": k2_unwrap(envelope_path=args.envelope, enc_private=load_private_key(args.bidder_enc_key, "enc"))}


def _b64(value: str, name: str) -> bytes:
    try:
        data = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise CommandError(f"{name} is not base64") from exc
    if len(data) != 32:
        raise CommandError(f"{name} must be 32 bytes")
    return data


def cmd_open(args) -> dict:
    if args.k1:
        k1 = _b64(args.k1, "--k1")
    elif args.opening_private_key:
        key = load_private_key(args.opening_private_key, "enc")
        k1 = envelope.unwrap_key(_read_header(args.envelope), 0, key)
    else:
        raise CommandError("give --k1 or --opening-private-key")
    k2 = _b64(args.k2, "--k2")
    summaries = []

    def write(out):
        with open(args.envelope, "rb") as f:
            summaries.append(envelope.open_documents(f, out, k1=k1, k2=k2))

    _replace_on_success(args.out, write)
    return {"summary": summaries[0], "out": args.out}


# --- upload --------------------------------------------------------------------------------


def _envelope_digest(path: str) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.digest()


def cmd_upload(args) -> dict:
    from bidding.upload_client import UploadClient, UploadFailed

    token = os.environ.get(TOKEN_ENV) or os.environ.get(TOKEN_ENV_OLD, "")
    if not token:
        raise CommandError(f"set {TOKEN_ENV} to your API token")
    if bool(args.bidder_sign_key) == bool(args.digest or args.signature):
        raise CommandError("give --bidder-sign-key, or --digest and --signature as printed by seal")
    digest = _envelope_digest(args.envelope)
    if args.bidder_sign_key:
        key = load_private_key(args.bidder_sign_key, "sign")
        signature = base64.b64encode(envelope.sign_digest(digest, key)).decode()
    else:
        if not (args.digest and args.signature):
            raise CommandError("give both --digest and --signature")
        if args.digest.lower() != digest.hex():
            raise CommandError("--digest is not the SHA-256 of this envelope")
        signature = args.signature
    client = UploadClient(args.server, token)
    try:
        result = client.bid_upload(
            envelope=Path(args.envelope),
            section=args.section,
            digest_hex=digest.hex(),
            signature_b64=signature,
            parallel=args.parallel,
            chunk_size=args.chunk_size,
            max_chunks=args.max_chunks,
            progress=lambda done, count: print(f"{done}/{count} chunks", file=sys.stderr, flush=True),
        )
    except UploadFailed as exc:
        raise CommandError(f"{exc} (run the same command again to resume)") from None
    finally:
        if client.waits:
            print(f"the server was busy {len(client.waits)} time(s); tried again", file=sys.stderr)
    return result


# --- command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bidding.sealer", description="SBE1 sealed bid tool"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("keygen", help="make the encryption and signing key pairs")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--backup", help="also write a passphrase-protected backup file")
    p.add_argument("--organization", help="the credit code stored in the backup")
    p.add_argument("--force", action="store_true")
    p.set_defaults(run=cmd_keygen)

    p = sub.add_parser("seal", help="seal documents and the opening form")
    p.add_argument("--opening-key", required=True, help="PEM or the opening-key JSON")
    p.add_argument("--bidder-enc-key", required=True)
    p.add_argument("--bidder-sign-key", required=True)
    p.add_argument("--section", required=True)
    p.add_argument("--bidder", required=True)
    p.add_argument("--summary", required=True, help="JSON file with the opening form")
    p.add_argument("--documents", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--chunk-size", type=int, default=envelope.DEFAULT_CHUNK_SIZE)
    p.set_defaults(run=cmd_seal)

    p = sub.add_parser("inspect", help="check an envelope as the server does")
    p.add_argument("envelope")
    p.add_argument("--section", required=True)
    p.add_argument("--bidder", required=True)
    p.add_argument("--opening-kid")
    p.add_argument("--opening-key")
    p.add_argument("--max-size", type=int, default=1 << 40)
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("unwrap-k2", help="print K2 for the decryption window")
    p.add_argument("envelope")
    p.add_argument("--bidder-enc-key", required=True, help="PEM private key or backup file")
    p.set_defaults(run=cmd_unwrap_k2)

    p = sub.add_parser("open", help="decrypt the documents")
    p.add_argument("envelope")
    p.add_argument("--k1")
    p.add_argument("--opening-private-key")
    p.add_argument("--k2", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_open)

    p = sub.add_parser("upload", help="upload a sealed bid and submit it (parallel, resumable; token in SBE1_API_TOKEN)")
    p.add_argument("envelope")
    p.add_argument("--server", required=True, help="the platform's base URL")
    p.add_argument("--section", required=True)
    p.add_argument("--bidder-sign-key", help="PEM private key or backup file: signs the envelope's digest")
    p.add_argument("--digest", help="instead of --bidder-sign-key: the digest printed by seal")
    p.add_argument("--signature", help="instead of --bidder-sign-key: the signature printed by seal")
    p.add_argument("--parallel", type=int, default=4, help="chunks sent at once (1 to 8)")
    p.add_argument("--chunk-size", type=int, default=8 * 1024 * 1024, help="bytes per PUT (64 KiB to 8 MiB)")
    p.add_argument("--max-chunks", type=int, help="send at most this many chunks, then stop (resume later)")
    p.set_defaults(run=cmd_upload)
    return parser


def _configure_django() -> None:
    # Error messages are lazy translations; a bidder's machine has no project settings.
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_django()
    try:
        result = args.run(args)
    except (EnvelopeError, KeyBackupError) as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except (CommandError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
