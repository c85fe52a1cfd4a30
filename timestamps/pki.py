"""Key material of the timestamp authority (时间戳服务): a self-signed root CA and the TSA certificate.

The directory holds ``ca.pem``, ``tsa.pem`` and ``tsa.key`` (mode 0600). The CA private key is
used once to issue the TSA certificate and then thrown away, so nobody can mint a second TSA
certificate under the same root; renewing means a new directory and a new root.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CERT_FILE = "tsa.pem"
KEY_FILE = "tsa.key"
_FILES = (CA_FILE, CERT_FILE, KEY_FILE)

CA_VALIDITY = dt.timedelta(days=20 * 366)
TSA_VALIDITY = dt.timedelta(days=10 * 366)
ORGANIZATION = "Public Resource Trading Centre"


class TsaKeyError(Exception):
    """The key directory is missing, incomplete or holds unusable key material."""


@dataclass(frozen=True)
class TsaIdentity:
    """Loaded, checked TSA key and certificates, with the CMS pieces that never change."""

    directory: Path
    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey
    cert: x509.Certificate
    ca_cert: x509.Certificate
    cert_der: bytes
    certs_pem: bytes
    # DER pieces that are the same in every token, encoded once by asn1crypto.
    signer_id_der: bytes
    ess_attribute_der: bytes
    tsa_name_der: bytes


def ensure_tsa_keys(directory: Path) -> None:
    """Create the root CA, TSA certificate and key in ``directory`` unless they already exist."""
    key_files_ensure(directory, ca_file=CA_FILE, cert_file=CERT_FILE, key_file=KEY_FILE, issue=_issue_keys,
                     error=TsaKeyError, what="TSA")


def key_files_ensure(directory: Path, *, ca_file: str, cert_file: str, key_file: str,
                     issue: Callable[[], tuple[bytes, bytes, bytes]], error: type[Exception], what: str) -> None:
    """Create a CA certificate, a certificate and its key once, under a lock; never overwrite or complete a
    partial set (that would pair a key with the wrong certificate)."""
    directory = Path(directory)
    files = (ca_file, cert_file, key_file)
    if all((directory / name).exists() for name in files):
        return  # without touching the directory: production mounts it read-only
    directory.mkdir(parents=True, exist_ok=True)
    with _directory_lock(directory):
        present = [name for name in files if (directory / name).exists()]
        if len(present) == len(files):
            return
        if present:
            missing = sorted(set(files) - set(present))
            raise error(
                f"incomplete {what} key directory {directory}: missing {', '.join(missing)}; "
                "refusing to overwrite the files that exist"
            )
        ca_pem, cert_pem, key_pem = issue()
        # The key goes first so a crash never leaves a certificate without its key.
        _write_new(directory / key_file, key_pem, mode=0o600)
        _write_new(directory / cert_file, cert_pem, mode=0o644)
        _write_new(directory / ca_file, ca_pem, mode=0o644)


def load_tsa(directory: Path) -> TsaIdentity:
    """Load the TSA identity from ``directory``; cached per directory for the process lifetime."""
    key = os.fspath(directory)  # no resolve(): this sits on the per-token hot path
    identity = _cache.get(key)
    if identity is None:
        with _cache_lock:
            identity = _cache.get(key)
            if identity is None:
                identity = _load(Path(key))
                _cache[key] = identity
    return identity


def clear_tsa_cache() -> None:
    """Forget every loaded identity (after a key rotation, or between tests)."""
    with _cache_lock:
        _cache.clear()


def certs_pem(directory: Path) -> bytes:
    """The TSA certificate followed by its issuing CA certificate, in PEM."""
    return load_tsa(directory).certs_pem


_cache: dict[str, TsaIdentity] = {}
_cache_lock = threading.Lock()


def _load(directory: Path) -> TsaIdentity:
    try:
        key_pem = (directory / KEY_FILE).read_bytes()
        cert_pem = (directory / CERT_FILE).read_bytes()
        ca_pem = (directory / CA_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise TsaKeyError(f"TSA keys not found in {directory}; run `manage.py tsa_init`") from exc
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca_cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise TsaKeyError(f"unreadable TSA key material in {directory}: {exc}") from exc
    _check_identity(private_key, cert, ca_cert)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)

    cert_der = cert.public_bytes(serialization.Encoding.DER)
    asn1_cert = asn1_x509.Certificate.load(cert_der)
    issuer_serial = tsp.IssuerSerial(
        {
            "issuer": [asn1_x509.GeneralName({"directory_name": asn1_cert.issuer})],
            "serial_number": asn1_cert.serial_number,
        }
    )
    # ESS signingCertificateV2 (RFC 5035): binds the signature to exactly this certificate.
    ess = tsp.SigningCertificateV2(
        {
            "certs": [
                tsp.ESSCertIDv2(
                    {
                        "cert_hash": hashlib.sha256(cert_der).digest(),
                        "issuer_serial": issuer_serial,
                    }
                )
            ]
        }
    )
    return TsaIdentity(
        directory=directory,
        private_key=private_key,
        public_key=private_key.public_key(),
        cert=cert,
        ca_cert=ca_cert,
        cert_der=cert_der,
        certs_pem=cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM),
        signer_id_der=cms.SignerIdentifier(
            {
                "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                    {"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number}
                )
            }
        ).dump(),
        ess_attribute_der=cms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [ess]}
        ).dump(),
        tsa_name_der=asn1_x509.GeneralName({"directory_name": asn1_cert.subject}).dump(),
    )


def _check_identity(private_key: object, cert: x509.Certificate, ca_cert: x509.Certificate) -> None:
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise TsaKeyError("the TSA key must be an EC key")
    if private_key.public_key() != cert.public_key():
        raise TsaKeyError("tsa.key does not belong to tsa.pem")
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError) as exc:
        raise TsaKeyError(f"tsa.pem is not issued by ca.pem: {exc}") from exc
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as exc:
        raise TsaKeyError("tsa.pem has no extendedKeyUsage") from exc
    # RFC 3161 §2.3: the TSA certificate must carry only timeStamping, marked critical.
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TsaKeyError("tsa.pem must have a critical extendedKeyUsage of timeStamping only")


def _issue_keys() -> tuple[bytes, bytes, bytes]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(minutes=5)  # tolerate small clock skew of verifiers

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Gongjiao TSA Root CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Gongjiao Timestamp Authority"))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(now + TSA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    key_pem = tsa_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_cert.public_bytes(pem), tsa_cert.public_bytes(pem), key_pem


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial() -> int:
    return secrets.randbits(159) | 1  # positive, at most 20 octets (RFC 5280)


class _directory_lock:
    """An exclusive flock on ``directory/.lock``, so two concurrent ``tsa_init`` runs do not mix keys."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / ".lock"
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``path`` completely or not at all, and never replace an existing file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the process umask must not change the mode
        os.link(tmp, path)  # fails with FileExistsError rather than overwrite
    finally:
        tmp.unlink(missing_ok=True)
