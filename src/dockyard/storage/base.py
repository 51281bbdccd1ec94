"""The BlobStore protocol every backend implements.

Keys are opaque relative paths chosen by the domains (``lfs/<sha256>``, ``xet/xorbs/<hash>``).
A blob becomes visible under its key only once it is complete: writers stage content and
publish it with one atomic step, so a crash never leaves a half-written blob under a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
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

    def publish(self, staged: StagedBlob, key: str) -> bool:
        """Atomically make staged content visible under ``key``, and drop the staged copy.

        Never replaces a blob already under ``key``: keys are content addresses the caller has
        verified, so what is there is the same content, and other repos may be reading it.
        Returns False when a blob was already there (the staged copy was dropped): for a key that
        names content but not its encoding (a xorb), the caller must describe the stored bytes."""

    def discard(self, staged: StagedBlob) -> None:
        """Drop staged content that failed verification."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store small content under ``key`` atomically."""

    def delete(self, key: str) -> None:
        """Remove a blob; absent keys are ignored."""

    def move(self, key: str, new_key: str) -> bool:
        """Move a blob to ``new_key`` (replacing what is there); False when ``key`` is absent.
        Garbage collection moves bytes aside before deleting them, so it can put them back."""

    def iter_keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        """All (key, size) pairs under a prefix, for garbage collection and backups."""

    def modified_at(self, key: str) -> datetime | None:
        """When the bytes under ``key`` were last written (None when absent)."""

    def purge_staging(self, older_than: datetime) -> int:
        """Remove staged uploads and multipart parts abandoned before ``older_than``; returns how many."""

    # Multipart uploads (large LFS files): parts land in private staging, then get assembled.
    async def write_part_stream(
        self, upload_id: str, part_number: int, offset: int, chunks: AsyncIterator[bytes], *, size: int
    ) -> str:
        """Store one part of exactly ``size`` bytes (``offset`` is where it starts in the whole);
        returns its ETag. A longer part is refused (413) before anything past its end is written,
        a shorter one once its stream ends (400)."""

    def assemble_parts(self, upload_id: str, total_size: int) -> StagedBlob:
        """Join the parts into staged content and measure it; fails if any part is missing.

        The sha256 is computed from the assembled bytes themselves, never from the bytes as they
        arrived, so a part that overlapped, was retried or raced another cannot slip through."""

    def abort_parts(self, upload_id: str) -> None:
        """Drop the parts of an abandoned multipart upload."""

    # Optional capability: clients upload straight to the backend (S3 presigned URLs), so the
    # bytes never pass through Dockyard. A backend without it (local disk) returns None from
    # ``presigned_put_url`` and ``create_multipart``, and callers fall back to the routes above.
    # The URLs write exactly the key they name, unverified: point them at a private upload key,
    # never at a content key like ``lfs_key(oid)``, and check sha256/size before anything
    # refers to the content.
    def measure_staged(self, token: str) -> StagedBlob | None:
        """sha256 and size of what a client PUT to ``.staging/<token>`` through a presigned URL
        (None when nothing arrived): the caller verifies it before publishing, as for any upload."""

    def presigned_put_url(self, key: str, *, expires_in: int, content_length: int | None = None) -> str | None:
        """A URL that accepts one PUT of the content of ``key`` (of exactly ``content_length`` bytes
        when given: the length is signed), or None when the backend cannot hand out upload URLs."""

    def create_multipart(self, key: str) -> str | None:
        """Start a backend multipart upload to ``key``; its upload id, or None when not supported."""

    def presigned_part_url(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        """A URL that accepts one PUT of part ``part_number`` (1-based) of a :meth:`create_multipart`
        upload; its response carries the part's ``ETag``."""

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        """Join the ``(part_number, etag)`` parts into the object ``key`` (BadRequestError when
        the parts do not match what was uploaded)."""

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an unfinished :meth:`create_multipart` upload and its parts."""


def lfs_key(sha256: str) -> str:
    return f"lfs/{sha256[:2]}/{sha256[2:4]}/{sha256}"
