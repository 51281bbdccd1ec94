"""Blob storage on a local (or shared, POSIX) file system.

Staged files live under ``<root>/.staging`` on the same file system as the blobs, so publishing
is one ``os.replace``: a blob is either absent or complete under its key.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import BadRequestError, NotFoundError
from dockyard.storage.base import StagedBlob
from dockyard.storage.pipelined import write_pipelined

_WRITE_BATCH = 8 * 1024 * 1024


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._in_order = _InOrderHashes()
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
            raise NotFoundError(f"Blob {key} is missing from storage") from None

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

    def publish(self, staged: StagedBlob, key: str) -> None:
        source = self._staging / staged.token
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def discard(self, staged: StagedBlob) -> None:
        (self._staging / staged.token).unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.publish(self.stage_bytes(data), key)

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
    # Parts are written in place, at their offset, into one file per upload: assembling is
    # then one hashing read and a rename, with no copy of the content.
    def _parts_file(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise BadRequestError("Invalid upload id")
        self._parts.mkdir(parents=True, exist_ok=True)
        return self._parts / upload_id

    async def write_part_stream(
        self, upload_id: str, part_number: int, offset: int, chunks: AsyncIterator[bytes]
    ) -> str:
        path = self._parts_file(upload_id)
        running = self._in_order.start(upload_id, part_number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        position = offset

        def write(data: bytes) -> None:  # batches come one at a time: position needs no lock
            nonlocal position
            _pwrite_and_hash(fd, data, position, running)
            position += len(data)

        try:
            written, tail = await write_pipelined(chunks, write, _is_batch)
            if tail:
                await asyncio.get_running_loop().run_in_executor(None, write, tail)
        finally:
            os.close(fd)
        written += len(tail)
        self._in_order.finish(upload_id, part_number, running, written)
        return f'"{upload_id[:16]}-{part_number}-{written}"'

    def assemble_parts(self, upload_id: str, total_size: int) -> StagedBlob:
        path = self._parts_file(upload_id)
        if not path.exists() or path.stat().st_size != total_size:
            raise BadRequestError("Multipart upload is incomplete: some parts are missing")
        digest = self._in_order.take(upload_id, total_size)
        with path.open("rb") as handle:
            if digest is None:  # parts arrived out of order, or through other processes: re-read
                digest = hashlib.sha256()
                while block := handle.read(_WRITE_BATCH):
                    digest.update(block)
            os.fsync(handle.fileno())
        target = self._new_staging_path()
        os.replace(path, target)
        return StagedBlob(token=target.name, sha256=digest.hexdigest(), size=total_size)

    def abort_parts(self, upload_id: str) -> None:
        self._in_order.take(upload_id, -1)
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


class _InOrderHashes:
    """sha256 of multipart uploads whose parts reach this process in order (the Hub's client sends
    them one after another), so completing them needs no second read of the whole file.

    A cache, not state: a part that arrives out of order, is retried, or went to another process
    drops the entry, and assembling then re-reads the file.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, hashlib._Hash, int]] = {}  # id -> (next part, hash, bytes)

    def start(self, upload_id: str, part_number: int) -> hashlib._Hash | None:
        with self._lock:
            entry = self._entries.get(upload_id)
            if part_number == 1 and entry is None:
                return hashlib.sha256()
            if entry is not None and entry[0] == part_number:
                return entry[1].copy()  # a failed attempt must not corrupt the running hash
            self._entries.pop(upload_id, None)
            return None

    def finish(self, upload_id: str, part_number: int, running: hashlib._Hash | None, written: int) -> None:
        with self._lock:
            if running is None:
                return
            previous = self._entries.get(upload_id)
            total = (previous[2] if previous else 0) + written
            if len(self._entries) > 256:
                self._entries.clear()
            self._entries[upload_id] = (part_number + 1, running, total)

    def take(self, upload_id: str, total_size: int) -> hashlib._Hash | None:
        with self._lock:
            entry = self._entries.pop(upload_id, None)
        return entry[1] if entry is not None and entry[2] == total_size else None


def _pwrite_and_hash(fd: int, data: bytes, offset: int, running: hashlib._Hash | None) -> None:
    if running is not None:
        running.update(data)
    _pwrite_all(fd, data, offset)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


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
