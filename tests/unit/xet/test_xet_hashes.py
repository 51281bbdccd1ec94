"""Hash value type, text form and keyed hashes (hashing.md, api.md)."""

from __future__ import annotations

import hashlib

import pytest
from blake3 import blake3

from dockyard.xet.errors import InvalidHashError, XetFormatError
from dockyard.xet.hashes import (
    DATA_KEY,
    INTERNAL_NODE_KEY,
    VERIFICATION_KEY,
    ZERO_HASH,
    MerkleHash,
    chunk_hash,
    file_hash,
    hmac_chunk_hash,
    internal_node_hash,
    is_global_dedup_eligible,
    is_hash_hex,
    merkle_root,
    parse_hash_hex,
    sha256_as_hash,
    verification_range_hash,
    xorb_hash,
)


def test_text_form_matches_the_api_md_example() -> None:
    # api.md prints this value with the "10" byte missing (62 characters); the byte order it
    # describes, and the client, give 64 characters.
    h = MerkleHash(bytes(range(32)))
    assert h.hex() == "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    assert str(h) == h.hex()
    assert parse_hash_hex(h.hex()) == h
    assert MerkleHash.from_hex(h.hex().upper()) == h


@pytest.mark.parametrize(
    "text",
    ["", "00", "g" * 64, "0" * 63, "0" * 65, " " + "0" * 63, "0" * 64 + "\n", None, b"0" * 64],
)
def test_malformed_hash_text_raises_a_value_error(text: object) -> None:
    with pytest.raises(InvalidHashError) as info:
        parse_hash_hex(text)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, XetFormatError)
    assert not is_hash_hex(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [b"", b"\x00" * 31, b"\x00" * 33, "x" * 32])
def test_raw_hash_must_be_32_bytes(raw: object) -> None:
    with pytest.raises(InvalidHashError):
        MerkleHash(raw)  # type: ignore[arg-type]


def test_hashes_are_hashable_ordered_values() -> None:
    a, b = MerkleHash(b"\x00" * 32), MerkleHash(b"\x01" + b"\x00" * 31)
    assert a < b
    assert {a: 1}[MerkleHash(b"\x00" * 32)] == 1
    assert bytes(b) == b.raw
    assert a.is_zero()
    assert not b.is_zero()


def test_chunk_hash_is_blake3_keyed_with_the_data_key() -> None:
    assert chunk_hash(b"abc").raw == blake3(b"abc", key=DATA_KEY).digest()


def test_internal_node_text_uses_the_protocol_hex_and_sizes() -> None:
    leaves = [(MerkleHash(bytes(range(32))), 10000), (MerkleHash(b"\xab" * 32), 64000)]
    text = "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918 : 10000\n" + "ab" * 32 + " : 64000\n"
    assert internal_node_hash(leaves).raw == blake3(text.encode(), key=INTERNAL_NODE_KEY).digest()


def test_merkle_root_edge_cases() -> None:
    leaf = (chunk_hash(b"x"), 1)
    assert merkle_root([]) == ZERO_HASH
    assert merkle_root([leaf]) == leaf[0]  # one chunk: the xorb hash is the chunk hash
    assert xorb_hash([leaf, leaf]) == internal_node_hash([leaf, leaf])
    assert file_hash([]) == ZERO_HASH  # what hf_xet reports for an empty file
    assert file_hash([leaf]) == MerkleHash(blake3(leaf[0].raw, key=bytes(32)).digest())


def test_merkle_nodes_have_between_two_and_nine_children() -> None:
    leaves = [(chunk_hash(i.to_bytes(4, "little")), 100 + i) for i in range(200)]
    root = merkle_root(leaves)
    assert root == merkle_root(list(leaves))
    assert root != merkle_root(leaves[:-1])


def test_verification_hash_concatenates_raw_chunk_hashes() -> None:
    hashes = [chunk_hash(b"a"), chunk_hash(b"b")]
    expected = blake3(hashes[0].raw + hashes[1].raw, key=VERIFICATION_KEY).digest()
    assert verification_range_hash(hashes).raw == expected


def test_hmac_chunk_hash_is_keyed_blake3_and_identity_without_key() -> None:
    h, key = chunk_hash(b"data"), MerkleHash(bytes(range(1, 33)))
    assert hmac_chunk_hash(h, key).raw == blake3(h.raw, key=key.raw).digest()
    assert hmac_chunk_hash(h, ZERO_HASH) == h


def test_sha256_is_stored_so_its_text_form_is_the_usual_digest() -> None:
    digest = hashlib.sha256(b"hello").digest()
    assert sha256_as_hash(digest).hex() == digest.hex()
    with pytest.raises(InvalidHashError):
        sha256_as_hash(digest[:31])


def test_global_dedup_eligibility() -> None:
    eligible = parse_hash_hex("0" * 48 + "0000000000000400")  # last u64 = 1024
    other = parse_hash_hex("0" * 48 + "0000000000000401")
    assert is_global_dedup_eligible(eligible)
    assert not is_global_dedup_eligible(other)
    assert is_global_dedup_eligible(other, first_in_file=True)
