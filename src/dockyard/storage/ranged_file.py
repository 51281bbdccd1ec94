"""A read-only, seekable file over a ``read_range(start, end_inclusive)`` function: what
``pyarrow.parquet.ParquetFile`` needs to read a footer and the row groups it is asked for from a
git blob, a whole stored object or Xet chunks, without fetching the file."""

from __future__ import annotations

import io
from collections.abc import Callable


class RangedFile(io.RawIOBase):
    def __init__(self, read_range: Callable[[int, int], bytes], size: int) -> None:
        super().__init__()
        self._read_range = read_range
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        """One ranged read of exactly what is asked (the default buffer would read more)."""
        left = self._size - self._position
        want = left if size is None or size < 0 else min(size, left)
        if want <= 0:
            return b""
        data = self._read_range(self._position, self._position + want - 1)
        self._position += len(data)
        return data
