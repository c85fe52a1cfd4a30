"""The file store in an S3-compatible bucket through django-storages (FILE_STORAGE=s3).

Imported only when configured, so that a platform on local disk does not load boto3.
"""

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

    def __init__(self, obj, params: dict, part_size: int):
        self.obj, self.params, self.part_size = obj, params, part_size
        self.buffer = bytearray()
        self.upload = None
        self.parts: list[dict] = []

    def write(self, data) -> int:
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            with memoryview(self.buffer) as view:
                part = bytes(view[: self.part_size])
            del self.buffer[: self.part_size]
            self._send(part)
        return len(data)

    def _send(self, body: bytes) -> None:
        if self.upload is None:
            self.upload = self.obj.initiate_multipart_upload(**self.params)
        number = len(self.parts) + 1
        answer = self.upload.Part(number).upload(Body=body)
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def commit(self) -> None:
        if self.upload is None:
            self.obj.put(Body=bytes(self.buffer), **self.params)
        else:
            if self.buffer:
                self._send(bytes(self.buffer))
            self.upload.complete(MultipartUpload={"Parts": self.parts})
        self.buffer = bytearray()

    def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload is not None:
            self.upload.abort()


class S3FileStore(S3Storage):
    """An S3-compatible bucket (AWS, MinIO, Ceph RGW, OSS/COS in S3 mode) through django-storages."""

    part_size = 8 * 1024 * 1024

    def _key(self, name: str) -> str:
        return self._normalize_name(s3_clean(name))

    def reader(self, name: str):
        try:
            answer = self.bucket.Object(self._key(name)).get()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(name) from None
            raise
        return _S3Body(answer["Body"])

    def size_or_none(self, name: str) -> int | None:
        try:
            return self.bucket.meta.client.head_object(Bucket=self.bucket_name, Key=self._key(name))[
                "ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise

    @contextmanager
    def writer(self, name: str):
        key = self._key(name)
        sink = _S3Writer(self.bucket.Object(key), self._get_write_parameters(key), self.part_size)
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
            self.bucket.delete_objects(Delete={"Objects": keys[start : start + 1000], "Quiet": True})

    def names_under(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        root = self._key(prefix).rstrip("/") if prefix else self.location.strip("/")
        root = f"{root}/" if root else ""
        strip = len(self.location.strip("/")) + 1 if self.location.strip("/") else 0
        for item in self.bucket.objects.filter(Prefix=root):
            yield item.key[strip:], item.last_modified

    def check(self) -> str:
        self.bucket.meta.client.head_bucket(Bucket=self.bucket_name)
        return "ok"
