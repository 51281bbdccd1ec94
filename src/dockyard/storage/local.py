"""Blob storage on a local (or shared, POSIX) file system.

Staged files live under ``<root>/.staging`` on the same file system as the blobs, so publishing
is one hard link: a blob is either absent or complete under its key, and once there it is never
replaced. Files are fsynced before they are published, and their folder after.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import BadRequestError, BlobMissingError, StorageError
from dockyard.storage.base import StagedBlob
from dockyard.storage.pipelined import exactly, write_pipelined

_WRITE_BATCH = 8 * 1024 * 1024


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._staging = self.root / ".staging"
        self._parts = self.root / ".parts"

    # -- reading -------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise BadRequestError(f"Invalid storage key {key!r}")
        return path

    def stat(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobMissingError(f"Blob {key} is missing from storage") from None

    def iter_range(self, key: str, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        with self.open(key) as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                data = handle.read(min(chunk_size, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    def read_range(self, key: str, start: int, end: int) -> bytes:
        with self.open(key) as handle:
            handle.seek(start)
            return handle.read(end - start + 1)

    def presigned_get_url(self, key: str, *, filename: str | None, expires_in: int) -> str | None:
        return None

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                full = Path(dirpath) / filename
                yield full.relative_to(self.root).as_posix(), full.stat().st_size

    def modified_at(self, key: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def purge_staging(self, older_than: datetime) -> int:
        removed = 0
        for directory in (self._staging, self._parts):
            if not directory.exists():
                continue
            for entry in directory.iterdir():
                if datetime.fromtimestamp(entry.stat().st_mtime, UTC) < older_than:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed

    # -- writing -------------------------------------------------------------------------
    def _new_staging_path(self) -> Path:
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging / uuid.uuid4().hex

    async def stage_stream(self, chunks: AsyncIterator[bytes]) -> StagedBlob:
        path = self._new_staging_path()
        digest = hashlib.sha256()
        handle = path.open("wb")
        try:
            written, tail = await write_pipelined(chunks, partial(_write_and_hash, handle, digest), _is_batch)
            await asyncio.get_running_loop().run_in_executor(None, _finish_file, handle, digest, tail)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        return StagedBlob(token=path.name, sha256=digest.hexdigest(), size=written + len(tail))

    def stage_bytes(self, data: bytes) -> StagedBlob:
        path = self._new_staging_path()
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return StagedBlob(token=path.name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def publish(self, staged: StagedBlob, key: str) -> bool:
        """A hard link makes the blob visible whole, and, unlike ``os.replace``, never replaces a
        blob already under ``key`` (readers may be streaming it; it holds the same content)."""
        source = self._staging / staged.token
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        placed = True
        try:
            os.link(source, target)
        except FileExistsError:
            placed = False  # published before (by this upload's retry, or another upload of the content)
        except FileNotFoundError:
            if not target.exists():
                raise StorageError("Staged content disappeared from storage before it was published") from None
            placed = False
        source.unlink(missing_ok=True)
        _fsync_folder(target.parent)
        return placed

    def discard(self, staged: StagedBlob) -> None:
        (self._staging / staged.token).unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        staged = self.stage_bytes(data)
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._staging / staged.token, target)
        _fsync_folder(target.parent)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def move(self, key: str, new_key: str) -> bool:
        target = self._path(new_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(self._path(key), target)
        except FileNotFoundError:
            return False
        return True

    # -- multipart -----------------------------------------------------------------------
    # Parts are written in place, at their offset, into one file per upload: assembling is then
    # one hashing read and a rename, with no copy of the content. Writers hold a shared lock on
    # that file; assembling renames it away first, then takes the exclusive lock, so every write
    # that can still land in it has finished before it is hashed, and later ones find it gone.
    def _parts_file(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise BadRequestError("Invalid upload id")
        self._parts.mkdir(parents=True, exist_ok=True)
        return self._parts / upload_id

    async def write_part_stream(
        self, upload_id: str, part_number: int, offset: int, chunks: AsyncIterator[bytes], *, size: int
    ) -> str:
        if part_number < 1 or offset < 0 or size < 0:
            raise BadRequestError("Invalid part number, offset or size")
        path = self._parts_file(upload_id)
        loop = asyncio.get_running_loop()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        position = offset

        def write(data: bytes) -> None:  # batches come one at a time: position needs no lock
            nonlocal position
            _pwrite_all(fd, data, position)
            position += len(data)

        try:
            await loop.run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_SH)
            if not _still_named(fd, path):
                raise BadRequestError("This multipart upload is already complete")
            written, tail = await write_pipelined(exactly(chunks, size), write, _is_batch)
            if tail:
                await loop.run_in_executor(None, write, tail)
        finally:
            os.close(fd)  # also releases the lock
        return f'"{upload_id[:16]}-{part_number}-{written + len(tail)}"'

    def assemble_parts(self, upload_id: str, total_size: int) -> StagedBlob:
        path = self._parts_file(upload_id)
        target = self._new_staging_path()
        try:
            os.replace(path, target)  # from now on, new part writes cannot reach these bytes
        except FileNotFoundError:
            raise BadRequestError("Multipart upload is incomplete: some parts are missing") from None
        try:
            with target.open("rb") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # waits for writes already under way
                if os.fstat(handle.fileno()).st_size != total_size:
                    raise BadRequestError("Multipart upload is incomplete: some parts are missing")
                digest = hashlib.sha256()
                while block := handle.read(_WRITE_BATCH):
                    digest.update(block)
                os.fsync(handle.fileno())
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return StagedBlob(token=target.name, sha256=digest.hexdigest(), size=total_size)

    def abort_parts(self, upload_id: str) -> None:
        self._parts_file(upload_id).unlink(missing_ok=True)

    # -- presigned uploads: not offered by a local disk (uploads go through Dockyard) ------
    def measure_staged(self, token: str) -> StagedBlob | None:
        return None

    def presigned_put_url(self, key: str, *, expires_in: int, content_length: int | None = None) -> str | None:
        return None

    def create_multipart(self, key: str) -> str | None:
        return None

    def presigned_part_url(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        raise NotImplementedError("Local storage hands out no upload URLs (create_multipart returned None)")

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        raise NotImplementedError("Local storage hands out no upload URLs (create_multipart returned None)")

    def abort_multipart(self, key: str, upload_id: str) -> None:
        raise NotImplementedError("Local storage hands out no upload URLs (create_multipart returned None)")


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _still_named(fd: int, path: Path) -> bool:
    """True while ``path`` is the file open as ``fd`` (assembling renames it away)."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _fsync_folder(folder: Path) -> None:
    """Make a rename or link in ``folder`` survive a power loss (the file itself is synced already)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_and_hash(handle: BinaryIO, digest: hashlib._Hash, data: bytes) -> None:
    digest.update(data)
    handle.write(data)


def _is_batch(size: int) -> bool:
    return size >= _WRITE_BATCH


def _finish_file(handle: BinaryIO, digest: hashlib._Hash, tail: bytes) -> None:
    if tail:
        _write_and_hash(handle, digest, tail)
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
