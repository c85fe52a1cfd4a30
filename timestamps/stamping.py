"""In-process timestamps from the platform's own TSA."""

from django.conf import settings

from timestamps.pki import ensure_tsa_keys
from timestamps.tsa import timestamp_digest, verify_token

_ready: set[str] = set()


def _directory():
    directory = settings.TSA_DIR
    if str(directory) not in _ready:
        if not settings.PRODUCTION:
            ensure_tsa_keys(directory)  # production keys come from mounted files
        _ready.add(str(directory))
    return directory


def stamp(digest: bytes) -> bytes:
    """A DER TimeStampToken over a SHA-256 digest."""
    return timestamp_digest(digest, directory=_directory())


def stamp_valid(token: bytes, digest: bytes) -> bool:
    try:
        verify_token(token, digest, directory=_directory())
    except Exception:
        return False
    return True


def seal_pdf(pdf: bytes, *, reason: str) -> bytes:
    """Sign a PDF with the platform's document seal (R34), timestamped by our TSA."""
    from timestamps.docsign import ensure_signing_keys, sign_pdf, signing_dir

    _directory()
    if not settings.PRODUCTION:
        ensure_signing_keys(signing_dir())
    return sign_pdf(pdf, reason=reason)
