"""The file store in an S3-compatible bucket through django-storages (FILE_STORAGE=s3).

Imported only when configured, so that a platform on local disk does not load boto3.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name as s3_clean

MISSING = {"NoSuchKey", "404", "NotFound"}


class _S3Body:
    """A botocore streaming body as a closeable binary stream with readinto."""

    def __init__(self, body):
        self.body = body

    def read(self, n: int = -1) -> bytes:
        """Up to n bytes, short only at the end (tarfile and others count on that)."""
        if n is None or n < 0:
            return self.body.read()
        data = self.body.read(n)
        while data and len(data) < n:
            more = self.body.read(n - len(data))
            if not more:
                break
            data += more
        return data

    def readinto(self, view) -> int:
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _S3Writer:
    """Multipart upload with one part in memory; a file smaller than one part is a single PUT."""

    def __init__(self, client, bucket: str, key: str, params: dict, part_size: int):
        self.client, self.bucket, self.key, self.params = client, bucket, key, params
        self.part_size = part_size
        self.buffer = bytearray()
        self.upload_id = None
        self.parts: list[dict] = []

    def write(self, data) -> int:
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            rest = self.buffer[self.part_size :]  # what spills past the part: at most one write
            del self.buffer[self.part_size :]
            self._send(self.buffer)  # sent as it is, not copied
            self.buffer = rest
        return len(data)

    def _send(self, body: bytearray) -> None:
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key,
                                                                 **self.params)["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                         PartNumber=number, Body=body)
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def commit(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self.buffer, **self.params)
        else:
            if self.buffer:
                self._send(self.buffer)
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                                  MultipartUpload={"Parts": self.parts})
        self.buffer = bytearray()

    def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in MISSING


class S3FileStore(S3Storage):
    """An S3-compatible bucket (AWS, MinIO, Ceph RGW, OSS/COS in S3 mode) through django-storages.

    django-storages keeps one boto3 resource per thread, and Django runs each request's sync code on a
    thread of its own, so that would build a new session (and load botocore's models again) per request.
    These operations share one client per process instead: boto3 clients are thread-safe.
    """

    part_size = 8 * 1024 * 1024
    _client_lock = threading.Lock()

    @property
    def client(self):
        shared = getattr(self, "_shared_client", None)
        if shared is None:
            with self._client_lock:
                shared = getattr(self, "_shared_client", None)
                if shared is None:
                    shared = self._shared_client = self.connection.meta.client
        return shared

    def _key(self, name: str) -> str:
        return self._normalize_name(s3_clean(name))

    def reader(self, name: str):
        try:
            answer = self.client.get_object(Bucket=self.bucket_name, Key=self._key(name))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(name) from None
            raise
        return _S3Body(answer["Body"])

    def size_or_none(self, name: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket_name, Key=self._key(name))["ContentLength"]
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    @contextmanager
    def writer(self, name: str):
        key = self._key(name)
        sink = _S3Writer(self.client, self.bucket_name, key, self._get_write_parameters(key), self.part_size)
        try:
            yield sink
        except BaseException:
            sink.abort()
            raise
        try:
            sink.commit()
        except BaseException:
            sink.abort()
            raise

    def delete_many(self, names: list[str]) -> None:
        keys = [{"Key": self._key(n)} for n in names]
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket_name,
                                       Delete={"Objects": keys[start : start + 1000], "Quiet": True})

    def names_under(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        root = self._key(prefix).rstrip("/") if prefix else self.location.strip("/")
        root = f"{root}/" if root else ""
        strip = len(self.location.strip("/")) + 1 if self.location.strip("/") else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket_name, Prefix=root):
            for item in page.get("Contents", []):
                yield item["Key"][strip:], item["LastModified"]

    def check(self) -> str:
        self.client.head_bucket(Bucket=self.bucket_name)
        return "ok"
