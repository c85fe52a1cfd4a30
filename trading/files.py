"""The file store for tender documents and bid files (local disk by default)."""

from pathlib import Path

from django.conf import settings


def stored_path(relative: str) -> Path:
    root = settings.FILE_STORE_DIR.resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError("path escapes the file store")
    return path


def open_stored(relative: str):
    return open(stored_path(relative), "rb")
