"""The platform master key that wraps opening keys. It lives in a file or the environment, never in the database."""

import base64
import os
import secrets
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _load(path_text: str) -> bytes:
    from pathlib import Path

    path = Path(path_text)
    if not path.exists():
        if settings.PRODUCTION:
            raise ImproperlyConfigured(f"MASTER_KEY_FILE {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)).decode())
    key = base64.b64decode(path.read_text().strip())
    if len(key) != 32:
        raise ImproperlyConfigured("the master key must be 32 bytes, base64-encoded")
    return key


def master_key() -> bytes:
    raw = os.environ.get("MASTER_KEY")
    if raw:
        key = base64.b64decode(raw)
        if len(key) != 32:
            raise ImproperlyConfigured("MASTER_KEY must be 32 bytes, base64-encoded")
        return key
    return _load(str(settings.MASTER_KEY_FILE))
