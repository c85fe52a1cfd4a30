"""The offline verifier: ``python -m timestamps.verify receipt|pdf|ledger-anchor|anchors|archive ...``.

Needs only cryptography, asn1crypto, pyHanko and the published certificates; no Django, no database,
no network. Prints one line per check and exits 1 if any check fails (2 on bad usage or unreadable files).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from pathlib import Path

from timestamps.evidence import anchors_read, anchors_verify, archive_verify
from timestamps.verification import (
    Verdict,
    anchor_verify,
    hex_digest_read,
    pdf_verify,
    receipt_json_read,
    receipt_verify,
)

TSA_CERTS = "certs.pem"
SEAL_CA = "seal-ca.pem"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # pyHanko logs what our checks already report
    try:
        verdict = args.run(args)
    except (OSError, ValueError) as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 2
    _print(verdict)
    return 0 if verdict.ok else 1


def _receipt(args: argparse.Namespace) -> Verdict:
    raw = args.file.read_bytes()
    digest = None
    if args.file.suffix == ".json":
        token, digest = receipt_json_read(raw)
    else:
        token = raw
    data_sha256 = _sha256_file(args.data) if args.data else None
    if args.digest:
        digest = hex_digest_read(args.digest)
    return receipt_verify(token=token, certs_pem=_beside(args.certs, args.file, TSA_CERTS),
                          data_sha256=data_sha256, digest=digest)


def _pdf(args: argparse.Namespace) -> Verdict:
    return pdf_verify(pdf=args.file.read_bytes(), seal_ca_pem=_beside(args.seal_ca, args.file, SEAL_CA),
                      tsa_certs_pem=_beside(args.certs, args.file, TSA_CERTS))


def _anchor(args: argparse.Namespace) -> Verdict:
    segment = args.segment.read_bytes() if args.segment else None
    return anchor_verify(anchor=args.file.read_bytes(), certs_pem=_beside(args.certs, args.file, TSA_CERTS),
                         segment=segment)


def _anchors(args: argparse.Namespace) -> Verdict:
    ledger = None
    if args.export:
        path = args.export / "ledger.jsonl" if args.export.is_dir() else args.export
        ledger = path.read_bytes()
    return anchors_verify(anchors=anchors_read(args.file.read_bytes()),
                          certs_pem=_beside(args.certs, args.file, TSA_CERTS), ledger=ledger)


def _archive(args: argparse.Namespace) -> Verdict:
    return archive_verify(archive=args.file.read_bytes(), certs_pem=_beside(args.certs, args.file, TSA_CERTS))


def _beside(given: Path | None, input_file: Path, name: str) -> bytes:
    """The certificate file given, else the one of that name beside the input."""
    path = given or input_file.parent / name
    if not path.is_file():
        raise ValueError(f"certificate file {path} not found (give it with --certs / --seal-ca)")
    return path.read_bytes()


def _sha256_file(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def _print(verdict: Verdict) -> None:
    for check in verdict.checks:
        print(f"{'OK  ' if check.ok else 'FAIL'} {check.code}: {check.detail}")
    for role, subject, print_ in verdict.certificates:
        print(f"     {role} certificate {subject} SHA-256 {print_}")
    if verdict.signed_at:
        print(f"     signed at {verdict.signed_at.isoformat()}")
    print("VERIFIED" if verdict.ok else "NOT VERIFIED")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m timestamps.verify", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)

    receipt = commands.add_parser("receipt", help="a bid receipt: .tsr or receipt.json")
    receipt.add_argument("file", type=Path)
    given = receipt.add_mutually_exclusive_group()
    given.add_argument("--data", type=Path, help="the sealed envelope file (.sbe)")
    given.add_argument("--digest", help="the envelope's SHA-256 in hex")
    receipt.add_argument("--certs", type=Path, help=f"the TSA chain (default: {TSA_CERTS} beside the file)")
    receipt.set_defaults(run=_receipt)

    pdf = commands.add_parser("pdf", help="a sealed PDF: receipt, opening record, report, notice")
    pdf.add_argument("file", type=Path)
    pdf.add_argument("--seal-ca", type=Path, help=f"the seal CA (default: {SEAL_CA} beside the file)")
    pdf.add_argument("--certs", type=Path, help=f"the TSA chain (default: {TSA_CERTS} beside the file)")
    pdf.set_defaults(run=_pdf)

    anchor = commands.add_parser("ledger-anchor", help="a ledger anchor (anchor.json) and an export segment")
    anchor.add_argument("file", type=Path)
    anchor.add_argument("--segment", type=Path, help="a ledger export (JSON lines) ending at or after the anchor")
    anchor.add_argument("--certs", type=Path, help=f"the TSA chain (default: {TSA_CERTS} beside the file)")
    anchor.set_defaults(run=_anchor)

    anchors = commands.add_parser("anchors", help="the published anchor list (GET /api/v1/ledger/anchors)")
    anchors.add_argument("file", type=Path)
    anchors.add_argument("--export", type=Path, help="a ledger export (directory or ledger.jsonl) from entry 1: "
                                                     "checks that each anchor extends the one before")
    anchors.add_argument("--certs", type=Path, help=f"the TSA chain (default: {TSA_CERTS} beside the file)")
    anchors.set_defaults(run=_anchors)

    archive = commands.add_parser("archive", help="a section archive (电子档案, .zip)")
    archive.add_argument("file", type=Path)
    archive.add_argument("--certs", type=Path, help=f"the TSA chain (default: {TSA_CERTS} beside the file)")
    archive.set_defaults(run=_archive)
    return parser


if __name__ == "__main__":
    sys.exit(main())
