"""The optional metadata footer ("XETBLOB" info) that may follow a xorb's chunks.

xorb.md does not describe it and hf_xet 1.8 does not send it on upload; older stored xorbs and the
client's own cache files carry it, so we accept it when present, check it against the chunks, and
can write one. Layout (little-endian), followed by a trailing u32 ``info_length`` = footer size:

- V1: "XETBLOB" 1 | xorb hash | "XBLBHSH" 0 n | n chunk hashes | "XBLBBND" 1 n | n chunk end
  offsets (serialized, headers included) | n unpacked end offsets | n | hashes-section offset from
  end | boundary-section offset from end | 16-byte buffer (first 4 bytes: uniqueness nonce).
- V0: "XETBLOB" 0 | xorb hash | n | n chunk end offsets | n chunk hashes | 16-byte buffer.

The nonce is excluded from the xorb hash, so two uploads of the same xorb may differ only there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.xet._binary import Reader, u32
from dockyard.xet.errors import XorbFormatError
from dockyard.xet.hashes import HASH_LEN, MerkleHash

IDENT = b"XETBLOB"
IDENT_HASHES = b"XBLBHSH"
IDENT_BOUNDARIES = b"XBLBBND"
BUFFER_LEN = 16
NONCE_LEN = 4


@dataclass(frozen=True, slots=True)
class XorbFooter:
    """Parsed footer. ``unpacked_offsets`` is None for V0 footers, which lack it."""

    version: int
    xorb_hash: MerkleHash
    chunk_hashes: tuple[MerkleHash, ...]
    chunk_end_offsets: tuple[int, ...]
    unpacked_end_offsets: tuple[int, ...] | None
    buffer: bytes

    @property
    def nonce(self) -> bytes:
        """The per-upload uniqueness nonce (zeros when unset)."""
        return self.buffer[:NONCE_LEN]


def _ident(r: Reader, expected: bytes) -> None:
    if r.take(len(expected), "section ident") != expected:
        raise XorbFormatError(f"xorb footer: expected section {expected.decode()}")


def _parse_v1(r: Reader) -> XorbFooter:
    xorb_hash = r.hash("footer xorb hash")
    hashes_start = r.pos
    _ident(r, IDENT_HASHES)
    if r.u8() != 0:
        raise XorbFormatError("xorb footer: unknown hashes-section version")
    n = r.u32()
    if n * HASH_LEN > r.remaining:
        raise XorbFormatError("xorb footer: chunk count exceeds footer size")
    hashes = tuple(r.hash() for _ in range(n))
    bounds_start = r.pos
    _ident(r, IDENT_BOUNDARIES)
    if r.u8() != 1:
        raise XorbFormatError("xorb footer: unknown boundaries-section version")
    if r.u32() != n:
        raise XorbFormatError("xorb footer: inconsistent chunk counts")
    ends = tuple(r.u32() for _ in range(n))
    unpacked = tuple(r.u32() for _ in range(n))
    if r.u32() != n:
        raise XorbFormatError("xorb footer: inconsistent chunk counts")
    hashes_from_end, bounds_from_end = r.u32(), r.u32()
    buffer = r.take(BUFFER_LEN, "footer buffer")
    if (r.pos - hashes_start, r.pos - bounds_start) != (hashes_from_end, bounds_from_end):
        raise XorbFormatError("xorb footer: section offsets do not match the layout")
    return XorbFooter(1, xorb_hash, hashes, ends, unpacked, buffer)


def _parse_v0(r: Reader) -> XorbFooter:
    xorb_hash = r.hash("footer xorb hash")
    n = r.u32()
    if n * (HASH_LEN + 4) > r.remaining:
        raise XorbFormatError("xorb footer: chunk count exceeds footer size")
    ends = tuple(r.u32() for _ in range(n))
    hashes = tuple(r.hash() for _ in range(n))
    buffer = r.take(BUFFER_LEN, "footer buffer")
    return XorbFooter(0, xorb_hash, hashes, ends, None, buffer)


def parse_footer(data: bytes, start: int) -> XorbFooter:
    """Parse the footer occupying ``data[start:]`` (including the trailing ``info_length``)."""
    if len(data) - start < len(IDENT) + 1 + 4:
        raise XorbFormatError("xorb footer truncated")
    info_length = int.from_bytes(data[-4:], "little")
    if info_length != len(data) - 4 - start:
        raise XorbFormatError("xorb footer length field does not match its position")
    r = Reader(data, XorbFormatError, start, len(data) - 4)
    _ident(r, IDENT)
    version = r.u8()
    if version == 1:
        footer = _parse_v1(r)
    elif version == 0:
        footer = _parse_v0(r)
    else:
        raise XorbFormatError(f"xorb footer: unknown version {version}")
    if r.remaining:
        raise XorbFormatError("xorb footer: trailing bytes")
    return footer


def serialize_footer(
    xorb_hash: MerkleHash,
    chunk_hashes: Sequence[MerkleHash],
    chunk_end_offsets: Sequence[int],
    unpacked_end_offsets: Sequence[int],
    nonce: bytes = bytes(NONCE_LEN),
) -> bytes:
    """Write a V1 footer plus the trailing ``info_length``."""
    if len(nonce) != NONCE_LEN:
        raise ValueError(f"nonce must be {NONCE_LEN} bytes")
    n = len(chunk_hashes)
    hashes = IDENT_HASHES + b"\x00" + u32(n) + b"".join(h.raw for h in chunk_hashes)
    bounds = IDENT_BOUNDARIES + b"\x01" + u32(n)
    bounds += b"".join(u32(o) for o in chunk_end_offsets) + b"".join(u32(o) for o in unpacked_end_offsets)
    tail_len = 4 * 3 + BUFFER_LEN
    tail = u32(n) + u32(len(hashes) + len(bounds) + tail_len) + u32(len(bounds) + tail_len)
    tail += nonce + bytes(BUFFER_LEN - NONCE_LEN)
    info = IDENT + b"\x01" + xorb_hash.raw + hashes + bounds + tail
    return info + u32(len(info))
