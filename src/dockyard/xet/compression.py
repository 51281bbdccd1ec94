"""Per-chunk compression schemes of xorbs (xorb.md): none, LZ4 frame, byte-grouping-4 + LZ4.

Decompression is bounded by the size the chunk header claims, so a hostile xorb cannot expand a
small LZ4 frame into gigabytes before we notice the mismatch.
"""

from __future__ import annotations

from enum import IntEnum

import lz4.frame

from dockyard.xet.errors import XorbFormatError


class CompressionScheme(IntEnum):
    """Value of the chunk header's compression-type byte."""

    NONE = 0
    LZ4 = 1
    BG4_LZ4 = 2


def bg4_group(data: bytes) -> bytes:
    """Byte grouping: bytes at positions 0,4,8.. then 1,5,9.. then 2,6.. then 3,7.. (xorb.md)."""
    return b"".join(data[j::4] for j in range(4))


def bg4_ungroup(grouped: bytes) -> bytes:
    """Inverse of :func:`bg4_group`: the first ``len % 4`` groups are one byte longer."""
    n = len(grouped)
    out = bytearray(n)
    pos = 0
    for j in range(4):
        size = n // 4 + (1 if j < n % 4 else 0)
        out[j::4] = grouped[pos : pos + size]
        pos += size
    return bytes(out)


def _lz4_decompress(payload: bytes, expected: int) -> bytes:
    decompressor = lz4.frame.LZ4FrameDecompressor()
    try:
        out: bytes = decompressor.decompress(payload, max_length=expected)
    except RuntimeError as exc:  # lz4 reports corrupt frames as RuntimeError
        raise XorbFormatError(f"corrupt LZ4 frame: {exc}") from exc
    if len(out) != expected or not decompressor.eof or decompressor.unused_data:
        raise XorbFormatError(f"LZ4 frame does not decode to exactly the declared {expected} bytes")
    return out


def decompress(scheme: int, payload: bytes, uncompressed_size: int) -> bytes:
    """Decode one chunk payload; raises ``XorbFormatError`` if it is not exactly as declared."""
    if scheme == CompressionScheme.NONE:
        if len(payload) != uncompressed_size:
            raise XorbFormatError("uncompressed chunk whose sizes disagree")
        return payload
    if scheme == CompressionScheme.LZ4:
        return _lz4_decompress(payload, uncompressed_size)
    if scheme == CompressionScheme.BG4_LZ4:
        return bg4_ungroup(_lz4_decompress(payload, uncompressed_size))
    raise XorbFormatError(f"unknown chunk compression scheme {scheme}")


def compress(data: bytes, scheme: CompressionScheme) -> bytes:
    """Encode ``data`` with ``scheme`` (no fallback; see :func:`compress_best`)."""
    if scheme == CompressionScheme.NONE:
        return data
    packed: bytes = lz4.frame.compress(data if scheme == CompressionScheme.LZ4 else bg4_group(data))
    return packed


def compress_best(data: bytes, schemes: tuple[CompressionScheme, ...]) -> tuple[CompressionScheme, bytes]:
    """Smallest encoding among ``schemes``, falling back to NONE when nothing is smaller (xorb.md)."""
    best_scheme, best = CompressionScheme.NONE, data
    for scheme in schemes:
        if scheme == CompressionScheme.NONE:
            continue
        candidate = compress(data, scheme)
        if len(candidate) < len(best):
            best_scheme, best = scheme, candidate
    return best_scheme, best
