"""The certificates a verifier needs, as the platform publishes them (/tsa/certs.pem, /tsa/seal-ca.pem)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from timestamps.docsign import CA_FILE as SEAL_CA_FILE
from timestamps.docsign import ensure_signing_keys, signing_dir
from timestamps.pki import certs_pem, ensure_tsa_keys
from timestamps.verification import fingerprint, load_certificates

TSA_CERTS_PATH = "/tsa/certs.pem"
SEAL_CA_PATH = "/tsa/seal-ca.pem"


def tsa_chain_pem() -> bytes:
    """The TSA certificate followed by its issuing CA."""
    if not settings.PRODUCTION:  # production keys come from mounted files
        ensure_tsa_keys(Path(settings.TSA_DIR))
    return certs_pem(Path(settings.TSA_DIR))


def seal_ca_pem() -> bytes:
    """The CA that issues the platform's PDF seal (电子签章) certificate."""
    directory = signing_dir()
    if not settings.PRODUCTION:
        ensure_signing_keys(directory)
    return (directory / SEAL_CA_FILE).read_bytes()


@dataclass(frozen=True)
class PublishedCertificate:
    role: str  # "tsa", "tsa_ca" or "seal_ca"
    path: str
    subject: str
    fingerprint: str


def published_certificates() -> list[PublishedCertificate]:
    tsa_cert, tsa_ca = load_certificates(tsa_chain_pem())
    (seal_ca,) = load_certificates(seal_ca_pem())
    return [PublishedCertificate(role, path, cert.subject.rfc4514_string(), fingerprint(cert))
            for role, path, cert in (("tsa", TSA_CERTS_PATH, tsa_cert), ("tsa_ca", TSA_CERTS_PATH, tsa_ca),
                                     ("seal_ca", SEAL_CA_PATH, seal_ca))]
