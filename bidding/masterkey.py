"""The platform master key that wraps opening keys. It lives in a file or the environment, never in the database.

By default the file sits beside the data folder, never inside it (docs/decisions/0024): with
PLATFORM_VAR_DIR=var the database is var/db.sqlite3 and the key var-keys/master.key, so copying the data
folder does not take the key that opens its sealed bids. A key left inside the data folder by an older
version (var/keys/master.key or var/master.key) is moved out on first use, never replaced by a new one.
"""

import base64
import logging
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MasterKeyFile:
    path: Path
    moved_from: Path | None = None
    created: bool = False


def master_key_legacy_files() -> list[Path]:
    """Where older versions kept the key by default: inside the data folder, next to the database."""
    var_dir = Path(settings.VAR_DIR)
    return [var_dir / "keys" / "master.key", var_dir / "master.key"]


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move(legacy: Path, path: Path) -> bool:
    """Copy, fsync, link into place without clobbering, check, and only then delete the old file."""
    try:
        content = legacy.read_bytes()
    except FileNotFoundError:
        return False  # another process moved it first
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process moved it first; both copies came from the same file
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)
    if path.read_bytes() != content:
        raise ImproperlyConfigured(f"{path} differs from the master key in {legacy}; neither was removed")
    legacy.unlink(missing_ok=True)
    return True


def _create(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode())
        handle.flush()
        os.fsync(handle.fileno())


def master_key_file_ensure() -> MasterKeyFile:
    """The master key file, moved out of the data folder or created (embedded profile) if need be."""
    path = Path(settings.MASTER_KEY_FILE)
    default = path == Path(settings.MASTER_KEY_DEFAULT_FILE)
    legacy = [p for p in master_key_legacy_files() if p.exists()] if default else []
    if path.exists():
        for stale in legacy:
            log.warning("an old copy of the master key is still inside the data folder: %s (the key in use is %s)",
                        stale, path)
        return MasterKeyFile(path)
    if legacy or not settings.PRODUCTION:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in legacy:
        if _move(old, path):
            log.warning("moved the master key out of the data folder: %s -> %s", old, path)
            return MasterKeyFile(path, moved_from=old)
    if path.exists():
        return MasterKeyFile(path)
    if settings.PRODUCTION:
        raise ImproperlyConfigured(f"MASTER_KEY_FILE {path} does not exist")
    try:
        _create(path)
    except FileExistsError:
        return MasterKeyFile(path)
    return MasterKeyFile(path, created=True)


@lru_cache(maxsize=4)
def _load(path_text: str) -> bytes:
    path = master_key_file_ensure().path
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
