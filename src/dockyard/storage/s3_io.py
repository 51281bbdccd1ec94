"""Pieces of the S3 store that deal with bytes in flight: the streaming multipart writer, a
seekable reader over ranged GETs, and building the boto3 client."""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from dockyard.storage.s3 import S3BlobStore

S3Client = Any  # boto3 publishes no static client type
MIB = 1024 * 1024
GIB = 1024 * MIB
MAX_PART = 5 * GIB  # S3's largest part, and the largest object one CopyObject call may copy


class ObjectWriter:
    """Writes one object from pieces: a single PUT when it all fits in one piece, else an S3
    multipart upload. Pieces double every 1,000 parts so S3's 10,000-part limit is never hit."""

    def __init__(self, store: S3BlobStore, name: str) -> None:
        self._store = store
        self._name = name
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def next_part_size(self) -> int:
        return min(self._store.part_size << (len(self._parts) // 1000), MAX_PART)

    def add_part(self, data: bytes, digest: hashlib._Hash | None) -> None:
        if digest is not None:
            digest.update(data)
        store, name = self._store, self._name
        if self._upload_id is None:
            self._upload_id = store._call("create_multipart_upload", "start an upload", name, Key=name)["UploadId"]
        number = len(self._parts) + 1
        result = store._call(
            "upload_part", "upload a part", name, Key=name, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": result["ETag"]})

    def finish(self, tail: bytes, digest: hashlib._Hash | None) -> str:
        store, name = self._store, self._name
        if self._upload_id is None:
            if digest is not None:
                digest.update(tail)
            return str(store._call("put_object", "store an upload", name, Key=name, Body=tail)["ETag"])
        if tail:
            self.add_part(tail, digest)
        result = store._call(
            "complete_multipart_upload", "finish an upload", name, Key=name, UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )  # fmt: skip
        self._upload_id = None
        return str(result["ETag"])

    def abort(self) -> None:
        if self._upload_id is not None:
            self._store._abort(self._name, self._upload_id)
            self._upload_id = None


class RangeReader(io.RawIOBase):
    """A seekable, read-only file over ranged GETs (wrap it in a BufferedReader)."""

    def __init__(self, store: S3BlobStore, key: str, size: int) -> None:
        self._store, self._key, self._size, self._position = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self._size - self._position)
        if count <= 0:
            return 0
        data = self._store.read_range(self._key, self._position, self._position + count - 1)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def split(size: int, piece: int) -> list[tuple[int, int]]:
    """Inclusive ranges covering ``size`` bytes in near-equal pieces of at most ``piece`` bytes
    (near-equal, so that no piece but the last falls under S3's 5 MiB part minimum)."""
    if size <= 0:
        return []
    count = -(-size // piece)
    step = -(-size // count)
    return [(first, min(first + step, size) - 1) for first in range(0, size, step)]


def attachment(filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def make_client(
    *,
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
) -> S3Client:
    """A boto3 S3 client; what is not given comes from the standard AWS environment
    (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``).
    Addressing is path-style whenever the endpoint is not AWS itself (MinIO, rclone, Ceph, ...)."""

    def build(addressing: str | None) -> S3Client:
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing} if addressing else None,
            # Checksums only where S3 requires them: some servers (rclone) send the whole
            # object's checksum on a ranged GET, which botocore would then reject.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "max_attempts": 4},
            max_pool_connections=64,
            connect_timeout=10,
            read_timeout=120,
        )
        return boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            region_name=region, config=config,
        )  # fmt: skip

    client = build(None)
    host = urlsplit(client.meta.endpoint_url or "").hostname or ""
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return client
    return build("path")
