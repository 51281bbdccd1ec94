"""Serialize MDB shards, including the footer and lookup tables the client needs for dedup.

Why lookup tables: a shard with a footer is opened by the client through its footer, and the
client finds dedup matches through the chunk lookup table (sorted truncated chunk hashes), not
by scanning. Upload shards omit the footer (shard.md); global-dedup responses must carry it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from dockyard.xet._binary import u32, u64
from dockyard.xet.hashes import BOOKEND_HASH, ZERO_HASH, MerkleHash, hmac_chunk_hash
from dockyard.xet.shard import (
    CHUNK_LOOKUP_ENTRY,
    FILE_LOOKUP_ENTRY,
    FLAG_WITH_METADATA_EXT,
    FLAG_WITH_VERIFICATION,
    FOOTER_SIZE,
    FOOTER_VERSION,
    HEADER_SIZE,
    HEADER_VERSION,
    NO_EXPIRY,
    RECORD_SIZE,
    SHARD_HEADER_TAG,
    XORB_LOOKUP_ENTRY,
    FileInfo,
    XorbInfo,
)

_BOOKEND = BOOKEND_HASH.raw + bytes(16)
_PAD16 = bytes(16)


def _truncated(h: MerkleHash) -> int:
    """The lookup-table key: the hash's first little-endian u64."""
    return h.u64s()[0]


def _file_block(f: FileInfo) -> bytes:
    flags = (FLAG_WITH_VERIFICATION if f.verification_hashes is not None else 0) | (
        FLAG_WITH_METADATA_EXT if f.sha256 is not None else 0
    )
    if f.verification_hashes is not None and len(f.verification_hashes) != len(f.terms):
        raise ValueError(f"file {f.file_hash}: one verification hash per term is required")
    parts = [f.file_hash.raw, u32(flags), u32(len(f.terms)), bytes(8)]
    for t in f.terms:
        parts += [t.xorb_hash.raw, u32(t.flags), u32(t.unpacked_length), u32(t.chunk_start), u32(t.chunk_end)]
    for v in f.verification_hashes or ():
        parts += [v.raw, _PAD16]
    if f.sha256 is not None:
        parts += [f.sha256.raw, _PAD16]
    return b"".join(parts)


def _xorb_block(x: XorbInfo, key: MerkleHash) -> bytes:
    parts = [x.xorb_hash.raw, u32(x.flags), u32(len(x.chunks)), u32(x.unpacked_bytes), u32(x.bytes_on_disk)]
    for c in x.chunks:
        parts += [hmac_chunk_hash(c.hash, key).raw, u32(c.unpacked_offset), u32(c.unpacked_size), bytes(8)]
    return b"".join(parts)


def _lookup_tables(
    files: Sequence[FileInfo], file_blocks: list[bytes], xorbs: Sequence[XorbInfo], key: MerkleHash
) -> tuple[tuple[bytes, int], tuple[bytes, int], tuple[bytes, int]]:
    """File, xorb and chunk lookup tables, each sorted by truncated hash (stable)."""
    file_rows, index = [], 0
    for f, block in zip(files, file_blocks, strict=True):
        file_rows.append((_truncated(f.file_hash), index))
        index += len(block) // RECORD_SIZE
    xorb_rows, chunk_rows, index = [], [], 0
    for x in xorbs:
        xorb_rows.append((_truncated(x.xorb_hash), index))
        for i, c in enumerate(x.chunks):
            chunk_rows.append((_truncated(hmac_chunk_hash(c.hash, key)), index, i))
        index += 1 + len(x.chunks)
    file_table = b"".join(u64(k) + u32(v) for k, v in sorted(file_rows, key=lambda r: r[0]))
    xorb_table = b"".join(u64(k) + u32(v) for k, v in sorted(xorb_rows, key=lambda r: r[0]))
    chunk_table = b"".join(u64(k) + u32(a) + u32(b) for k, a, b in sorted(chunk_rows, key=lambda r: r[0]))
    return (file_table, len(file_rows)), (xorb_table, len(xorb_rows)), (chunk_table, len(chunk_rows))


def serialize_shard(
    files: Sequence[FileInfo] = (),
    xorbs: Sequence[XorbInfo] = (),
    *,
    with_footer: bool = False,
    hmac_key: MerkleHash | None = None,
    creation_timestamp: int | None = None,
    key_expiry: int = NO_EXPIRY,
) -> bytes:
    """Serialize a shard.

    ``xorbs`` carry plain chunk hashes; with ``hmac_key`` they are written keyed (and the key goes
    in the footer, so ``hmac_key`` requires ``with_footer``). Upload-style shards have no footer.
    """
    key = hmac_key or ZERO_HASH
    if not key.is_zero() and not with_footer:
        raise ValueError("an HMAC key lives in the footer: use with_footer=True")
    file_blocks = [_file_block(f) for f in files]
    file_section = b"".join(file_blocks) + _BOOKEND
    xorb_section = b"".join(_xorb_block(x, key) for x in xorbs) + _BOOKEND
    header = SHARD_HEADER_TAG + u64(HEADER_VERSION) + u64(FOOTER_SIZE if with_footer else 0)
    body = header + file_section + xorb_section
    if not with_footer:
        return body
    (ft, fn), (xt, xn), (ct, cn) = _lookup_tables(files, file_blocks, xorbs, key)
    file_lookup = len(body)
    footer_offset = file_lookup + len(ft) + len(xt) + len(ct)
    assert len(ft) == fn * FILE_LOOKUP_ENTRY
    assert len(xt) == xn * XORB_LOOKUP_ENTRY
    assert len(ct) == cn * CHUNK_LOOKUP_ENTRY
    created = int(time.time()) if creation_timestamp is None else creation_timestamp
    footer = b"".join(
        [
            u64(FOOTER_VERSION), u64(HEADER_SIZE), u64(HEADER_SIZE + len(file_section)),
            u64(file_lookup), u64(fn), u64(file_lookup + len(ft)), u64(xn),
            u64(file_lookup + len(ft) + len(xt)), u64(cn),
            key.raw, u64(created), u64(key_expiry), bytes(48),
            u64(sum(x.bytes_on_disk for x in xorbs)), u64(sum(f.size for f in files)),
            u64(sum(x.unpacked_bytes for x in xorbs)), u64(footer_offset),
        ]
    )  # fmt: skip
    assert len(footer) == FOOTER_SIZE
    return body + ft + xt + ct + footer


def serialize_dedup_shard(
    xorbs: Sequence[XorbInfo], *, hmac_key: MerkleHash | None = None, key_expiry: int = NO_EXPIRY
) -> bytes:
    """The body of a ``GET /v1/chunks/...`` answer: xorbs only, with footer and optional HMAC key."""
    return serialize_shard((), xorbs, with_footer=True, hmac_key=hmac_key, key_expiry=key_expiry)
