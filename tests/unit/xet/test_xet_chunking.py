"""Content-defined chunking + file hashing, judged by ``hf_xet.hash_files``."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import hf_xet
import numpy as np
import pytest

from dockyard.xet._gear_table import GEAR_TABLE
from dockyard.xet.chunking import (
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    Chunker,
    HashingChunker,
    chunk_boundaries,
    chunk_entries,
    file_hash_of_bytes,
    file_hash_of_stream,
    iter_chunks,
    iter_stream_chunks,
)

_rng = random.Random(20240601)
_R3M = _rng.randbytes(3_000_000)

PAYLOADS = {
    "empty": b"",
    "one_byte": b"x",
    "three_bytes": b"abc",  # shorter than the gear window's widening steps
    "thirty_one_bytes": bytes(range(31)),
    "below_min": _rng.randbytes(MIN_CHUNK_SIZE - 1),
    "exactly_min": _rng.randbytes(MIN_CHUNK_SIZE),
    "random_100k": _rng.randbytes(100_000),
    "random_3m": _R3M,
    "repeated_3m": b"hello world " * 250_000,
    "zeros_1m": bytes(1_000_000),
    "mixed": (_rng.randbytes(300_000) + b"abc" * 100_000) * 3,
}


def _client_hashes(tmp_path: Path, payloads: list[bytes]) -> list[str]:
    paths = []
    for i, data in enumerate(payloads):
        path = tmp_path / f"p{i}.bin"
        path.write_bytes(data)
        paths.append(str(path))
    infos = hf_xet.hash_files(paths)
    for info, data in zip(infos, payloads, strict=True):
        assert info.file_size == len(data)
        # hf_xet 1.8's hash_files computes no sha256 (uploads do); accept a correct one if it ever does
        assert info.sha256 in (None, hashlib.sha256(data).hexdigest())
    return [info.hash for info in infos]


def test_file_hashes_match_hf_xet(tmp_path: Path) -> None:
    expected = _client_hashes(tmp_path, list(PAYLOADS.values()))
    ours = [str(file_hash_of_bytes(data)) for data in PAYLOADS.values()]
    assert dict(zip(PAYLOADS, ours, strict=True)) == dict(zip(PAYLOADS, expected, strict=True))


def _gear_window_match() -> bytes:
    """64 bytes whose gear hash has the 16 mask bits clear (a boundary wherever it lands)."""
    table = np.array(GEAR_TABLE, dtype=np.uint64)
    buf = np.frombuffer(random.Random(7).randbytes(1 << 21), dtype=np.uint8)
    h = table[buf]
    for span in (1, 2, 4, 8, 16, 32):
        h[span:] += h[:-span] << np.uint64(span)
    i = int(np.flatnonzero((h[63:] >> np.uint64(48)) == 0)[0]) + 63
    return buf[i - 63 : i + 1].tobytes()


def _partial_hash_match() -> bytes:
    """3 bytes whose gear hash *from a reset state* clears the mask: a boundary only if an
    implementation tested before MIN_CHUNK_SIZE right after skipping MIN - 65 bytes."""
    t = np.array(GEAR_TABLE, dtype=np.uint64)
    h = (t << np.uint64(2))[:, None, None] + (t << np.uint64(1))[None, :, None] + t[None, None, :]
    a, b, c = np.argwhere((h >> np.uint64(48)) == 0)[0]
    return bytes([int(a), int(b), int(c)])


def test_boundary_rules_at_the_minimum_size_match_hf_xet(tmp_path: Path) -> None:
    rng = random.Random(11)
    window = _gear_window_match()
    cases = {
        # a full-window match completing a chunk of MIN - 1 bytes (must not cut) and of MIN (cuts)
        "match_at_min_minus_1": rng.randbytes(MIN_CHUNK_SIZE - 1 - 64) + window + rng.randbytes(200_000),
        "match_at_min": rng.randbytes(MIN_CHUNK_SIZE - 64) + window + rng.randbytes(200_000),
        # a partial-window match right after the skip-ahead point: the spec says no boundary
        "partial_after_skip": rng.randbytes(MIN_CHUNK_SIZE - 65) + _partial_hash_match() + rng.randbytes(200_000),
        # two matches in one chunk: only the first one past MIN counts
        "two_matches": rng.randbytes(20_000) + window + rng.randbytes(5_000) + window + rng.randbytes(99_000),
    }
    assert chunk_boundaries(cases["match_at_min"])[0] == MIN_CHUNK_SIZE
    assert chunk_boundaries(cases["match_at_min_minus_1"])[0] != MIN_CHUNK_SIZE - 1
    expected = _client_hashes(tmp_path, list(cases.values()))
    ours = [str(file_hash_of_bytes(d)) for d in cases.values()]
    assert dict(zip(cases, ours, strict=True)) == dict(zip(cases, expected, strict=True))


def test_chunk_sizes_respect_min_and_max() -> None:
    for data in PAYLOADS.values():
        sizes = [len(c) for c in iter_chunks(data)]
        assert sum(sizes) == len(data)
        assert all(s <= MAX_CHUNK_SIZE for s in sizes)
        assert all(s >= MIN_CHUNK_SIZE for s in sizes[:-1])
    assert [len(c) for c in iter_chunks(bytes(3 * MAX_CHUNK_SIZE))] == [MAX_CHUNK_SIZE] * 3


@pytest.mark.parametrize("read_size", [1, 63, 64, 1000, 70_001, 1 << 20])
def test_streaming_gives_the_same_chunks_for_any_read_size(read_size: int) -> None:
    data = _R3M[:400_000] if read_size < 64 else _R3M
    expected = list(iter_chunks(data))
    assert list(iter_stream_chunks(io.BytesIO(data), read_size=read_size)) == expected


def test_incremental_updates_with_uneven_pieces() -> None:
    rng = random.Random(3)
    data = PAYLOADS["mixed"]
    chunker, out, pos = Chunker(), [], 0
    while pos < len(data):
        step = rng.choice([1, 7, 64, 5_000, 131_072, 400_000])
        out += chunker.update(memoryview(data)[pos : pos + step])
        pos += step
    out += chunker.finish()
    assert out == list(iter_chunks(data))
    assert file_hash_of_stream(io.BytesIO(data), read_size=777) == file_hash_of_bytes(data)
    hasher = HashingChunker()
    entries = hasher.update(data[:100_000]) + hasher.update(data[100_000:]) + hasher.finish()
    assert entries == chunk_entries(out)


def test_empty_input_has_no_chunks() -> None:
    assert list(iter_chunks(b"")) == []
    assert chunk_boundaries(b"") == []
    assert Chunker().finish() == []
