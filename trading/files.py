"""The file store: tender documents, bid envelopes, upload chunks, records and decrypted documents.

Everything is addressed by a relative name ("bids/<section>/<bid>.sbe") in the Django storage named
"filestore" (settings.STORAGES). Local disk under FILE_STORE_DIR is the default; FILE_STORAGE=s3 puts the
same names in an S3-compatible bucket (trading/files_s3.py). Both backends stream: reads and writes hold
at most one part in memory, and a write is published whole or not at all.
"""

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

BLOCK = 1024 * 1024


def file_store():
    return storages["filestore"]


def clean_name(name: str) -> str:
    """A relative name with no way out of the store."""
    path = PurePosixPath(str(name).replace("\\", "/"))
    if not str(name) or path.is_absolute() or ".." in path.parts or str(path) in {".", ""}:
        raise ValueError(f"not a file store name: {name!r}")
    return str(path)


def open_stored(name: str):
    """A binary stream over a stored file; FileNotFoundError when there is none."""
    return file_store().reader(clean_name(name))


def read_stored(name: str) -> bytes:
    with open_stored(name) as stream:
        return stream.read()


def stored_size(name: str) -> int | None:
    """The stored file's size, or None when it is not there."""
    return file_store().size_or_none(clean_name(name))


def stored_sha256(name: str) -> str | None:
    """SHA-256 hex of a stored file, read as a stream; None when it is not there."""
    try:
        stream = open_stored(name)
    except FileNotFoundError:
        return None
    digest = hashlib.sha256()
    with stream:
        while block := stream.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def stored_writer(name: str):
    """Write a file by parts; it appears under its name only when the block ends without an exception."""
    with file_store().writer(clean_name(name)) as sink:
        yield sink


def write_stored(name: str, data: bytes) -> str:
    """Store bytes whole; returns their SHA-256 hex."""
    with stored_writer(name) as sink:
        sink.write(data)
    return hashlib.sha256(data).hexdigest()


class HashingSink:
    """Counts and hashes what passes through to a writer."""

    def __init__(self, sink):
        self.sink, self.size, self.digest = sink, 0, hashlib.sha256()

    def write(self, data) -> int:
        self.size += len(data)
        self.digest.update(data)
        return self.sink.write(data)


def delete_stored(*names: str) -> None:
    """Delete files; a name that is not there is not an error."""
    file_store().delete_many([clean_name(n) for n in names])


def stored_under(prefix: str = "") -> Iterator[tuple[str, datetime]]:
    """(name, last modified) of every file under a folder, at any depth; the whole store for ""."""
    return file_store().names_under(clean_name(prefix) if prefix else "")


def store_check() -> str:
    """For /readyz: can the store be reached?"""
    return file_store().check()


class _LocalWriter:
    def __init__(self, path: str):
        self.path = path
        self.tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        self.handle = open(self.tmp, "wb")

    def write(self, data) -> int:
        return self.handle.write(data)

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.handle.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


def _local_writer_open(path: str, attempts: int = 20) -> _LocalWriter:
    """Make the file's folder and open its temp file. A concurrent delete_many prunes folders it emptied,
    and may remove a parent between our makedirs and open (a 500 in the deadline surge): make it again."""
    for attempt in range(attempts):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return _LocalWriter(path)
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class LocalFileStore(FileSystemStorage):
    """Local disk under settings.FILE_STORE_DIR, read at each use so that a test may point it elsewhere."""

    @property
    def base_location(self):
        return str(self._location or settings.FILE_STORE_DIR)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def reader(self, name: str):
        return open(self.path(name), "rb")

    def size_or_none(self, name: str) -> int | None:
        try:
            return os.path.getsize(self.path(name))
        except FileNotFoundError:
            return None

    @contextmanager
    def writer(self, name: str):
        sink = _local_writer_open(self.path(name))
        try:
            yield sink
        except BaseException:
            sink.abort()
            raise
        sink.commit()

    def delete_many(self, names: list[str]) -> None:
        folders = set()
        for name in names:
            self.delete(name)
            folders.add(os.path.dirname(self.path(name)))
        for folder in folders:  # drop folders the deletes emptied, never the store itself
            while folder.startswith(self.location + os.sep):
                try:
                    os.rmdir(folder)
                except OSError:
                    break
                folder = os.path.dirname(folder)

    def names_under(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        root = self.path(prefix) if prefix else self.location
        for folder, _dirs, files in os.walk(root):
            for file_name in files:
                if file_name.endswith(".tmp"):
                    continue
                full = os.path.join(folder, file_name)
                try:
                    modified = datetime.fromtimestamp(os.stat(full).st_mtime, tz=UTC)
                except FileNotFoundError:
                    continue
                yield os.path.relpath(full, self.location).replace(os.sep, "/"), modified

    def check(self) -> str:
        os.makedirs(self.location, exist_ok=True)
        if not os.access(self.location, os.W_OK):
            raise OSError(f"{self.location} is not writable")
        return "ok"
