"""Limits on what a conversion reads: archives and compressed files that expand too much (zip
bombs) are refused before ``datasets`` opens them, and a row with an over-large cell fails its
split instead of filling the worker's memory."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from dockyard.settings import Settings
from dockyard.viewer.errors import FileFormatError, TooBigContentError

#: Expanding to this much is never a bomb, whatever the ratio (a small, repetitive CSV compresses
#: far better than 100:1).
ALWAYS_ALLOWED = 8 * 1024 * 1024

#: Openers of single-stream compressed files; the caller closes what they return.
_STREAMS: dict[str, Callable[[Path], IO[bytes]]] = {
    ".gz": lambda path: cast(IO[bytes], gzip.open(path, "rb")),  # noqa: SIM115 - closed by _check_stream
    ".tgz": lambda path: cast(IO[bytes], gzip.open(path, "rb")),  # noqa: SIM115 - closed by _check_stream
    ".bz2": lambda path: cast(IO[bytes], bz2.open(path, "rb")),  # noqa: SIM115 - closed by _check_stream
    ".xz": lambda path: cast(IO[bytes], lzma.open(path, "rb")),  # noqa: SIM115 - closed by _check_stream
}


def check_file(settings: Settings, path: Path, name: str) -> None:
    """Refuse ``path`` (called ``name`` in the repo) if it expands past the limits."""
    size = max(path.stat().st_size, 1)
    ceiling = min(settings.viewer_max_split_bytes, max(size * settings.viewer_max_decompression_ratio, ALWAYS_ALLOWED))
    lower = name.lower()
    if lower.endswith(".zip"):
        _check_zip(path, name, ceiling)
    elif lower.endswith(".zst"):
        _check_stream(_zstd_reader(path), name, ceiling)
    else:
        opener = next((open_ for suffix, open_ in _STREAMS.items() if lower.endswith(suffix)), None)
        if opener is not None:
            _check_stream(opener(path), name, ceiling)


def _check_zip(path: Path, name: str, ceiling: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > ceiling:
                raise _bomb(name, declared)
            for info in archive.infolist():  # declared sizes can lie: count what really comes out
                with archive.open(info) as member:
                    _check_stream(member, name, ceiling)
    except zipfile.BadZipFile as error:
        raise FileFormatError(f"{name} is not a valid zip archive: {error}") from None


def _check_stream(stream: IO[bytes], name: str, ceiling: int) -> None:
    total = 0
    try:
        with stream:
            while block := stream.read(1024 * 1024):
                total += len(block)
                if total > ceiling:
                    raise _bomb(name, total)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile, _zstd_error()) as error:
        raise FileFormatError(f"{name} cannot be decompressed: {error}") from None


def _zstd_error() -> type[Exception]:
    import zstandard

    return zstandard.ZstdError


def _zstd_reader(path: Path) -> IO[bytes]:
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(path.open("rb"), closefd=True)


def _bomb(name: str, size: int) -> TooBigContentError:
    return TooBigContentError(
        f"{name} expands to more than {size} bytes, over the viewer's decompression limits: it is not converted"
    )


def check_rows(settings: Settings, table: pa.Table) -> None:
    """Fail the split if any cell (strings, binaries, one level of struct such as an image) is
    larger than ``viewer_max_row_bytes``."""
    limit = settings.viewer_max_row_bytes
    for name, column in zip(table.column_names, table.columns, strict=True):
        for array in _leaves(column.type, column):
            if array.num_chunks and (largest := pc.max(pc.binary_length(array)).as_py()) and largest > limit:
                raise TooBigContentError(f"A row has a {name!r} value of {largest} bytes, over the limit of {limit}")


def _leaves(kind: pa.DataType, column: pa.ChunkedArray) -> list[pa.ChunkedArray]:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
        return [column]
    if pa.types.is_large_binary(kind):
        return [column]
    if pa.types.is_struct(kind):
        return [
            pa.chunked_array([chunk.field(i) for chunk in column.chunks], type=kind.field(i).type)
            for i in range(kind.num_fields)
            if _is_bytes(kind.field(i).type)
        ]
    return []


def _is_bytes(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )
