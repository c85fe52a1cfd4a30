"""The platform's document seal (平台电子签章): PAdES signatures on official PDFs (R34).

``sign_pdf`` adds a PAdES B-T signature: ECDSA P-256 by the platform's document-signing
certificate, with a signature timestamp issued in-process by our own TSA (``timestamps.tsa``).
``verify_pdf`` checks integrity, the chain to the platform signing CA, and the timestamp's chain
to the TSA CA. Both use pyHanko.

The key directory holds ``signing-ca.pem``, ``signing.pem`` and ``signing.key`` (mode 0600).
As for the TSA, the CA private key issues the one signing certificate and is then thrown away,
so no second certificate can ever chain to the same root.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import cms, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from timestamps import tsa

# Reused from pki so both key directories are written the same careful way.
from timestamps.pki import ORGANIZATION, key_files_ensure, load_tsa

CA_FILE = "signing-ca.pem"
CERT_FILE = "signing.pem"
KEY_FILE = "signing.key"

CA_VALIDITY = dt.timedelta(days=20 * 366)
CERT_VALIDITY = dt.timedelta(days=10 * 366)
CA_COMMON_NAME = "Gongjiao Document Signing Root CA"
SIGNER_COMMON_NAME = "Gongjiao Platform Document Seal"
PLATFORM_NAME = "公共资源交易平台"

T = TypeVar("T")


class SigningKeyError(Exception):
    """The signing key directory is missing, incomplete or holds unusable key material."""


class DocumentSignError(Exception):
    """The PDF could not be signed (unreadable input, or the TSA refused)."""


@dataclass(frozen=True)
class SignatureReport:
    """What ``verify_pdf`` found; ``valid`` is the bottom line, ``problems`` says why not."""

    valid: bool
    intact: bool
    signer: str
    signed_at: dt.datetime | None
    timestamp_valid: bool
    problems: list[str] = field(default_factory=list)
    # (check name, passed, what it found), in the order they were made
    checks: list[tuple[str, bool, str]] = field(default_factory=list, compare=False)


@dataclass(frozen=True)
class _SigningIdentity:
    signer: signers.SimpleSigner
    cert: asn1_x509.Certificate
    ca_cert: asn1_x509.Certificate


# -- keys --------------------------------------------------------------------------------------


def signing_dir() -> Path:
    """``settings.SIGNING_DIR`` if set, else ``settings.TSA_DIR / "signing"``."""
    from django.conf import settings

    configured = settings.SIGNING_DIR
    return Path(configured) if configured else Path(settings.TSA_DIR) / "signing"


def _tsa_dir() -> Path:
    from django.conf import settings

    return Path(settings.TSA_DIR)


def ensure_signing_keys(directory: Path) -> None:
    """Create the signing CA, certificate and key in ``directory`` unless they already exist."""
    key_files_ensure(directory, ca_file=CA_FILE, cert_file=CERT_FILE, key_file=KEY_FILE, issue=_issue_keys,
                     error=SigningKeyError, what="signing")


def _load_identity(directory: Path) -> _SigningIdentity:
    try:
        key_pem = (directory / KEY_FILE).read_bytes()
        cert_pem = (directory / CERT_FILE).read_bytes()
        ca_pem = (directory / CA_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise SigningKeyError(
            f"document signing keys not found in {directory}; run `manage.py tsa_init`"
        ) from exc
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca_cert = x509.load_pem_x509_certificate(ca_pem)
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"unusable signing key material in {directory}: {exc}") from exc
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise SigningKeyError("the document signing key must be an EC key")
    if private_key.public_key() != cert.public_key():
        raise SigningKeyError(f"{KEY_FILE} does not belong to {CERT_FILE}")

    der = serialization.Encoding.DER
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(der))
    asn1_ca = asn1_x509.Certificate.load(ca_cert.public_bytes(der))
    asn1_key = keys.PrivateKeyInfo.load(
        private_key.private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_cert,
        signing_key=asn1_key,
        cert_registry=SimpleCertificateStore.from_certs([asn1_ca]),
    )
    return _SigningIdentity(signer=signer, cert=asn1_cert, ca_cert=asn1_ca)


def _issue_keys() -> tuple[bytes, bytes, bytes]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(minutes=5)  # tolerate small clock skew of verifiers

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(CA_COMMON_NAME)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_COMMON_NAME))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # nonRepudiation (contentCommitment): pyHanko requires it of a document signer.
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_cert.public_bytes(pem), cert.public_bytes(pem), key_pem


def _key_usage(**granted: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(**{**flags, **granted})


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


# -- signing -----------------------------------------------------------------------------------


class PlatformTimeStamper(TimeStamper):
    """pyHanko timestamper backed by our own TSA, called in-process instead of over HTTP."""

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__(include_nonce=True)
        self._directory = directory

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        nonce, _ = self.request_cms(message_digest, md_algorithm)
        try:
            token = tsa.timestamp_digest(
                message_digest, hash_name=md_algorithm, nonce=nonce, directory=self._directory
            )
        except tsa.TimestampError as exc:
            raise DocumentSignError(f"the platform TSA refused: {exc}") from exc
        return cms.ContentInfo.load(token)


def sign_pdf(
    pdf_bytes: bytes,
    *,
    reason: str,
    location: str = PLATFORM_NAME,
    field_name: str = "PlatformSeal",
) -> bytes:
    """Seal a PDF for the platform: PAdES B-T, timestamped by our TSA; returns the signed PDF."""
    identity = _load_identity(signing_dir())
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        name=PLATFORM_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = signers.PdfSigner(meta, signer=identity.signer, timestamper=PlatformTimeStamper())
    output = io.BytesIO()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        _run(pdf_signer.async_sign_pdf(writer, output=output))
    except (PdfError, SigningError) as exc:
        raise DocumentSignError(f"cannot sign this PDF: {exc}") from exc
    return output.getvalue()


# -- verifying ---------------------------------------------------------------------------------


def verify_pdf(pdf_bytes: bytes) -> SignatureReport:
    """Check the PDF's last signature against the platform's signing CA and TSA CA."""
    identity = _load_identity(signing_dir())
    tsa_ca = asn1_x509.Certificate.load(
        load_tsa(_tsa_dir()).ca_cert.public_bytes(serialization.Encoding.DER)
    )
    return verify_pdf_against(pdf_bytes, seal_ca=identity.ca_cert, tsa_ca=tsa_ca)


def verify_pdf_against(
    pdf_bytes: bytes, *, seal_ca: asn1_x509.Certificate, tsa_ca: asn1_x509.Certificate
) -> SignatureReport:
    """Check the PDF's last signature against the given seal CA and TSA CA; no Django, no network."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises PdfReadError, ValueError, KeyError... on junk
        return _invalid(f"not a readable PDF: {exc}", check="pdf")
    if not embedded:
        return _invalid("the PDF carries no signature", check="pdf")

    # Separate roots: only the seal certificate may sign, only the TSA certificate may stamp.
    signer_context = _validation_context(seal_ca)
    ts_context = _validation_context(tsa_ca)
    sig = embedded[-1]
    try:
        status = _run(
            async_validate_pdf_signature(
                sig, signer_validation_context=signer_context, ts_validation_context=ts_context
            )
        )
    except Exception as exc:  # a mangled CMS blob or byte range surfaces as many error types
        return _invalid(f"signature {sig.field_name!r} cannot be validated: {exc}", check="signature")
    return _report(status, field_name=sig.field_name)


def _report(status: PdfSignatureStatus, *, field_name: str) -> SignatureReport:
    ts = status.timestamp_validity
    timestamp_valid = bool(ts and ts.intact and ts.valid and ts.trusted)
    indic = status.trust_problem_indic
    checks = [
        ("intact", bool(status.intact), "the signed bytes are unchanged",
         "the signed bytes were altered after signing (digest mismatch)"),
        ("signature", bool(status.valid), "the signature value verifies",
         "the signature value does not verify"),
        ("chain", bool(status.trusted),
         "the signer certificate chains to the seal CA",
         "the signer certificate does not chain to the platform signing CA"
         + (f" ({indic.standard_name})" if indic else "")),
        ("coverage", status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
         "the signature covers the whole file",
         f"content was added after signature {field_name!r} (incremental update)"),
        ("timestamp", timestamp_valid, "the signature timestamp verifies against the TSA",
         "the signature has no timestamp" if ts is None
         else "the signature timestamp does not verify against the platform TSA"),
    ]
    if not (status.intact and status.valid):
        del checks[2]  # trust is meaningless for a broken signature
    problems = [bad for _, ok, _, bad in checks if not ok]
    subject = status.signing_cert.subject.native
    return SignatureReport(
        valid=not problems,
        intact=bool(status.intact),
        signer=subject.get("common_name", status.signing_cert.subject.human_friendly),
        signed_at=ts.timestamp if ts else status.signer_reported_dt,
        timestamp_valid=timestamp_valid,
        problems=problems,
        checks=[(name, ok, good if ok else bad) for name, ok, good, bad in checks],
    )


def _validation_context(root: asn1_x509.Certificate) -> ValidationContext:
    # Our certificates carry no CRL or OCSP pointers: revocation is by key-directory rotation.
    return ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")


def _invalid(problem: str, *, check: str) -> SignatureReport:
    return SignatureReport(
        valid=False,
        intact=False,
        signer="",
        signed_at=None,
        timestamp_valid=False,
        problems=[problem],
        checks=[(check, False, problem)],
    )


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run pyHanko's coroutine to completion, also when called from inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


__all__ = [
    "CA_FILE",
    "CERT_FILE",
    "KEY_FILE",
    "DocumentSignError",
    "PlatformTimeStamper",
    "SignatureReport",
    "SigningKeyError",
    "ensure_signing_keys",
    "sign_pdf",
    "signing_dir",
    "verify_pdf",
    "verify_pdf_against",
]
