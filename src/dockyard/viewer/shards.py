"""Parquet shards as random-access files. The viewer never copies a split into memory: pyarrow and
DuckDB read row groups through :class:`RangeFile`, which asks the shard's source for byte ranges."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow.parquet as pq  # type: ignore[import-untyped]


class RangeSource(Protocol):
    """Anything that reads the bytes ``start..end`` (inclusive) of one stored file, like the
    catalog's ``ShardSource`` and the file viewers' ``Source``."""

    @property
    def read_range(self) -> Callable[[int, int], bytes]: ...


@dataclass(frozen=True, slots=True)
class Shard:
    """One Parquet file of a split, as the query functions need it."""

    filename: str
    size: int
    num_rows: int
    source: RangeSource


class LocalSource:
    """A file on disk (tests, benches, and blobs of the local store)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def read_range(self) -> Callable[[int, int], bytes]:
        def read(start: int, end: int) -> bytes:
            with self.path.open("rb") as handle:
                handle.seek(start)
                return handle.read(end - start + 1)

        return read


class RangeFile(io.RawIOBase):
    """A seekable, read-only file over a :class:`RangeSource`, for ``pq.ParquetFile``."""

    def __init__(self, source: RangeSource, size: int) -> None:
        super().__init__()
        self._source = source
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = self._source.read_range(self._pos, self._pos + want - 1)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        want = self._size - self._pos if size is None or size < 0 else min(size, self._size - self._pos)
        if want <= 0:
            return b""
        data = self._source.read_range(self._pos, self._pos + want - 1)
        self._pos += len(data)
        return data


def open_shard(shard: Shard) -> pq.ParquetFile:
    """A ParquetFile reading the shard lazily (footer first, then only the row groups asked for)."""
    return pq.ParquetFile(RangeFile(shard.source, shard.size))


def local_shards(paths: Sequence[Path]) -> list[Shard]:
    """Shards for Parquet files on disk, in order."""
    shards = []
    for path in paths:
        rows = pq.ParquetFile(path).metadata.num_rows
        shards.append(Shard(path.name, path.stat().st_size, rows, LocalSource(path)))
    return shards
