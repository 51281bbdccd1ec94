"""Xet hashes: the 32-byte ``MerkleHash`` value, its text form, and every keyed hash of hashing.md.

The text form is not plain hex: the 32 bytes are read as four little-endian u64 and each is printed
as 16 hex digits (api.md, "Converting Hashes to Strings"). Every hash in URLs, JSON and in the
chunk-hash lines of internal merkle nodes uses that form, so keeping the raw bytes and the text
apart in one type avoids the classic byte-order bug.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from blake3 import blake3

from dockyard.xet.errors import InvalidHashError

HASH_LEN = 32

DATA_KEY = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)  # fmt: skip
INTERNAL_NODE_KEY = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)  # fmt: skip
VERIFICATION_KEY = bytes(
    [127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
     164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]
)  # fmt: skip
FILE_KEY = bytes(HASH_LEN)

#: Mean branching factor of the aggregated merkle tree (not in hashing.md; matches hf_xet).
MERKLE_BRANCHING = 4
#: A chunk is globally-dedup eligible when its last u64 is a multiple of this (deduplication.md).
GLOBAL_DEDUP_MODULUS = 1024

_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
_U64X4 = struct.Struct("<4Q")


@dataclass(frozen=True, slots=True, order=True)
class MerkleHash:
    """A 32-byte Xet hash. ``str()`` gives the protocol text form; ``raw`` holds the wire bytes."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != HASH_LEN:
            raise InvalidHashError(f"a Xet hash is {HASH_LEN} bytes, got {self.raw!r:.80}")

    @classmethod
    def from_hex(cls, text: str) -> MerkleHash:
        """Parse the protocol text form (see :func:`parse_hash_hex`)."""
        return parse_hash_hex(text)

    def hex(self) -> str:
        """The protocol text form: four little-endian u64, each as 16 lowercase hex digits."""
        return "".join(f"{word:016x}" for word in _U64X4.unpack(self.raw))

    def u64s(self) -> tuple[int, int, int, int]:
        """The four little-endian u64 words the text form and the tree cut rule are based on."""
        return _U64X4.unpack(self.raw)

    def is_zero(self) -> bool:
        """True for the all-zero hash (the hash of an empty file)."""
        return self.raw == ZERO_RAW

    def __str__(self) -> str:
        return self.hex()

    def __repr__(self) -> str:
        return f"MerkleHash({self.hex()})"

    def __bytes__(self) -> bytes:
        return self.raw


ZERO_RAW = bytes(HASH_LEN)
ZERO_HASH = MerkleHash(ZERO_RAW)
#: All-ones hash: the shard "bookend" marker, never a real hash.
BOOKEND_HASH = MerkleHash(b"\xff" * HASH_LEN)


def parse_hash_hex(text: str) -> MerkleHash:
    """Parse a 64-hex-character hash string; raises ``InvalidHashError`` (a ``ValueError``) if malformed.

    Upper-case digits are accepted because they are unambiguous; the output of ``hex()`` is lowercase.
    """
    if not isinstance(text, str) or not _HEX_RE.fullmatch(text):
        raise InvalidHashError(f"not a 64-hex-character Xet hash: {text!r:.80}")
    words = [int(text[i : i + 16], 16) for i in range(0, 64, 16)]
    return MerkleHash(_U64X4.pack(*words))


def is_hash_hex(text: str) -> bool:
    """True when ``text`` is a well-formed hash string (for routing without exceptions)."""
    return isinstance(text, str) and _HEX_RE.fullmatch(text) is not None


def keyed_hash(key: bytes, data: bytes | memoryview) -> MerkleHash:
    """blake3 keyed hash, 32-byte output, as a ``MerkleHash``."""
    return MerkleHash(blake3(data, key=key).digest())


def chunk_hash(data: bytes | memoryview) -> MerkleHash:
    """Hash of one chunk's uncompressed bytes (blake3 keyed with DATA_KEY)."""
    return keyed_hash(DATA_KEY, data)


def internal_node_hash(children: Iterable[tuple[MerkleHash, int]]) -> MerkleHash:
    """Hash of one merkle node: ``"{hash} : {size}\\n"`` lines keyed with INTERNAL_NODE_KEY."""
    text = "".join(f"{h.hex()} : {size}\n" for h, size in children)
    return keyed_hash(INTERNAL_NODE_KEY, text.encode("ascii"))


def _next_cut(level: Sequence[tuple[MerkleHash, int]], start: int) -> int:
    """End (exclusive) of the node starting at ``start``: content-defined, 2 to 9 children.

    Why content-defined: the same run of chunks groups the same way wherever it appears, which
    keeps subtree hashes reusable. A node ends after a child whose last u64 is a multiple of the
    branching factor (never before the third child), or after 2*B+1 children at most.
    """
    remaining = len(level) - start
    if remaining <= 2:
        return len(level)
    end = start + min(2 * MERKLE_BRANCHING + 1, remaining)
    for i in range(start + 2, end):
        if level[i][0].u64s()[3] % MERKLE_BRANCHING == 0:
            return i + 1
    return end


def merkle_root(leaves: Sequence[tuple[MerkleHash, int]]) -> MerkleHash:
    """Root of the aggregated merkle tree over ``(chunk hash, chunk size)`` leaves.

    An empty sequence gives the zero hash. A single leaf is its own root (no node is hashed).
    """
    level = list(leaves)
    if not level:
        return ZERO_HASH
    while len(level) > 1:
        parents: list[tuple[MerkleHash, int]] = []
        start = 0
        while start < len(level):
            end = _next_cut(level, start)
            group = level[start:end]
            parents.append((internal_node_hash(group), sum(size for _, size in group)))
            start = end
        level = parents
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[MerkleHash, int]]) -> MerkleHash:
    """The xorb's content hash: the merkle root over its chunks (hashing.md, "Xorb Hashes")."""
    return merkle_root(chunks)


def file_hash(chunks: Sequence[tuple[MerkleHash, int]]) -> MerkleHash:
    """The file hash: merkle root re-hashed with the all-zero key.

    An empty file has the all-zero hash, which is what hf_xet 1.8 reports (hashing.md is silent).
    """
    if not chunks:
        return ZERO_HASH
    return keyed_hash(FILE_KEY, merkle_root(chunks).raw)


def verification_range_hash(chunk_hashes: Iterable[MerkleHash]) -> MerkleHash:
    """Term verification hash: raw chunk hashes of the term's range, concatenated, VERIFICATION_KEY."""
    return keyed_hash(VERIFICATION_KEY, b"".join(h.raw for h in chunk_hashes))


def hmac_chunk_hash(chunk: MerkleHash, key: MerkleHash) -> MerkleHash:
    """Chunk hash as published in a global-dedup shard whose footer carries a non-zero HMAC key.

    hashing.md calls it "HMAC"; the real client computes blake3 keyed with the shard's key over the
    raw chunk hash (verified by a dedup round trip with hf_xet 1.8 in the tests).
    """
    if key.is_zero():
        return chunk
    return keyed_hash(key.raw, chunk.raw)


def sha256_as_hash(digest: bytes) -> MerkleHash:
    """Store a SHA-256 digest the way shards do: so that ``str()`` equals ``digest.hex()``."""
    if len(digest) != HASH_LEN:
        raise InvalidHashError(f"a SHA-256 digest is {HASH_LEN} bytes, got {len(digest)}")
    return parse_hash_hex(digest.hex())


def is_global_dedup_eligible(h: MerkleHash, *, first_in_file: bool = False) -> bool:
    """Whether a client may query ``/v1/chunks`` for this chunk (deduplication.md, eligibility)."""
    return first_in_file or h.u64s()[3] % GLOBAL_DEDUP_MODULUS == 0
