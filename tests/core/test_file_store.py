"""The file store's contract, on local disk and on an S3 emulator: streamed, whole-or-nothing, no escapes."""

import hashlib
import os
import tracemalloc
from datetime import timedelta

import pytest
from django.utils import timezone

from trading.files import (
    delete_stored,
    open_stored,
    read_stored,
    stored_sha256,
    stored_size,
    stored_under,
    stored_writer,
    write_stored,
)

MIB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def store(request, settings):
    """Run each test once on local disk and once on moto's S3 server."""
    if request.param == "s3":
        return request.getfixturevalue("s3_store")
    return None


def leftovers(store, settings) -> list[str]:
    """Anything half-written: temp files on disk, unfinished multipart uploads in the bucket."""
    if store is None:
        root = settings.FILE_STORE_DIR
        return [str(p) for p in root.rglob("*.tmp")] if root.exists() else []
    return store.pending_multipart(store.bucket)


def test_a_file_written_in_parts_reads_back_whole(store, settings):
    data = os.urandom(MIB) * 19 + b"tail"  # three 8 MiB parts on S3, the last one short
    with stored_writer("bids/s1/big.sbe") as sink:
        for start in range(0, len(data), MIB):
            sink.write(data[start:start + MIB])
    assert stored_size("bids/s1/big.sbe") == len(data)
    assert stored_sha256("bids/s1/big.sbe") == hashlib.sha256(data).hexdigest()
    assert read_stored("bids/s1/big.sbe") == data
    if store is not None:  # really in the bucket, under the prefix
        assert store.keys(store.bucket) == ["platform/bids/s1/big.sbe"]
        assert store.get(store.bucket, "platform/bids/s1/big.sbe") == data


def test_a_failed_write_leaves_nothing_and_keeps_the_earlier_file(store, settings):
    write_stored("records/s1/record.pdf", b"version 1")
    with pytest.raises(RuntimeError):
        with stored_writer("records/s1/record.pdf") as sink:
            sink.write(b"x" * (9 * MIB))  # past one part, so S3 has a multipart upload to abort
            raise RuntimeError("client went away")
    assert read_stored("records/s1/record.pdf") == b"version 1"
    with pytest.raises(RuntimeError):
        with stored_writer("records/s1/new.pdf") as sink:
            sink.write(b"half")
            raise RuntimeError("disk full")
    assert stored_size("records/s1/new.pdf") is None
    assert leftovers(store, settings) == []


def test_missing_files_are_reported_not_invented(store):
    with pytest.raises(FileNotFoundError):
        open_stored("bids/none/none.sbe")
    assert stored_size("bids/none/none.sbe") is None
    assert stored_sha256("bids/none/none.sbe") is None
    delete_stored("bids/none/none.sbe")  # deleting what is not there is not an error


def test_listing_and_deleting_under_a_folder(store):
    for name in ("uploads/u1/000000.part", "uploads/u1/000001.part", "uploads/u2/000000.part",
                 "bids/s1/b1.sbe"):
        write_stored(name, name.encode())
    listed = dict(stored_under("uploads"))
    assert sorted(listed) == ["uploads/u1/000000.part", "uploads/u1/000001.part", "uploads/u2/000000.part"]
    assert all(abs(timezone.now() - modified) < timedelta(minutes=5) for modified in listed.values())
    delete_stored("uploads/u1/000000.part", "uploads/u1/000001.part")
    assert [name for name, _ in stored_under("uploads")] == ["uploads/u2/000000.part"]
    assert read_stored("bids/s1/b1.sbe") == b"bids/s1/b1.sbe"


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "bids/../../x", "", "a\\..\\..\\b"])
def test_names_cannot_leave_the_store(store, name):
    with pytest.raises(ValueError):
        write_stored(name, b"x")
    with pytest.raises(ValueError):
        open_stored(name)


def test_writing_and_reading_stay_within_a_few_parts_of_memory(store):
    """64 MiB through the store in 1 MiB blocks: Python allocations stay bounded by the part size."""
    block = os.urandom(MIB)
    write_stored("bids/s1/warm.sbe", b"warm")  # the S3 client loads its service model once per process
    tracemalloc.start()
    try:
        with stored_writer("bids/s1/mem.sbe") as sink:
            for _ in range(64):
                sink.write(block)
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with open_stored("bids/s1/mem.sbe") as stream:
            while chunk := stream.read(MIB):
                digest.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == hashlib.sha256(block * 64).hexdigest()
    limit = 4 * MIB if store is None else 12 * MIB  # S3: one 8 MiB multipart part at a time
    assert write_peak < limit, f"write peak {write_peak / MIB:.1f} MiB"
    assert read_peak < limit, f"read peak {read_peak / MIB:.1f} MiB"


def test_local_writer_survives_a_concurrent_delete_pruning_its_parent_folder(settings, monkeypatch):
    """The surge's 500: delete_many removed the emptied "uploads" folder between a writer's makedirs and open."""
    import trading.files as files

    real_makedirs = os.makedirs
    pruned = []

    def makedirs_then_prune(path, exist_ok=False):
        real_makedirs(path, exist_ok=exist_ok)
        if not pruned:  # another request's delete_many empties and prunes the folder at this exact moment
            pruned.append(path)
            os.rmdir(path)
            os.rmdir(os.path.dirname(path))

    monkeypatch.setattr(files.os, "makedirs", makedirs_then_prune)
    with stored_writer("uploads/u1/000000.part") as out:
        out.write(b"chunk")
    assert pruned
    assert read_stored("uploads/u1/000000.part") == b"chunk"


def test_local_writers_and_deletes_racing_in_threads_never_fail(settings):
    import threading
    import uuid

    errors: list[str] = []

    def bidder() -> None:
        for _ in range(150):
            name = f"uploads/{uuid.uuid4().hex}/000000.part"
            try:
                with stored_writer(name) as out:
                    out.write(b"x")
                delete_stored(name)
            except OSError as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=bidder) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(stored_under("uploads")) == []
