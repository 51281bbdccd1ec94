"""The real client is the judge: hf_xet 1.8 uploads to, and downloads from, a capture CAS.

Uploads prove the parsers accept what the client produces (and that our hashes agree with the
hashes it puts in URLs and shards); downloads served from our reconstruction builders prove the
response formats; a dedup round trip proves the dedup shard format and the HMAC function.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.xet.chunking import chunk_entries, file_hash_of_bytes, iter_chunks
from dockyard.xet.compression import CompressionScheme
from dockyard.xet.hashes import MerkleHash, file_hash, parse_hash_hex, verification_range_hash
from dockyard.xet.shard import FileInfo, FileTerm, Shard, XorbInfo, parse_shard
from dockyard.xet.shard_writer import serialize_dedup_shard, serialize_shard
from dockyard.xet.verify import verify_shard
from dockyard.xet.xorb import build_xorb, parse_xorb
from tests.unit.xet.capture_cas import CaptureCas
from tests.unit.xet.xet_client import Catalog, Uploaded, download, download_range, upload

_rng = random.Random(1234)
PAYLOADS = [
    b"",
    b"x",
    _rng.randbytes(100_000),
    _rng.randbytes(3_000_000),
    b"hello world " * 100_000,
    _rng.randbytes(700_000) + b"abc" * 200_000 + _rng.randbytes(500_000),
]


@dataclass(frozen=True)
class Session:
    """One upload of PAYLOADS captured by a CAS that stays up for the whole module."""

    cas: CaptureCas
    results: list[Uploaded]
    shards: list[Shard]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    home = tmp_path_factory.mktemp("hf")
    with pytest.MonkeyPatch.context() as mp, CaptureCas() as cas:
        mp.setenv("HF_HOME", str(home))
        mp.setenv("HF_XET_CACHE", str(home / "xet"))
        results = upload(cas, PAYLOADS)
        yield Session(cas, results, [parse_shard(s) for s in cas.state.shards])


def _stored_chunks(cas: CaptureCas) -> dict[MerkleHash, list[tuple[MerkleHash, int]]]:
    """What the server trusts: chunk lists recomputed from the stored xorbs."""
    parsed = (parse_xorb(body, parse_hash_hex(key)) for key, body in cas.state.xorbs.items())
    return {x.hash: x.chunk_entries() for x in parsed}


def test_client_xorbs_parse_and_hash_to_the_url_hash(session: Session) -> None:
    assert session.cas.state.xorbs
    for key, body in session.cas.state.xorbs.items():
        parsed = parse_xorb(body, parse_hash_hex(key))  # raises on any mismatch
        assert parsed.footer is None  # hf_xet 1.8 uploads xorbs without the metadata footer
        assert parsed.total_length == len(body)


def test_client_shard_describes_the_files_we_hash(session: Session) -> None:
    files = {f.file_hash.hex(): f for s in session.shards for f in s.files}
    for data, result in zip(PAYLOADS, session.results, strict=True):
        assert result.hash == str(file_hash_of_bytes(data))
        info = files[result.hash]
        assert info.size == len(data) == result.size
        assert info.sha256_hex == hashlib.sha256(data).hexdigest() == result.sha256
        assert info.verification_hashes is not None


def test_client_shard_passes_server_verification(session: Session) -> None:
    stored = _stored_chunks(session.cas)
    for shard in session.shards:
        verify_shard(shard, stored.get)
        for x in shard.xorbs:
            assert x.bytes_on_disk in (0, len(session.cas.state.xorbs[x.xorb_hash.hex()]))
    for raw, shard in zip(session.cas.state.shards, session.shards, strict=True):
        assert serialize_shard(shard.files, shard.xorbs) == raw  # byte-identical re-serialization


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_client_downloads_from_our_reconstructions(session: Session, v2: bool, tmp_path: Path) -> None:
    cas = session.cas
    Catalog().ingest(cas).serve(cas, v2=v2)
    before = len(cas.state.requests)
    for i, (data, result) in enumerate(zip(PAYLOADS, session.results, strict=True)):
        if data:
            assert download(cas, result.hash, len(data), str(tmp_path / f"{i}.bin")) == data
    used = {path.split("/")[1] for _, path in cas.state.requests[before:] if "reconstructions" in path}
    assert used == {"v2"} if v2 else "v1" in used  # without v2 the client falls back after a 404


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_client_range_downloads(session: Session, v2: bool) -> None:
    Catalog().ingest(session.cas).serve(session.cas, v2=v2)
    data, result = PAYLOADS[5], session.results[5]
    spans = [(0, 1), (3, 100), (699_990, 700_020), (100_000, 1_250_000), (len(data) - 7, None)]
    got = download_range(session.cas, result.hash, len(data), spans)
    assert got == [data[a:b] for a, b in spans]


def test_client_downloads_xorbs_built_by_the_server(cas: CaptureCas, tmp_path: Path) -> None:
    """Server-side ingestion (e.g. of an LFS upload): our chunker, xorb writer and shard model."""
    rng = random.Random(8)
    floats = b"".join(rng.getrandbits(16).to_bytes(2, "little") + b"\x80\x3f" for _ in range(60_000))
    data = floats + rng.randbytes(150_000) + b"abcd" * 40_000
    chunks = list(iter_chunks(data))
    built = [build_xorb(chunks[:3]), build_xorb(chunks[3:], with_footer=True)]
    schemes = {c.scheme for b in built for c in b.parsed.chunks}
    assert {CompressionScheme.NONE, CompressionScheme.LZ4, CompressionScheme.BG4_LZ4} <= schemes
    catalog = Catalog()
    terms = []
    for b in built:
        cas.state.xorbs[b.hash.hex()] = b.data
        catalog.add_xorb(b.data, b.hash)
        terms.append(FileTerm(b.hash, 0, len(b.parsed.chunks), b.parsed.unpacked_length))
    fh = file_hash_of_bytes(data)
    catalog.files[fh] = FileInfo(fh, tuple(terms))
    for v2 in (False, True):
        catalog.serve(cas, v2=v2)
        assert download(cas, fh.hex(), len(data), str(tmp_path / f"out{v2}.bin")) == data


@pytest.mark.parametrize("key_mode", ["hmac", "no_key", "wrong_key"])
def test_global_dedup_shard(cas: CaptureCas, key_mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    first, extra = rng.randbytes(2_000_000), rng.randbytes(600_000)
    upload(cas, [first])
    (old,) = parse_shard(cas.state.shards[0]).xorbs
    key = MerkleHash(bytes(range(1, 33)))
    body = serialize_dedup_shard([old], hmac_key=None if key_mode == "no_key" else key)
    if key_mode == "wrong_key":  # chunk hashes keyed with another key than the footer announces
        other = serialize_dedup_shard([old], hmac_key=MerkleHash(bytes(range(2, 34))))
        body = body[:48] + other[48:-200] + body[-200:]
    cas.state.dedupe_shards[old.chunks[0].hash.hex()] = body

    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "second-client-cache"))
    xorbs_before, queries_before = set(cas.state.xorbs), len(cas.state.chunk_queries)
    (result,) = upload(cas, [first + extra])
    assert old.chunks[0].hash.hex() in cas.state.chunk_queries[queries_before:]
    shard = parse_shard(cas.state.shards[-1])
    verify_shard(shard, _stored_chunks(cas).get)
    (info,) = shard.files
    assert info.file_hash.hex() == result.hash
    (new_xorb,) = set(cas.state.xorbs) - xorbs_before
    new_chunks = len(parse_xorb(cas.state.xorbs[new_xorb]).chunks)
    if key_mode == "wrong_key":
        assert all(t.xorb_hash != old.xorb_hash for t in info.terms)
        assert new_chunks == len(list(iter_chunks(first + extra)))
    else:  # the client reused the old xorb for the shared prefix and uploaded only new chunks
        assert info.terms[0].xorb_hash == old.xorb_hash
        assert new_chunks < len(old.chunks)


def test_verification_hashes_of_the_client_match_ours(session: Session) -> None:
    stored = _stored_chunks(session.cas)
    for shard in session.shards:
        for f in shard.files:
            for term, check in zip(f.terms, f.verification_hashes or (), strict=True):
                hashes = [h for h, _ in stored[term.xorb_hash][term.chunk_start : term.chunk_end]]
                assert verification_range_hash(hashes) == check


def test_client_cas_info_lists_unpacked_offsets(session: Session) -> None:
    """shard.md calls the field chunk_byte_range_start; the client writes decoded offsets."""
    stored = _stored_chunks(session.cas)
    for shard in session.shards:
        for x in shard.xorbs:
            assert x == XorbInfo.from_chunks(x.xorb_hash, stored[x.xorb_hash], x.bytes_on_disk)


def test_client_fetches_disjoint_ranges_of_one_xorb(cas: CaptureCas, tmp_path: Path) -> None:
    """A file using chunks [0, 2) and [3, 5) of one xorb: v1 gets two fetch_info entries, v2 one
    entry with two ranges."""
    rng = random.Random(3)
    chunks = [rng.randbytes(20_000 + i) for i in range(5)]
    built = build_xorb(chunks)
    cas.state.xorbs[built.hash.hex()] = built.data
    catalog = Catalog()
    catalog.add_xorb(built.data, built.hash)
    used = chunks[0:2] + chunks[3:5]
    terms = (
        FileTerm(built.hash, 0, 2, sum(map(len, chunks[0:2]))),
        FileTerm(built.hash, 3, 5, sum(map(len, chunks[3:5]))),
    )
    fh = file_hash(chunk_entries(used))
    catalog.files[fh] = FileInfo(fh, terms)
    for v2 in (False, True):
        catalog.serve(cas, v2=v2)
        before = len(cas.state.xorb_ranges)
        assert download(cas, fh.hex(), len(b"".join(used)), str(tmp_path / f"d{v2}.bin")) == b"".join(used)
        assert len(cas.state.xorb_ranges) - before == 2  # one single-range GET per range
