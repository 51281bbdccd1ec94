"""The BlobStore protocol every backend implements.

Keys are opaque relative paths chosen by the domains (``lfs/<sha256>``, ``xet/xorbs/<hash>``).
A blob becomes visible under its key only once it is complete: writers stage content and
publish it with one atomic step, so a crash never leaves a half-written blob under a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(frozen=True, slots=True)
class StagedBlob:
    """Bytes written somewhere private, with their measured sha256 and size."""

    token: str
    sha256: str
    size: int


class BlobStore(Protocol):
    def stat(self, key: str) -> int | None:
        """Size of the blob under ``key``, or None when absent."""

    def local_path(self, key: str) -> Path | None:
        """A file path the server may stream from directly, when the backend is a local disk."""

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable file object."""

    def iter_range(self, key: str, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        """Bytes ``start..end`` (inclusive) in chunks."""

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive), for small reads (headers, xorb ranges)."""

    def presigned_get_url(self, key: str, *, filename: str | None, expires_in: int) -> str | None:
        """A URL the client can GET without credentials, or None to stream through Dockyard."""

    async def stage_stream(self, chunks: AsyncIterator[bytes]) -> StagedBlob:
        """Write a stream to private staging, measuring sha256 and size on the way."""

    def stage_bytes(self, data: bytes) -> StagedBlob:
        """Same as :meth:`stage_stream` for bytes already in memory."""

    def publish(self, staged: StagedBlob, key: str) -> None:
        """Atomically make staged content visible under ``key`` (idempotent if already there)."""

    def discard(self, staged: StagedBlob) -> None:
        """Drop staged content that failed verification."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store small content under ``key`` atomically."""

    def delete(self, key: str) -> None:
        """Remove a blob; absent keys are ignored."""

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        """All (key, size) pairs under a prefix, for garbage collection and backups."""

    def modified_at(self, key: str) -> datetime | None:
        """When the bytes under ``key`` were last written (None when absent)."""

    def purge_staging(self, older_than: datetime) -> int:
        """Remove staged uploads and multipart parts abandoned before ``older_than``; returns how many."""

    # Multipart uploads (large LFS files): parts land in private staging, then get assembled.
    async def write_part_stream(
        self, upload_id: str, part_number: int, offset: int, chunks: AsyncIterator[bytes]
    ) -> str:
        """Store one part (``offset`` is where it starts in the whole); returns its ETag."""

    def assemble_parts(self, upload_id: str, total_size: int) -> StagedBlob:
        """Join the parts into staged content and measure it; fails if any part is missing."""

    def abort_parts(self, upload_id: str) -> None:
        """Drop the parts of an abandoned multipart upload."""


def lfs_key(sha256: str) -> str:
    return f"lfs/{sha256[:2]}/{sha256[2:4]}/{sha256}"
