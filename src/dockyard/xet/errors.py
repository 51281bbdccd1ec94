"""One small exception tree for the Xet primitives.

Why a tree: the HTTP layer maps these to status codes (400 for malformed uploads, 416 for
unsatisfiable ranges) without catching broad exceptions, and parsers promise to raise only these
for bad input, never ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations


class XetError(Exception):
    """Base class of every error raised by ``dockyard.xet``."""


class XetFormatError(XetError, ValueError):
    """Input bytes or text do not follow the Xet wire format (a client error, HTTP 400)."""


class InvalidHashError(XetFormatError):
    """A hash string is not 64 hex characters, or raw hash bytes are not 32 bytes long."""


class XorbFormatError(XetFormatError):
    """A serialized xorb is truncated, inconsistent or uses an unknown chunk encoding."""


class ShardFormatError(XetFormatError):
    """A serialized MDB shard is truncated, inconsistent or has a bad magic/version."""


class ShardLimitError(ShardFormatError):
    """A shard asks for more work than one upload may: too many terms, or a file too large."""


class HashMismatchError(XetFormatError):
    """Content was well formed but its recomputed hash differs from the claimed one."""


class ReconstructionError(XetError):
    """A file's terms are inconsistent with the xorb metadata needed to serve them."""


class RangeNotSatisfiableError(XetError):
    """The requested byte range starts at or beyond the end of the file (HTTP 416)."""

    def __init__(self, start: int, file_size: int) -> None:
        super().__init__(f"range start {start} is not below the file size {file_size}")
        self.start = start
        self.file_size = file_size
