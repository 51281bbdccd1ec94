"""Xorb building, parsing and rejection of malformed input (xorb.md)."""

from __future__ import annotations

import contextlib
import random

import lz4.frame
import pytest

from dockyard.xet.compression import CompressionScheme, bg4_group, bg4_ungroup
from dockyard.xet.errors import HashMismatchError, ReconstructionError, XetFormatError, XorbFormatError
from dockyard.xet.hashes import MerkleHash, chunk_hash, xorb_hash
from dockyard.xet.xorb import (
    CHUNK_HEADER_LEN,
    ChunkHeader,
    build_xorb,
    decode_chunks,
    group_chunks,
    parse_xorb,
)

_rng = random.Random(99)
CHUNKS = [
    _rng.randbytes(9000),  # incompressible: stored raw
    b"abcd" * 5000,  # LZ4 wins
    bytes(x for i in range(6000) for x in (i & 0xFF, 0, 0, 0x3F)) + b"\x01\x02\x03",  # BG4 territory
    b"z",
]


def _entries(chunks: list[bytes]) -> list[tuple[MerkleHash, int]]:
    return [(chunk_hash(c), len(c)) for c in chunks]


@pytest.mark.parametrize("n", range(10))
def test_bg4_roundtrip(n: int) -> None:
    data = bytes(range(n))
    assert bg4_ungroup(bg4_group(data)) == data
    if n == 6:
        assert bg4_group(data) == bytes([0, 4, 1, 5, 2, 3])


@pytest.mark.parametrize("with_footer", [False, True])
def test_build_then_parse_roundtrip(with_footer: bool) -> None:
    built = build_xorb(CHUNKS, with_footer=with_footer)
    parsed = parse_xorb(built.data, xorb_hash(_entries(CHUNKS)))
    assert parsed == built.parsed
    assert [c.scheme for c in parsed.chunks] == [
        CompressionScheme.NONE,
        CompressionScheme.LZ4,
        CompressionScheme.BG4_LZ4,
        CompressionScheme.NONE,
    ]
    assert [c.hash for c in parsed.chunks] == [h for h, _ in _entries(CHUNKS)]
    assert parsed.unpacked_length == sum(map(len, CHUNKS))
    assert (parsed.footer is not None) == with_footer
    assert parsed.content_length == parsed.chunks[-1].byte_end
    assert decode_chunks(built.data[: parsed.content_length]) == CHUNKS


def test_a_byte_range_of_chunks_decodes_alone() -> None:
    built = build_xorb(CHUNKS)
    start, end = built.parsed.chunk_byte_range(1, 3)
    assert decode_chunks(built.data[start:end]) == CHUNKS[1:3]
    with pytest.raises(ReconstructionError):
        built.parsed.chunk_byte_range(2, 9)


def test_footer_nonce_changes_bytes_not_hash() -> None:
    a = build_xorb(CHUNKS, with_footer=True, nonce=b"\x00\x00\x00\x00")
    b = build_xorb(CHUNKS, with_footer=True, nonce=b"\x01\x02\x03\x04")
    assert a.data != b.data
    assert a.hash == b.hash == build_xorb(CHUNKS).hash
    assert b.parsed.footer is not None
    assert b.parsed.footer.nonce == b"\x01\x02\x03\x04"


def test_wrong_claimed_hash_is_rejected() -> None:
    built = build_xorb(CHUNKS)
    with pytest.raises(HashMismatchError):
        parse_xorb(built.data, chunk_hash(b"something else"))


def _header(data: bytes, offset: int = 0) -> ChunkHeader:
    return ChunkHeader.parse(data[offset : offset + CHUNK_HEADER_LEN])


def _replace_header(data: bytes, offset: int, **changes: int) -> bytes:
    h = _header(data, offset)
    fields = {
        "compressed_size": h.compressed_size,
        "scheme": h.scheme,
        "uncompressed_size": h.uncompressed_size,
    }
    fields["version"] = h.version
    fields.update(changes)
    return data[:offset] + ChunkHeader(**fields).to_bytes() + data[offset + CHUNK_HEADER_LEN :]


def _malformed() -> dict[str, bytes]:
    plain = build_xorb(CHUNKS).data
    footed = build_xorb(CHUNKS, with_footer=True).data
    lz4_at = build_xorb(CHUNKS).parsed.chunks[1].byte_start
    payload = lz4_at + CHUNK_HEADER_LEN
    other = build_xorb([b"other chunk"], with_footer=True).data
    return {
        "empty": b"",
        "header_only": plain[:CHUNK_HEADER_LEN],
        "bad_version": _replace_header(plain, 0, version=1),
        "unknown_scheme": _replace_header(plain, 0, scheme=7),
        "raw_size_mismatch": _replace_header(plain, 0, uncompressed_size=8999),
        "zero_size_chunk": ChunkHeader(0, 0, 0).to_bytes(),
        "oversized_chunk": ChunkHeader(200_000, 0, 200_000).to_bytes() + bytes(200_000),
        "lz4_declares_more": _replace_header(plain, lz4_at, uncompressed_size=20_001),
        "lz4_declares_less": _replace_header(plain, lz4_at, uncompressed_size=19_999),
        "lz4_corrupt": plain[:payload] + bytes(16) + plain[payload + 16 :],
        "lz4_bomb": ChunkHeader(len(bomb := lz4.frame.compress(bytes(10**6))), 1, 1000).to_bytes() + bomb,
        "trailing_garbage": plain + b"\x00\x01",
        "footer_bad_length": footed[:-4] + (1).to_bytes(4, "little"),
        "footer_wrong_hash": footed[: len(plain) + 8] + b"\xee" * 32 + footed[len(plain) + 40 :],
        "footer_of_other_xorb": plain + other[len(build_xorb([b"other chunk"]).data) :],
        "footer_bad_ident": plain + b"XETBLOX" + footed[len(plain) + 7 :],
    }


@pytest.mark.parametrize("name", list(_malformed()))
def test_malformed_xorbs_are_rejected(name: str) -> None:
    with pytest.raises(XorbFormatError if "hash" not in name and "other" not in name else XetFormatError):
        parse_xorb(_malformed()[name])


def test_every_truncation_is_rejected_cleanly() -> None:
    data = build_xorb(CHUNKS, with_footer=True).data
    for cut in range(0, len(data), 7):
        with pytest.raises(XetFormatError):
            parse_xorb(data[:cut])


def test_random_garbage_and_bit_flips_only_raise_format_errors() -> None:
    rng = random.Random(5)
    data = build_xorb(CHUNKS, with_footer=True).data
    for _ in range(300):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        for candidate in (bytes(flipped), rng.randbytes(rng.randint(0, 400))):
            with contextlib.suppress(XetFormatError):
                parse_xorb(candidate)


def test_size_limit() -> None:
    data = build_xorb(CHUNKS).data
    with pytest.raises(XorbFormatError):
        parse_xorb(data, max_size=len(data) - 1)


def test_build_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one chunk"):
        build_xorb([])
    with pytest.raises(ValueError, match="chunk size"):
        build_xorb([b""])


def test_chunk_count_limit() -> None:
    data = build_xorb([b"a", b"b", b"c"]).data
    assert len(parse_xorb(data, max_chunks=3).chunks) == 3
    with pytest.raises(XorbFormatError, match="more than 2 chunks"):
        parse_xorb(data, max_chunks=2)


def test_group_chunks_respects_size_and_count_limits() -> None:
    chunks = [bytes(100)] * 10
    groups = list(group_chunks(chunks, max_size=3 * (100 + CHUNK_HEADER_LEN), max_chunks=8))
    assert [len(g) for g in groups] == [3, 3, 3, 1]
    assert [len(g) for g in group_chunks(chunks, max_chunks=4)] == [4, 4, 2]
    assert list(group_chunks([])) == []
    for group in group_chunks(chunks, max_size=350):
        assert len(build_xorb(group, schemes=()).data) <= 350
