"""Semantic checks of an uploaded shard against xorbs the server has actually validated.

A shard is the client's claim; the server only trusts chunk lists it computed itself from stored
xorbs (``parse_xorb``). These checks prove that every term points at real chunks, that the
verification hashes could only be produced by someone holding the chunk hashes, and that the file
hash follows from the chunks, so a file id can never be registered for content it does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dockyard.xet.errors import HashMismatchError, XetError, XetFormatError
from dockyard.xet.hashes import MerkleHash, file_hash, verification_range_hash, xorb_hash
from dockyard.xet.shard import FileInfo, Shard, XorbInfo

ChunkList = Sequence[tuple[MerkleHash, int]]
#: Returns the trusted ``(chunk hash, size)`` list of a stored xorb, or None if it is unknown.
ChunkLookup = Callable[[MerkleHash], ChunkList | None]


class UnknownXorbError(XetError):
    """A shard references a xorb that was never uploaded (the upload must be rejected)."""

    def __init__(self, xorb: MerkleHash) -> None:
        super().__init__(f"xorb {xorb} is not stored")
        self.xorb_hash = xorb


def check_xorb_info(info: XorbInfo, stored: ChunkList) -> None:
    """The shard's CAS-info block must list exactly the chunks of the stored xorb."""
    if list(info.chunk_entries()) != list(stored):
        raise HashMismatchError(f"shard's chunk list for xorb {info.xorb_hash} differs from the stored xorb")
    if xorb_hash(stored) != info.xorb_hash:
        raise HashMismatchError(f"chunks of xorb {info.xorb_hash} do not hash to it")


def verify_file_info(info: FileInfo, lookup: ChunkLookup, *, require_verification: bool = True) -> None:
    """Check one file's terms against trusted chunk lists, then its verification and file hashes."""
    if require_verification and info.verification_hashes is None:
        raise XetFormatError(f"file {info.file_hash}: verification entries are required on upload")
    leaves: list[tuple[MerkleHash, int]] = []
    for i, term in enumerate(info.terms):
        chunks = lookup(term.xorb_hash)
        if chunks is None:
            raise UnknownXorbError(term.xorb_hash)
        if term.chunk_end > len(chunks):
            raise XetFormatError(f"file {info.file_hash}: term {i} runs past the end of its xorb")
        selected = chunks[term.chunk_start : term.chunk_end]
        if sum(size for _, size in selected) != term.unpacked_length:
            raise XetFormatError(f"file {info.file_hash}: term {i} declares a wrong length")
        if info.verification_hashes is not None:
            expected = verification_range_hash(h for h, _ in selected)
            if info.verification_hashes[i] != expected:
                raise HashMismatchError(f"file {info.file_hash}: verification hash of term {i} is wrong")
        leaves.extend(selected)
    if file_hash(leaves) != info.file_hash:
        raise HashMismatchError(f"file hash {info.file_hash} does not follow from its chunks")


def verify_shard(shard: Shard, stored: ChunkLookup, *, require_verification: bool = True) -> None:
    """Validate an upload shard: its xorb listings against ``stored``, then every file.

    Xorbs listed in the shard must be stored already (clients upload xorbs first). Raises a
    ``XetError`` subclass on the first problem.
    """
    for info in shard.xorbs:
        chunks = stored(info.xorb_hash)
        if chunks is None:
            raise UnknownXorbError(info.xorb_hash)
        check_xorb_info(info, chunks)
    for f in shard.files:
        verify_file_info(f, stored, require_verification=require_verification)
