"""Evidence anyone can check (可独立验证的证据): receipts, sealed PDFs and ledger anchors.

Pure functions over bytes and published certificates: no Django, no database, no network. The
offline verifier (``python -m timestamps.verify``) and the public page ``/verify/`` both call them,
so the two always agree. Each function returns a ``Verdict``: one ``Check`` per step, in order.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from timestamps.chain import canonical_json, entry_hash
from timestamps.tokens import TimestampError, _check_signature, _open_token, _token_info
from timestamps.tsa import POLICY_OID

ENTRY_FIELDS = ("seq", "at", "actor", "ip", "action", "object", "data")


@dataclass(frozen=True)
class Check:
    """One step of a verification: ``code`` is stable (the web page translates it), ``detail`` says what was found."""

    code: str
    ok: bool
    detail: str


@dataclass
class Verdict:
    kind: str
    checks: list[Check] = field(default_factory=list)
    signed_at: dt.datetime | None = None
    # What the evidence was checked against: (role, subject, SHA-256 fingerprint) per certificate.
    certificates: list[tuple[str, str, str]] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def add(self, code: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(code, ok, detail))
        return ok


class _Stop(Exception):
    """A failed check after which the remaining ones cannot be made."""


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as colon-separated uppercase hex (what openssl -fingerprint prints)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


# -- receipts (RFC 3161) -----------------------------------------------------------------------


@dataclass(frozen=True)
class _TsaCertificate:
    """What tokens._check_signature needs of a TSA, taken from a published certificate only."""

    cert: x509.Certificate
    cert_der: bytes
    public_key: ec.EllipticCurvePublicKey
    signer_id_der: bytes


def _tsa_chain(verdict: Verdict, certs_pem: bytes) -> _TsaCertificate:
    certs = load_certificates(certs_pem)
    tsa = [c for c in certs if _is_timestamping(c)]
    roots = [c for c in certs if _is_self_signed_ca(c)]
    if len(tsa) != 1 or not roots:
        verdict.add("chain", False, "the certificate file must hold the TSA certificate and its issuing CA")
        raise _Stop
    cert, root = tsa[0], None
    for candidate in roots:
        try:
            cert.verify_directly_issued_by(candidate)
            root = candidate
        except Exception:  # InvalidSignature, or a key type that cannot have signed it
            continue
    if root is None:
        verdict.add("chain", False, f"the TSA certificate ({_subject(cert)}) is not issued by the given CA")
        raise _Stop
    verdict.certificates += [("TSA", _subject(cert), fingerprint(cert)), ("TSA CA", _subject(root), fingerprint(root))]
    verdict.add("chain", True, f"TSA certificate {_subject(cert)} is issued by CA {fingerprint(root)}")
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        verdict.add("chain", False, "the TSA key is not an EC key")
        raise _Stop
    der = cert.public_bytes(serialization.Encoding.DER)
    asn1_cert = asn1_x509.Certificate.load(der)
    signer_id = cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
        {"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number})})
    return _TsaCertificate(cert, der, public_key, signer_id.dump())


def _is_timestamping(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return eku.critical and ExtendedKeyUsageOID.TIME_STAMPING in eku.value


def _is_self_signed_ca(cert: x509.Certificate) -> bool:
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        cert.verify_directly_issued_by(cert)
    except Exception:  # not a CA, or not self-signed
        return False
    return ca


def receipt_verify(*, token: bytes, certs_pem: bytes, data_sha256: bytes | None = None,
                   digest: bytes | None = None) -> Verdict:
    """Check an RFC 3161 token (.tsr or bare) stamps ``digest`` (or the SHA-256 of the data) under the given TSA chain."""
    verdict = Verdict("receipt")
    expected = data_sha256 if data_sha256 is not None else digest
    try:
        tsa = _tsa_chain(verdict, certs_pem)
        try:
            signed_data, tst_der, tst = _open_token(token)
            info = _token_info(tst)
        except TimestampError as exc:
            verdict.add("token", False, f"{exc} (a damaged or truncated file?)")
            raise _Stop from exc
        verdict.add("token", True, f"RFC 3161 token, serial {info.serial}, {info.hash_name}")
        verdict.signed_at = info.gen_time
        verdict.facts.update(serial=str(info.serial), stamped_digest=info.digest.hex())
        verdict.add("policy", info.policy == POLICY_OID, f"policy {info.policy}")
        if expected is None:
            verdict.add("digest", False, "neither the envelope file nor its digest was given")
        elif info.hash_name != "sha256" or not hmac.compare_digest(info.digest, expected):
            verdict.add("digest", False, f"the token stamps {info.digest.hex()}, not {expected.hex()}")
        else:
            verdict.add("digest", True, f"the token stamps SHA-256 {expected.hex()}")
        try:
            _check_signature(tsa, signed_data, tst_der)
            verdict.add("signature", True, "the token is signed by the TSA certificate")
        except TimestampError as exc:
            verdict.add("signature", False, str(exc))
        valid = tsa.cert.not_valid_before_utc <= info.gen_time <= tsa.cert.not_valid_after_utc
        verdict.add("validity", valid, f"stamped at {info.gen_time.isoformat()}, inside the TSA certificate's validity"
                    if valid else f"stamped at {info.gen_time.isoformat()}, outside the TSA certificate's validity")
    except _Stop:
        pass
    return verdict


def receipt_json_read(raw: bytes) -> tuple[bytes, bytes]:
    """The token and digest of a receipt.json (DESIGN.md §11 shape); ValueError if it is not one."""
    try:
        receipt = json.loads(raw)
        return base64.b64decode(receipt["timestamp_token"], validate=True), bytes.fromhex(receipt["digest"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError("not a receipt.json: needs timestamp_token (base64) and digest (hex)") from exc


def hex_digest_read(text: str) -> bytes:
    """A 64-hex-character SHA-256 digest; ValueError otherwise."""
    text = text.strip().lower()
    if len(text) != 64:
        raise ValueError("a SHA-256 digest is 64 hexadecimal characters")
    return bytes.fromhex(text)


# -- sealed PDFs (PAdES) -----------------------------------------------------------------------


def pdf_verify(*, pdf: bytes, seal_ca_pem: bytes, tsa_certs_pem: bytes) -> Verdict:
    """Check a sealed PDF: signature valid, file unmodified since, signer chains to the seal CA, timestamp valid."""
    # pyHanko is slow to import and only PDFs need it.
    from timestamps.docsign import verify_pdf_against

    verdict = Verdict("pdf")
    seal_roots = [c for c in load_certificates(seal_ca_pem) if _is_self_signed_ca(c)]
    tsa_roots = [c for c in load_certificates(tsa_certs_pem) if _is_self_signed_ca(c)]
    if len(seal_roots) != 1 or len(tsa_roots) != 1:
        verdict.add("certificates", False, "need exactly one seal CA certificate and one TSA CA certificate")
        return verdict
    seal_ca, tsa_ca = seal_roots[0], tsa_roots[0]
    verdict.certificates += [("Seal CA", _subject(seal_ca), fingerprint(seal_ca)),
                             ("TSA CA", _subject(tsa_ca), fingerprint(tsa_ca))]

    def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    report = verify_pdf_against(pdf, seal_ca=asn1(seal_ca), tsa_ca=asn1(tsa_ca))
    for code, ok, detail in report.checks:
        verdict.add(code, ok, detail)
    verdict.signed_at = report.signed_at
    if report.signer:
        verdict.facts["signer"] = report.signer
    attachments = pdf_attachments(pdf)
    if COSIGN_FILE in attachments:
        cosign_check(verdict, attachments)
    return verdict


# -- co-signatures embedded in a sealed PDF (opening record, ADR 0032) --------------------------

COSIGN_FILE = "cosignatures.json"
COSIGN_FORMAT = "sbe1-record-cosign/1"


def pdf_attachments(pdf: bytes) -> dict[str, bytes]:
    """The PDF's embedded files by name; empty for a PDF without any or one that cannot be read."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    found: dict[str, bytes] = {}

    def resolved(value):
        return value.get_object() if hasattr(value, "get_object") else value

    def walk(node) -> None:
        names = resolved(node.get("/Names")) or []
        for i in range(0, len(names) - 1, 2):
            spec = resolved(names[i + 1])
            embedded = resolved(resolved(spec.get("/EF", {})).get("/F"))
            if embedded is not None:
                found[str(resolved(names[i]))] = embedded.data
        for kid in resolved(node.get("/Kids")) or []:
            walk(resolved(kid))

    try:
        root = PdfFileReader(io.BytesIO(pdf), strict=False).root
        tree = resolved(resolved(root.get("/Names", {})).get("/EmbeddedFiles"))
        if tree is not None:
            walk(tree)
    except Exception:  # a PDF pyHanko cannot read has no attachments we could vouch for
        return {}
    return found


def cosign_message(section: str, record_sha256: str) -> bytes:
    """What each party signed: the same bytes bidding.room.record.cosign_message builds."""
    return f"SBE1-RECORD-CONFIRM\n{section}\n{record_sha256}".encode()


def cosign_check(verdict: Verdict, attachments: dict[str, bytes]) -> None:
    """Each co-signature over the embedded draft: key fingerprint, then ECDSA P-256 / SHA-256."""
    try:
        document = json.loads(attachments[COSIGN_FILE])
        section, record_sha256 = str(document["section"]), str(document["record_sha256"])
        draft_name, entries = str(document["draft"]), list(document["signatures"])
        ok_format = document.get("format") == COSIGN_FORMAT
    except (ValueError, KeyError, TypeError):
        verdict.add("cosign", False, f"{COSIGN_FILE} is not a co-signature document")
        return
    if not verdict.add("cosign", ok_format, f"{COSIGN_FILE}: {len(entries)} parties, format {document.get('format')}"):
        return
    draft = attachments.get(draft_name)
    digest = hashlib.sha256(draft).hexdigest() if draft is not None else None
    if not verdict.add("cosign-draft", digest == record_sha256,
                       f"{draft_name} SHA-256 {digest or 'missing'}, signed {record_sha256}"):
        return
    message = cosign_message(section, record_sha256)
    for entry in entries:
        label = f"{entry.get('role')} {entry.get('signer')}"
        if entry.get("status") != "signed":
            verdict.facts[f"cosign: {label}"] = str(entry.get("status"))
            continue
        verdict.add("cosign-signature", *_cosignature(entry, message, label))


def _cosignature(entry: dict, message: bytes, label: str) -> tuple[bool, str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes

    try:
        der = base64.b64decode(entry["public_key"], validate=True)
        signature = base64.b64decode(entry["signature"], validate=True)
        public_key = serialization.load_der_public_key(der)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return False, f"{label}: no readable public key or signature"
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
        return False, f"{label}: not a P-256 key"
    kid = hashlib.sha256(der).hexdigest()
    if kid != entry.get("kid"):
        return False, f"{label}: key fingerprint {kid} differs from the listed {entry.get('kid')}"
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False, f"{label}: the signature does not verify (key {kid[:16]})"
    return True, f"{label}: signature valid (key {kid})"


# -- ledger anchors ----------------------------------------------------------------------------


def anchor_verify(*, anchor: bytes, certs_pem: bytes, segment: bytes | None = None) -> Verdict:
    """Check a ledger anchor's token over its head hash and, if given, that an export segment chains to it."""
    verdict = Verdict("ledger-anchor")
    try:
        record = json.loads(anchor)
        seq, head_hash = int(record["seq"]), str(record["head_hash"])
        token = base64.b64decode(record["token"], validate=True)
        head = bytes.fromhex(head_hash)
    except (ValueError, KeyError, TypeError, binascii.Error):
        verdict.add("anchor", False, "not an anchor file: needs seq, head_hash (hex) and token (base64)")
        return verdict
    verdict.add("anchor", True, f"anchor at entry {seq}, head {head_hash}")
    stamped = receipt_verify(token=token, certs_pem=certs_pem, digest=head)
    verdict.checks += stamped.checks
    verdict.certificates, verdict.signed_at = stamped.certificates, stamped.signed_at
    if segment is not None:
        code, ok, detail = _segment_check(segment, seq=seq, head_hash=head_hash)
        verdict.add(code, ok, detail)
    return verdict


def _segment_check(segment: bytes, *, seq: int, head_hash: str) -> tuple[str, bool, str]:
    prev_hash, expected_seq, reached = None, None, False
    for number, line in enumerate(segment.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            body = {name: entry[name] for name in ENTRY_FIELDS}
            entry_seq, entry_prev, entry_own = int(entry["seq"]), str(entry["prev_hash"]), str(entry["hash"])
        except (ValueError, KeyError, TypeError):
            return "segment", False, f"line {number} is not a ledger entry"
        if expected_seq is not None and entry_seq != expected_seq:
            return "segment", False, f"entry {expected_seq} is missing (line {number} holds entry {entry_seq})"
        if prev_hash is not None and entry_prev != prev_hash:
            return "segment", False, f"entry {entry_seq} does not follow entry {entry_seq - 1}"
        if entry_hash(entry_prev, json.loads(canonical_json(body))) != entry_own:
            return "segment", False, f"entry {entry_seq} was changed"
        if entry_seq == seq:
            if entry_own != head_hash:
                return "segment", False, f"entry {seq} does not match the anchored head hash"
            reached = True
        prev_hash, expected_seq = entry_own, entry_seq + 1
    if not reached:
        return "segment", False, f"the segment does not reach the anchored entry {seq}"
    return "segment", True, f"the segment chains up to the anchored entry {seq}"
