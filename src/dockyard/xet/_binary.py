"""A bounds-checked little-endian reader shared by the xorb and shard parsers.

Why: every parser promises to raise its own ``XetFormatError`` subclass on truncated input; doing
the bounds check in one place means no ``struct.error`` or ``IndexError`` can leak out.
"""

from __future__ import annotations

import struct

from dockyard.xet.errors import XetFormatError
from dockyard.xet.hashes import HASH_LEN, MerkleHash

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Reader:
    """Sequential reader over ``data[start:end]`` raising ``error`` when reading past the end."""

    def __init__(self, data: bytes, error: type[XetFormatError], start: int = 0, end: int | None = None):
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end
        self.error = error

    @property
    def remaining(self) -> int:
        """Bytes left before the end bound."""
        return self.end - self.pos

    def take(self, n: int, what: str = "data") -> bytes:
        """Next ``n`` bytes; raises ``self.error`` when fewer are left."""
        if n < 0 or self.pos + n > self.end:
            raise self.error(f"truncated: need {n} bytes of {what} at offset {self.pos}, have {self.remaining}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str = "u8") -> int:
        """Next unsigned byte."""
        return self.take(1, what)[0]

    def u32(self, what: str = "u32") -> int:
        """Next little-endian u32."""
        value: int = _U32.unpack(self.take(4, what))[0]
        return value

    def u64(self, what: str = "u64") -> int:
        """Next little-endian u64."""
        value: int = _U64.unpack(self.take(8, what))[0]
        return value

    def hash(self, what: str = "hash") -> MerkleHash:
        """Next 32 raw hash bytes."""
        return MerkleHash(self.take(HASH_LEN, what))


def u32(value: int) -> bytes:
    """Little-endian u32 bytes."""
    return _U32.pack(value)


def u64(value: int) -> bytes:
    """Little-endian u64 bytes."""
    return _U64.pack(value)
