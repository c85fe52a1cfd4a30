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
