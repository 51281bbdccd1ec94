"""Reconstruction responses, checked by replaying them the way download-protocol.md describes."""

from __future__ import annotations

import itertools
import random

import pytest

from dockyard.xet.errors import RangeNotSatisfiableError, ReconstructionError, XetFormatError
from dockyard.xet.hashes import MerkleHash
from dockyard.xet.reconstruction import (
    XorbLayout,
    parse_range_header,
    reconstruction_v1,
    reconstruction_v2,
)
from dockyard.xet.shard import FileTerm
from dockyard.xet.xorb import build_xorb, decode_chunks

_rng = random.Random(4)
CHUNKS_X = [_rng.randbytes(_rng.randint(50, 400)) for _ in range(8)]
CHUNKS_Y = [b"y" * 300, _rng.randbytes(120), b"q" * 77]
XORB_X, XORB_Y = build_xorb(CHUNKS_X), build_xorb(CHUNKS_Y, with_footer=True)
STORED = {XORB_X.hash: XORB_X.data, XORB_Y.hash: XORB_Y.data}
LAYOUTS = {x.hash: XorbLayout.from_parsed(x.parsed) for x in (XORB_X, XORB_Y)}
PLAN = [
    (XORB_X, CHUNKS_X, 0, 3),
    (XORB_Y, CHUNKS_Y, 0, 2),
    (XORB_X, CHUNKS_X, 2, 8),
    (XORB_Y, CHUNKS_Y, 1, 3),
]
TERMS = [FileTerm(x.hash, a, b, sum(map(len, chunks[a:b]))) for x, chunks, a, b in PLAN]
FILE = b"".join(b"".join(chunks[a:b]) for _, chunks, a, b in PLAN)


def _url(xorb: MerkleHash) -> str:
    return f"https://transfer.example/xorb/{xorb.hex()}"


def _replay(body: dict, fetches: list[tuple[str, list[tuple[int, int, int, int]]]]) -> bytes:
    """Client side: fetch each byte range, decode its chunks, assemble terms, apply the skip."""
    decoded: dict[tuple[str, int], bytes] = {}
    for xorb_hex, ranges in fetches:
        stored = STORED[MerkleHash.from_hex(xorb_hex)]
        for chunk_start, chunk_end, byte_start, byte_end in ranges:
            chunks = decode_chunks(stored[byte_start : byte_end + 1])
            assert len(chunks) == chunk_end - chunk_start
            decoded.update(((xorb_hex, chunk_start + i), c) for i, c in enumerate(chunks))
    out = b""
    for term in body["terms"]:
        rng = term["range"]
        data = b"".join(decoded[(term["hash"], i)] for i in range(rng["start"], rng["end"]))
        assert len(data) == term["unpacked_length"]
        out += data
    return out[body["offset_into_first_range"] :]


def _replay_v1(body: dict) -> bytes:
    fetches = []
    for xorb_hex, entries in body["fetch_info"].items():
        for e in entries:
            assert e["url"] == _url(MerkleHash.from_hex(xorb_hex))
        ranges = [
            (e["range"]["start"], e["range"]["end"], e["url_range"]["start"], e["url_range"]["end"]) for e in entries
        ]
        fetches.append((xorb_hex, ranges))
    return _replay(body, fetches)


def _replay_v2(body: dict) -> bytes:
    fetches = []
    for xorb_hex, entries in body["xorbs"].items():
        (entry,) = entries
        r = [
            (d["chunks"]["start"], d["chunks"]["end"], d["bytes"]["start"], d["bytes"]["end"]) for d in entry["ranges"]
        ]
        assert r == sorted(r)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(r))  # disjoint, not adjacent
        fetches.append((xorb_hex, r))
    return _replay(body, fetches)


def test_full_file_and_range_coalescing() -> None:
    body = reconstruction_v1(TERMS, LAYOUTS, _url)
    assert body["offset_into_first_range"] == 0
    assert _replay_v1(body) == FILE
    # X is used by chunks [0,3) and [2,8): one fetch of [0,8); Y by [0,2) and [1,3): one of [0,3)
    assert {k: [e["range"] for e in v] for k, v in body["fetch_info"].items()} == {
        XORB_X.hash.hex(): [{"start": 0, "end": 8}],
        XORB_Y.hash.hex(): [{"start": 0, "end": 3}],
    }
    y_end = XORB_Y.parsed.content_length - 1  # the footer is never part of a fetched range
    assert body["fetch_info"][XORB_Y.hash.hex()][0]["url_range"] == {"start": 0, "end": y_end}
    assert _replay_v2(reconstruction_v2(TERMS, LAYOUTS, _url)) == FILE


def test_random_ranges_replay_to_the_requested_bytes() -> None:
    rng = random.Random(8)
    size = len(FILE)
    spans = [(0, 0), (size - 1, size - 1), (0, size - 1), (5, 10 * size)]
    spans += [tuple(sorted((rng.randrange(size), rng.randrange(size)))) for _ in range(300)]
    for start, end in spans:
        header = f"bytes={start}-{end}"
        want = FILE[start : end + 1]
        for build, replay in ((reconstruction_v1, _replay_v1), (reconstruction_v2, _replay_v2)):
            body = build(TERMS, LAYOUTS, _url, header)
            got = replay(body)
            assert got[: len(want)] == want, header
            _assert_minimal(body, len(got) - len(want))


def _assert_minimal(body: dict, surplus: int) -> None:
    """The first kept chunk holds the range start and the last one holds its end."""
    first, last = body["terms"][0], body["terms"][-1]
    first_sizes = LAYOUTS[MerkleHash.from_hex(first["hash"])].unpacked_sizes
    last_sizes = LAYOUTS[MerkleHash.from_hex(last["hash"])].unpacked_sizes
    assert body["offset_into_first_range"] < first_sizes[first["range"]["start"]]
    assert surplus < last_sizes[last["range"]["end"] - 1]


def test_range_trims_whole_chunks_and_terms() -> None:
    first_len = len(CHUNKS_X[0])
    body = reconstruction_v1(TERMS, LAYOUTS, _url, f"bytes={first_len + 5}-{first_len + 6}")
    assert body["offset_into_first_range"] == 5
    assert body["terms"] == [
        {"hash": XORB_X.hash.hex(), "unpacked_length": len(CHUNKS_X[1]), "range": {"start": 1, "end": 2}}
    ]


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 50, (0, 49)),
        ("bytes=10-", 50, (10, 49)),
        ("bytes=-5", 50, (45, 49)),
        ("bytes=-500", 50, (0, 49)),
        ("bytes=49-49", 50, (49, 49)),
    ],
)
def test_parse_range_header(header: str, size: int, expected: tuple[int, int]) -> None:
    assert parse_range_header(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=50-60", "bytes=50-", "bytes=0-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    size = 0 if header == "bytes=0-0" else 50
    with pytest.raises(RangeNotSatisfiableError) as info:
        parse_range_header(header, size)
    assert info.value.file_size == size


@pytest.mark.parametrize("header", ["bytes=5-1", "bytes=-", "items=0-1", "bytes=0-1,4-5", "bytes=a-b"])
def test_malformed_ranges(header: str) -> None:
    with pytest.raises(XetFormatError):
        parse_range_header(header, 50)


def test_416_from_the_builders_and_empty_files() -> None:
    with pytest.raises(RangeNotSatisfiableError):
        reconstruction_v2(TERMS, LAYOUTS, _url, f"bytes={len(FILE)}-")
    assert reconstruction_v1([], LAYOUTS, _url) == {
        "offset_into_first_range": 0,
        "terms": [],
        "fetch_info": {},
    }


def test_inconsistent_metadata_is_reported() -> None:
    unknown = FileTerm(MerkleHash(b"\x01" * 32), 0, 1, 10)
    too_far = FileTerm(XORB_X.hash, 0, 99, 10)
    wrong_len = FileTerm(XORB_X.hash, 0, 1, len(CHUNKS_X[0]) + 1)
    for term in (unknown, too_far, wrong_len):
        with pytest.raises(ReconstructionError):
            reconstruction_v1([term], LAYOUTS, _url)
    with pytest.raises(ValueError, match="one entry more"):
        XorbLayout((0,), (1,))
