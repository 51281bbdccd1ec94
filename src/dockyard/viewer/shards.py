"""Parquet shards as random-access files. The viewer never copies a split into memory: pyarrow and
DuckDB read row groups through :class:`~dockyard.storage.ranged_file.RangedFile`, which asks the
shard's source for byte ranges."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from dockyard.storage.ranged_file import RangedFile


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


def open_shard(shard: Shard) -> pq.ParquetFile:
    """A ParquetFile reading the shard lazily (footer first, then only the row groups asked for)."""
    return pq.ParquetFile(RangedFile(shard.source.read_range, shard.size))


def local_shards(paths: Sequence[Path]) -> list[Shard]:
    """Shards for Parquet files on disk, in order."""
    shards = []
    for path in paths:
        rows = pq.ParquetFile(path).metadata.num_rows
        shards.append(Shard(path.name, path.stat().st_size, rows, LocalSource(path)))
    return shards
