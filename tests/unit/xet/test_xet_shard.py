"""Shard serialization, parsing, malformed input, and server-side verification (shard.md)."""

from __future__ import annotations

import contextlib
import hashlib
import random
import struct

import pytest

from dockyard.xet.errors import HashMismatchError, ShardFormatError, ShardLimitError, XetFormatError
from dockyard.xet.hashes import (
    ZERO_HASH,
    MerkleHash,
    chunk_hash,
    file_hash,
    hmac_chunk_hash,
    sha256_as_hash,
    verification_range_hash,
    xorb_hash,
)
from dockyard.xet.shard import (
    FOOTER_SIZE,
    HEADER_SIZE,
    RECORD_SIZE,
    FileInfo,
    FileTerm,
    Shard,
    XorbInfo,
    parse_shard,
)
from dockyard.xet.shard_writer import serialize_dedup_shard, serialize_shard
from dockyard.xet.verify import UnknownXorbError, check_xorb_info, verify_file_info, verify_shard

_rng = random.Random(1)
CHUNKS_A = [_rng.randbytes(_rng.randint(10, 300)) for _ in range(6)]
CHUNKS_B = [_rng.randbytes(_rng.randint(10, 300)) for _ in range(3)]


def _entries(chunks: list[bytes]) -> list[tuple[MerkleHash, int]]:
    return [(chunk_hash(c), len(c)) for c in chunks]


XORB_A = XorbInfo.from_chunks(xorb_hash(_entries(CHUNKS_A)), _entries(CHUNKS_A), bytes_on_disk=1234)
XORB_B = XorbInfo.from_chunks(xorb_hash(_entries(CHUNKS_B)), _entries(CHUNKS_B))
STORED = {XORB_A.xorb_hash: _entries(CHUNKS_A), XORB_B.xorb_hash: _entries(CHUNKS_B)}


def _term(xorb: XorbInfo, start: int, end: int) -> FileTerm:
    return FileTerm(xorb.xorb_hash, start, end, sum(c.unpacked_size for c in xorb.chunks[start:end]))


def _file(terms: list[FileTerm], *, verification: bool = True) -> FileInfo:
    leaves, checks, data = [], [], b""
    for t in terms:
        chunks = CHUNKS_A if t.xorb_hash == XORB_A.xorb_hash else CHUNKS_B
        leaves += _entries(chunks[t.chunk_start : t.chunk_end])
        checks.append(verification_range_hash(h for h, _ in _entries(chunks[t.chunk_start : t.chunk_end])))
        data += b"".join(chunks[t.chunk_start : t.chunk_end])
    return FileInfo(
        file_hash(leaves),
        tuple(terms),
        tuple(checks) if verification else None,
        sha256_as_hash(hashlib.sha256(data).digest()),
    )


FILE_1 = _file([_term(XORB_A, 0, 4), _term(XORB_B, 0, 3), _term(XORB_A, 2, 6)])
FILE_EMPTY = FileInfo(ZERO_HASH, (), (), sha256_as_hash(hashlib.sha256(b"").digest()))
FILES = [FILE_1, FILE_EMPTY]


@pytest.mark.parametrize("with_footer", [False, True])
def test_roundtrip(with_footer: bool) -> None:
    data = serialize_shard(FILES, [XORB_A, XORB_B], with_footer=with_footer, creation_timestamp=5)
    shard = parse_shard(data)
    assert shard.files == tuple(FILES)
    assert shard.xorbs == (XORB_A, XORB_B)
    assert (shard.footer is not None) == with_footer
    assert shard.hmac_key is None
    assert FILE_1.size == sum(t.unpacked_length for t in FILE_1.terms)
    assert FILE_EMPTY.sha256_hex == hashlib.sha256(b"").hexdigest()
    assert serialize_shard(shard.files, shard.xorbs) == serialize_shard(FILES, [XORB_A, XORB_B])


def _lookup(data: bytes, offset: int, count: int, fmt: str) -> list[tuple[int, ...]]:
    size = struct.calcsize(fmt)
    return [struct.unpack_from(fmt, data, offset + i * size) for i in range(count)]


def test_footer_lookup_tables_point_at_the_right_records() -> None:
    data = serialize_shard(FILES, [XORB_A, XORB_B], with_footer=True)
    footer = parse_shard(data).footer
    assert footer is not None
    files = _lookup(data, footer.file_lookup_offset, footer.file_lookup_count, "<QI")
    chunks = _lookup(data, footer.chunk_lookup_offset, footer.chunk_lookup_count, "<QII")
    xorbs = _lookup(data, footer.xorb_lookup_offset, footer.xorb_lookup_count, "<QI")
    for table in (files, chunks, xorbs):
        assert [row[0] for row in table] == sorted(row[0] for row in table)
    for key, index in files:
        assert MerkleHash(data[HEADER_SIZE + RECORD_SIZE * index :][:32]).u64s()[0] == key
    for key, index, chunk in chunks:
        pos = footer.xorb_info_offset + RECORD_SIZE * (index + 1 + chunk)
        assert MerkleHash(data[pos : pos + 32]).u64s()[0] == key
    assert len(xorbs) == 2
    assert len(chunks) == len(CHUNKS_A) + len(CHUNKS_B)
    assert footer.materialized_bytes == FILE_1.size


def test_dedup_shard_keys_chunk_hashes_with_the_footer_key() -> None:
    key = MerkleHash(bytes(range(32)))
    shard = parse_shard(serialize_dedup_shard([XORB_A], hmac_key=key, key_expiry=99))
    assert shard.files == ()
    assert shard.hmac_key == key
    assert shard.footer is not None
    assert shard.footer.key_expiry == 99
    assert [c.hash for c in shard.xorbs[0].chunks] == [hmac_chunk_hash(c.hash, key) for c in XORB_A.chunks]
    with pytest.raises(ValueError, match="footer"):
        serialize_shard([], [XORB_A], hmac_key=key)


def _with(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def _malformed() -> dict[str, bytes]:
    plain = serialize_shard(FILES, [XORB_A])
    footed = serialize_shard(FILES, [XORB_A], with_footer=True)
    first_term = HEADER_SIZE + RECORD_SIZE
    cas_start = len(plain) - RECORD_SIZE * (len(XORB_A.chunks) + 2)
    mixed = serialize_shard([FILE_1, _file([_term(XORB_A, 0, 1)], verification=False)], [])
    return {
        "empty": b"",
        "garbage": b"\x00" * 500,
        "bad_magic": _with(plain, 0, b"X"),
        "bad_version": _with(plain, 32, struct.pack("<Q", 3)),
        "bad_footer_size": _with(plain, 40, struct.pack("<Q", 7)),
        "footer_size_but_no_footer": _with(plain, 40, struct.pack("<Q", FOOTER_SIZE)),
        "trailing_bytes": plain + b"\x00" * 48,
        "no_file_bookend": plain[: HEADER_SIZE + RECORD_SIZE * 2],
        "inverted_term": _with(plain, first_term + 40, struct.pack("<II", 3, 1)),
        "term_count_too_big": _with(plain, HEADER_SIZE + 36, struct.pack("<I", 10**6)),
        "mixed_verification": mixed,
        "xorb_zero_chunks": _with(plain, cas_start + 36, struct.pack("<I", 0)),
        "xorb_bad_total": _with(plain, cas_start + 40, struct.pack("<I", 1)),
        "xorb_bad_offsets": _with(plain, cas_start + RECORD_SIZE * 2 + 32, struct.pack("<I", 1)),
        "footer_bad_version": _with(footed, len(footed) - FOOTER_SIZE, struct.pack("<Q", 2)),
        "footer_bad_offset": _with(footed, len(footed) - 8, struct.pack("<Q", 1)),
        "footer_bad_lookup": _with(footed, len(footed) - FOOTER_SIZE + 32, struct.pack("<Q", 99)),
        "footer_bad_cas_offset": _with(footed, len(footed) - FOOTER_SIZE + 16, struct.pack("<Q", 48)),
    }


@pytest.mark.parametrize("name", list(_malformed()))
def test_malformed_shards_are_rejected(name: str) -> None:
    with pytest.raises(ShardFormatError):
        parse_shard(_malformed()[name])


def test_every_truncation_and_random_damage_raises_only_format_errors() -> None:
    rng = random.Random(2)
    for data in (serialize_shard(FILES, [XORB_A]), serialize_shard(FILES, [XORB_A], with_footer=True)):
        for cut in range(len(data)):
            with pytest.raises(ShardFormatError):
                parse_shard(data[:cut])
        for _ in range(300):
            damaged = bytearray(data)
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
            with contextlib.suppress(ShardFormatError):
                parse_shard(bytes(damaged))


def test_verify_accepts_a_consistent_shard() -> None:
    verify_shard(Shard(tuple(FILES), (XORB_A, XORB_B)), STORED.get)


def test_verify_rejects_what_the_chunks_do_not_support() -> None:
    t = FILE_1.terms
    bad_verification = FileInfo(FILE_1.file_hash, t, (ZERO_HASH, *FILE_1.verification_hashes[1:]))  # type: ignore[index]
    wrong_file_hash = FileInfo(ZERO_HASH, t, FILE_1.verification_hashes)
    wrong_length = FileInfo(FILE_1.file_hash, (FileTerm(t[0].xorb_hash, 0, 4, 1), *t[1:]))
    past_end = FileInfo(FILE_1.file_hash, (FileTerm(t[0].xorb_hash, 0, 99, 1), *t[1:]))
    with pytest.raises(HashMismatchError):
        verify_file_info(bad_verification, STORED.get)
    with pytest.raises(HashMismatchError):
        verify_file_info(wrong_file_hash, STORED.get)
    with pytest.raises(XetFormatError):
        verify_file_info(wrong_length, STORED.get, require_verification=False)
    with pytest.raises(XetFormatError):
        verify_file_info(past_end, STORED.get, require_verification=False)
    with pytest.raises(XetFormatError, match="required"):
        verify_file_info(FileInfo(FILE_1.file_hash, t), STORED.get)
    with pytest.raises(UnknownXorbError):
        verify_file_info(FILE_1, {XORB_A.xorb_hash: STORED[XORB_A.xorb_hash]}.get)
    with pytest.raises(UnknownXorbError):
        verify_shard(Shard((), (XORB_A,)), {}.get)
    with pytest.raises(HashMismatchError):
        check_xorb_info(XORB_A, STORED[XORB_B.xorb_hash])


def test_term_count_is_limited_across_the_whole_shard() -> None:
    """The limit counts every file's terms, and refuses before reading the terms past it."""
    data = serialize_shard([FILE_1, FILE_1], [XORB_A, XORB_B])
    assert len(parse_shard(data, max_terms=6).files) == 2
    with pytest.raises(ShardLimitError, match="more terms"):
        parse_shard(data, max_terms=5)


def test_file_size_is_limited() -> None:
    data = serialize_shard([FILE_1], [XORB_A, XORB_B])
    assert parse_shard(data, max_file_size=FILE_1.size).files[0].size == FILE_1.size
    with pytest.raises(ShardLimitError, match="larger than"):
        parse_shard(data, max_file_size=FILE_1.size - 1)
    huge = FileInfo(FILE_1.file_hash, (FileTerm(XORB_A.xorb_hash, 0, 1, 2**32 - 1),) * 13)
    with pytest.raises(ShardLimitError):  # the default: the Hub's 50 GiB per file
        parse_shard(serialize_shard([huge], []))
