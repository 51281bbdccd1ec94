"""Blob storage in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, ``rclone serve s3``, ...).

Layout under ``s3://BUCKET/PREFIX``::

    <key>                                  published blobs (``lfs/ab/cd/<sha256>``, ``xet/xorbs/...``)
    .staging/<token>                       staged content: invisible under any key until ``publish``
    .parts/<upload_id>/<nnnnn>-<offset>    one object per part of a Dockyard multipart upload

Nothing lives in process memory between calls: a part written through one API process can be
assembled by another, because the parts *are* the state (one object each, found by listing).
Writes stream through S3 multipart uploads of ``part_size`` pieces, so memory stays at about two
pieces per upload in flight whatever the file size.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from dockyard.errors import BadRequestError, BlobMissingError, StorageError
from dockyard.storage.base import StagedBlob
from dockyard.storage.pipelined import exactly, write_pipelined
from dockyard.storage.s3_io import MAX_PART, ObjectWriter, RangeReader, attachment, split

log = logging.getLogger(__name__)

MIB = 1024 * 1024
GIB = 1024 * MIB
_MIN_PART = 5 * MIB  # S3's smallest part (all but the last)
MAX_PARTS = 10_000
_COPY_PIECE = 1 * GIB  # pieces of a server-side multipart copy
_COPY_THREADS = 8
_READ_BLOCK = 8 * MIB
_STREAM_RETRIES = 2  # a ranged GET that breaks mid-stream resumes where it stopped (twice in a row at most)
_BUCKET_CHECK_TTL = 60.0
_ABSENT = frozenset({"NoSuchKey", "NotFound", "404"})  # HEAD answers a bare 404, GET says NoSuchKey
_CLIENT_FAULTS = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "NoSuchUpload"})

S3Client = Any  # boto3's client is generated at run time; its stubs are not a dependency


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _failure(action: str, name: str, error: ClientError | BotoCoreError) -> StorageError:
    """A StorageError (503) for the client; the details (endpoint, message) go to the log only."""
    code = _code(error) if isinstance(error, ClientError) else type(error).__name__
    log.warning("S3 %s of %r failed: %s", action, name, error)
    return StorageError(f"Storage backend failed to {action} ({code})")


class S3BlobStore:
    """A :class:`~dockyard.storage.base.BlobStore` over one bucket (and optional key prefix)."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        presign: bool = True,
        part_size: int = 16 * MIB,
        max_copy_size: int = MAX_PART,
    ) -> None:
        if not _MIN_PART <= part_size <= MAX_PART:
            raise ValueError("part_size must be between 5 MiB and 5 GiB (S3's part limits)")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.presign = presign
        self.part_size = part_size
        self.max_copy_size = max_copy_size
        self._bucket_seen_at = -_BUCKET_CHECK_TTL

    # -- names and calls -------------------------------------------------------------------
    def _name(self, key: str) -> str:
        """The object name of a public key; refuses escapes and the private ``.`` folders."""
        if not key or any(part == "" or part.startswith(".") for part in key.split("/")):
            raise BadRequestError(f"Invalid storage key {key!r}")
        return self.prefix + key

    def _staging_name(self, token: str) -> str:
        if not token.isalnum():
            raise BadRequestError("Invalid staging token")
        return f"{self.prefix}.staging/{token}"

    def _parts_prefix(self, upload_id: str) -> str:
        if not upload_id.isalnum():
            raise BadRequestError("Invalid upload id")
        return f"{self.prefix}.parts/{upload_id}/"

    def _call(self, method: str, action: str, name: str, *, absent_ok: bool = False, **params: Any) -> Any:
        """``client.<method>(Bucket=..., **params)``; errors become StorageError (None if absent_ok)."""
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **params)
        except ClientError as error:
            if absent_ok and _code(error) in _ABSENT:
                return None
            raise _failure(action, name, error) from error
        except BotoCoreError as error:
            raise _failure(action, name, error) from error

    def _confirm_bucket(self) -> None:
        """A missing bucket also answers 404 to HEAD: make sure "absent" is not a broken setup."""
        now = time.monotonic()
        if now - self._bucket_seen_at < _BUCKET_CHECK_TTL:
            return
        self._call("head_bucket", "reach the bucket", self.bucket)
        self._bucket_seen_at = now

    def _head(self, name: str, action: str) -> dict[str, Any] | None:
        head: dict[str, Any] | None = self._call("head_object", action, name, absent_ok=True, Key=name)
        if head is None:
            self._confirm_bucket()
        return head

    # -- reading ---------------------------------------------------------------------------
    def stat(self, key: str) -> int | None:
        head = self._head(self._name(key), "stat a blob")
        return None if head is None else int(head["ContentLength"])

    def local_path(self, key: str) -> None:
        return None

    def modified_at(self, key: str) -> datetime | None:
        head = self._head(self._name(key), "stat a blob")
        return None if head is None else head["LastModified"]

    def open(self, key: str) -> BinaryIO:
        size = self.stat(key)
        if size is None:
            raise BlobMissingError(f"Blob {key} is missing from storage")
        return io.BufferedReader(RangeReader(self, key, size), buffer_size=MIB)

    def _get(self, key: str, start: int, end: int) -> Any | None:
        """The streaming body of bytes ``start..end``, None when ``start`` is past the end."""
        name = self._name(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=name, Range=f"bytes={start}-{end}")["Body"]
        except ClientError as error:
            if _code(error) in _ABSENT:
                raise BlobMissingError(f"Blob {key} is missing from storage") from None
            if _code(error) == "InvalidRange":
                return None
            raise _failure("read a blob", name, error) from error
        except BotoCoreError as error:
            raise _failure("read a blob", name, error) from error

    def read_range(self, key: str, start: int, end: int) -> bytes:
        return b"".join(self.iter_range(key, start, end, end - start + 1))

    def iter_range(self, key: str, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        if end < start:
            if self.stat(key) is None:
                raise BlobMissingError(f"Blob {key} is missing from storage")
            return
        position, retries, failed_at = start, 0, -1
        while position <= end:
            body = self._get(key, position, end)
            if body is None:
                return
            try:
                while position <= end:
                    data = body.read(min(chunk_size, end - position + 1))
                    if not data:
                        return  # the blob is shorter than asked, like a local file
                    position += len(data)
                    yield data
            except BotoCoreError as error:  # the connection broke mid-stream: resume from here
                retries = retries + 1 if position == failed_at else 1  # count failures without progress
                failed_at = position
                if retries > _STREAM_RETRIES:
                    raise _failure("read a blob", key, error) from error
                log.info("S3 read of %r broke at byte %d, resuming: %s", key, position, error)
            finally:
                body.close()

    def presigned_get_url(self, key: str, *, filename: str | None, expires_in: int) -> str | None:
        if not self.presign:
            return None
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._name(key)}
        if filename:
            params["ResponseContentDisposition"] = attachment(filename)
        return self._presign("get_object", params, expires_in)

    def _presign(self, method: str, params: dict[str, Any], expires_in: int) -> str:
        try:
            return str(self.client.generate_presigned_url(method, Params=params, ExpiresIn=expires_in))
        except BotoCoreError as error:  # no credentials, or an unknown parameter
            raise _failure("sign a URL", str(params.get("Key")), error) from error

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        base = self._name(prefix.strip("/")) + "/" if prefix.strip("/") else self.prefix
        for entry in self._list(base):
            key = entry["Key"][len(self.prefix) :]
            if not any(part.startswith(".") for part in key.split("/")):
                yield key, int(entry["Size"])

    def _list(self, name_prefix: str) -> Iterator[dict[str, Any]]:
        """The objects whose names start with ``name_prefix``, page after page."""
        return self._paginate("list_objects_v2", "Contents", name_prefix)

    def _list_uploads(self, name_prefix: str) -> Iterator[dict[str, Any]]:
        """The unfinished S3 multipart uploads to names starting with ``name_prefix``."""
        return self._paginate("list_multipart_uploads", "Uploads", name_prefix)

    def _paginate(self, operation: str, field: str, name_prefix: str) -> Iterator[dict[str, Any]]:
        try:
            for page in self.client.get_paginator(operation).paginate(Bucket=self.bucket, Prefix=name_prefix):
                yield from page.get(field, ())
        except ClientError as error:
            if _code(error) == "NoSuchUpload":  # rclone's answer when a bucket never had an upload
                return
            raise _failure("list", name_prefix, error) from error
        except BotoCoreError as error:
            raise _failure("list", name_prefix, error) from error

    # -- writing ---------------------------------------------------------------------------
    async def stage_stream(self, chunks: AsyncIterator[bytes]) -> StagedBlob:
        token = uuid.uuid4().hex
        digest = hashlib.sha256()
        size, _ = await self._write_stream(self._staging_name(token), chunks, digest)
        return StagedBlob(token=token, sha256=digest.hexdigest(), size=size)

    async def _write_stream(
        self, name: str, chunks: AsyncIterator[bytes], digest: hashlib._Hash | None
    ) -> tuple[int, str]:
        """Upload a stream to ``name`` piece by piece (one upload in flight while the next fills)."""
        writer = ObjectWriter(self, name)
        loop = asyncio.get_running_loop()
        try:
            written, tail = await write_pipelined(
                chunks,
                partial(writer.add_part, digest=digest),
                lambda size: size > writer.next_part_size(),  # exactly one piece stays a single PUT
            )
            etag = await loop.run_in_executor(None, writer.finish, tail, digest)
        except BaseException:
            await loop.run_in_executor(None, writer.abort)
            raise
        size = written + len(tail)
        return size, etag

    def stage_bytes(self, data: bytes) -> StagedBlob:
        token = uuid.uuid4().hex
        name = self._staging_name(token)
        self._call("put_object", "stage a blob", name, Key=name, Body=data)
        return StagedBlob(token=token, sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def publish(self, staged: StagedBlob, key: str) -> bool:
        """Server-side copy from staging to ``key``, then drop the staged object.

        S3 has no rename, but the copy appears under ``key`` whole or not at all (CopyObject and
        CompleteMultipartUpload are both atomic). A blob already under ``key`` is never replaced:
        the staged copy is dropped instead (keys are verified content addresses, so it held the
        same bytes; two uploads racing past the check write the same verified content).
        """
        source, target = self._staging_name(staged.token), self._name(key)
        if self._head(target, "check a published blob") is not None:
            self._call("delete_object", "drop staged content", source, Key=source)
            return False
        if not self._copy(source, target, staged.size):
            if self.stat(key) == staged.size:
                return False  # published already (a retried request)
            raise StorageError("Staged content disappeared from storage before it was published")
        self._call("delete_object", "drop staged content", source, Key=source)
        return True

    def _copy(self, source: str, target: str, size: int) -> bool:
        """Copy ``source`` over ``target``; False when there is no ``source``."""
        if size > self.max_copy_size:  # S3 refuses to CopyObject more than 5 GiB: copy it in parts
            if self._head(source, "find staged content") is None:
                return False
            if self._concatenate(target, [(source, size)]):
                head = self._head(target, "check a published blob")
                if head is None or int(head["ContentLength"]) != size:
                    self._call("delete_object", "remove a bad copy", target, Key=target)
                    raise StorageError("Storage backend produced a copy of the wrong size")
                return True
            # No UploadPartCopy on this server (rclone): its CopyObject has no size limit.
        copied = self._call(
            "copy_object", "publish a blob", target, absent_ok=True, Key=target, CopySource=self._source(source)
        )
        return copied is not None

    def _source(self, name: str) -> dict[str, str]:
        return {"Bucket": self.bucket, "Key": name}

    def _concatenate(self, target: str, sources: Sequence[tuple[str, int]]) -> bool:
        """Build ``target`` from whole ``(name, size)`` sources with UploadPartCopy (server-side).

        Returns False, leaving nothing behind, when the server does not implement UploadPartCopy
        (``rclone serve s3`` answers 200 with no ETag and stores an empty part).
        """
        pieces = [(name, first, last) for name, size in sources for first, last in split(size, _COPY_PIECE)]
        if not pieces or len(pieces) > MAX_PARTS:
            return False
        upload_id = self._call("create_multipart_upload", "start a copy", target, Key=target)["UploadId"]

        def copy(number: int) -> dict[str, Any]:
            name, first, last = pieces[number - 1]
            result = self._call(
                "upload_part_copy", "copy a part", target, Key=target, UploadId=upload_id, PartNumber=number,
                CopySource=self._source(name), CopySourceRange=f"bytes={first}-{last}",
            )  # fmt: skip
            return {"PartNumber": number, "ETag": result.get("CopyPartResult", {}).get("ETag")}

        try:
            parts = [copy(1)]
            if not parts[0]["ETag"]:
                self._abort(target, upload_id)
                return False
            with ThreadPoolExecutor(max_workers=_COPY_THREADS) as pool:
                parts += pool.map(copy, range(2, len(pieces) + 1))
            if not all(part["ETag"] for part in parts):
                raise StorageError("Storage backend did not confirm a copied part")
            self._call(
                "complete_multipart_upload", "finish a copy", target, Key=target, UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )  # fmt: skip
        except BaseException:
            self._abort(target, upload_id)
            raise
        return True

    def _abort(self, name: str, upload_id: str) -> None:
        """Best effort: on an error path the first failure matters; ``purge_staging`` sweeps the rest."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except (ClientError, BotoCoreError) as error:
            log.warning("Could not abort S3 multipart upload of %r: %s", name, error)

    def discard(self, staged: StagedBlob) -> None:
        name = self._staging_name(staged.token)
        self._call("delete_object", "drop staged content", name, Key=name)

    def put_bytes(self, key: str, data: bytes) -> None:
        """One PUT: S3 never shows a partly written object, so no staging is needed."""
        name = self._name(key)
        self._call("put_object", "store a blob", name, Key=name, Body=data)

    def delete(self, key: str) -> None:
        name = self._name(key)
        self._call("delete_object", "delete a blob", name, Key=name)

    def move(self, key: str, new_key: str) -> bool:
        """A server-side copy, then the delete of the source (S3 has no rename)."""
        size = self.stat(key)
        if size is None or not self._copy(self._name(key), self._name(new_key), size):
            return False
        self.delete(key)
        return True

    def _delete_names(self, names: list[str], action: str) -> None:
        for start in range(0, len(names), 1000):
            batch = [{"Key": name} for name in names[start : start + 1000]]
            result = self._call("delete_objects", action, names[start], Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                log.warning("S3 %s failed for some objects: %s", action, result["Errors"][:5])
                raise StorageError(f"Storage backend failed to {action} ({result['Errors'][0].get('Code')})")

    def purge_staging(self, older_than: datetime) -> int:
        """Drop staged objects and parts, and abort S3 multipart uploads, started before ``older_than``.

        Aborting matters: S3 bills the parts of an unfinished multipart upload yet lists them nowhere.
        """
        removed = 0
        for folder in (".staging/", ".parts/"):
            stale = [entry["Key"] for entry in self._list(self.prefix + folder) if entry["LastModified"] < older_than]
            self._delete_names(stale, "purge staging")
            removed += len(stale)
            for upload in list(self._list_uploads(self.prefix + folder)):
                if upload["Initiated"] < older_than:
                    self._abort(upload["Key"], upload["UploadId"])
                    removed += 1
        return removed

    # -- Dockyard multipart uploads (parts through Dockyard) --------------------------------
    async def write_part_stream(
        self, upload_id: str, part_number: int, offset: int, chunks: AsyncIterator[bytes], *, size: int
    ) -> str:
        """Store the part as its own object; a retried part simply replaces it. A part of the
        wrong length is aborted before it becomes an object (the writer's S3 upload is dropped)."""
        if part_number < 1 or offset < 0 or size < 0:
            raise BadRequestError("Invalid part number, offset or size")
        name = f"{self._parts_prefix(upload_id)}{part_number:05d}-{offset}"
        _, etag = await self._write_stream(name, exactly(chunks, size), None)
        return etag

    def _parts(self, upload_id: str) -> list[tuple[int, int, int, str]]:
        """``(number, offset, size, name)`` of the stored parts, by part number."""
        found = []
        for entry in self._list(self._parts_prefix(upload_id)):
            number, _, offset = entry["Key"].rsplit("/", 1)[1].partition("-")
            found.append((int(number), int(offset), int(entry["Size"]), entry["Key"]))
        return sorted(found)

    def assemble_parts(self, upload_id: str, total_size: int) -> StagedBlob:
        parts = self._parts(upload_id)
        expected = 0
        for index, (number, offset, size, _) in enumerate(parts, start=1):
            if number != index or offset != expected:
                break
            expected += size
        else:
            if expected == total_size:
                staged = self._join(parts, total_size)
                self._delete_parts(upload_id)
                return staged
        raise BadRequestError("Multipart upload is incomplete: some parts are missing")

    def _join(self, parts: list[tuple[int, int, int, str]], total_size: int) -> StagedBlob:
        """Join the parts into a staged object and measure it (one read of the whole)."""
        token = uuid.uuid4().hex
        target = self._staging_name(token)
        digest = hashlib.sha256()
        sources = [(name, size) for _, _, size, name in parts if size]
        server_side = all(size >= _MIN_PART for _, size in sources[:-1]) and self._concatenate(target, sources)
        if server_side:
            measured = self._hash_object(target, digest)
        else:  # no UploadPartCopy (or parts below S3's minimum): stream through, hashing on the way
            writer = ObjectWriter(self, target)
            try:
                measured = self._copy_through(sources, writer, digest)
            except BaseException:
                writer.abort()
                raise
        if measured != total_size:
            self._call("delete_object", "drop staged content", target, Key=target)
            raise StorageError("Storage backend returned a different size for the assembled upload")
        return StagedBlob(token=token, sha256=digest.hexdigest(), size=total_size)

    def _read_name(self, name: str) -> Iterator[bytes]:
        """The whole object ``name`` (a private one: a part, staged content) in blocks."""
        body = self._call("get_object", "read staged content", name, Key=name)["Body"]
        try:
            while block := body.read(_READ_BLOCK):
                yield block
        except BotoCoreError as error:
            raise _failure("read staged content", name, error) from error
        finally:
            body.close()

    def _hash_object(self, name: str, digest: hashlib._Hash) -> int:
        size = 0
        for block in self._read_name(name):
            digest.update(block)
            size += len(block)
        return size

    def _copy_through(self, sources: list[tuple[str, int]], writer: ObjectWriter, digest: hashlib._Hash) -> int:
        buffer = bytearray()
        size = 0
        for name, _ in sources:
            for block in self._read_name(name):
                buffer += block
                size += len(block)
                if len(buffer) > writer.next_part_size():  # exactly one piece stays a single PUT
                    writer.add_part(bytes(buffer), digest)
                    buffer.clear()
        writer.finish(bytes(buffer), digest)
        return size

    def _delete_parts(self, upload_id: str) -> None:
        prefix = self._parts_prefix(upload_id)
        self._delete_names([entry["Key"] for entry in self._list(prefix)], "drop parts")
        for upload in list(self._list_uploads(prefix)):  # a part still being written
            self._abort(upload["Key"], upload["UploadId"])

    def abort_parts(self, upload_id: str) -> None:
        self._delete_parts(upload_id)

    def measure_staged(self, token: str) -> StagedBlob | None:
        """Hash content a client uploaded straight to ``.staging/<token>`` (through a presigned URL)."""
        name = self._staging_name(token)
        if self._head(name, "measure an upload") is None:
            return None
        digest = hashlib.sha256()
        size = self._hash_object(name, digest)
        return StagedBlob(token=token, sha256=digest.hexdigest(), size=size)

    # -- presigned uploads (optional capability, see base.BlobStore) ------------------------
    def presigned_put_url(self, key: str, *, expires_in: int, content_length: int | None = None) -> str | None:
        if not self.presign:
            return None
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._upload_name(key)}
        if content_length is not None:
            params["ContentLength"] = content_length  # signed: another length is refused
        return self._presign("put_object", params, expires_in)

    def create_multipart(self, key: str) -> str | None:
        if not self.presign:
            return None
        name = self._upload_name(key)
        return str(self._call("create_multipart_upload", "start an upload", name, Key=name)["UploadId"])

    def presigned_part_url(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        params = {
            "Bucket": self.bucket,
            "Key": self._upload_name(key),
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        return self._presign("upload_part", params, expires_in)

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        name = self._upload_name(key)
        listed = [{"PartNumber": number, "ETag": etag} for number, etag in sorted(parts)]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )
        except ClientError as error:
            if _code(error) in _CLIENT_FAULTS:
                raise BadRequestError(f"Cannot complete the upload: {_code(error)}") from None
            raise _failure("complete an upload", name, error) from error
        except BotoCoreError as error:
            raise _failure("complete an upload", name, error) from error

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self._abort(self._upload_name(key), upload_id)

    def _upload_name(self, key: str) -> str:
        """Clients upload to a public key, or to ``.staging/<token>`` when Dockyard verifies first."""
        if key.startswith(".staging/"):
            return self._staging_name(key.removeprefix(".staging/"))
        return self._name(key)
