"""MDB shards (shard.md): the data model and a validating parser.

A shard is what a client uploads to register files (file-info section: per file its terms, their
verification hashes and the sha256) and the xorbs it created (CAS-info section: per xorb its chunk
hashes and sizes). The same format, with an empty file section and a footer, answers global-dedup
queries; see ``shard_writer`` for serialization.

Layout: 48-byte header, then 48-byte records: file blocks ending with an all-0xFF bookend, CAS
blocks ending with a bookend, and, only when ``footer_size`` is 200, lookup tables and a footer.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.xet._binary import Reader
from dockyard.xet.errors import ShardFormatError, ShardLimitError
from dockyard.xet.hashes import BOOKEND_HASH, MerkleHash

SHARD_HEADER_TAG = b"HFRepoMetaData\x00UigEj{\x81W\x83\xa5\xbd\xd9\\\xcd\xd1J\xa9"
HEADER_VERSION = 2
FOOTER_VERSION = 1
HEADER_SIZE = 48
RECORD_SIZE = 48
FOOTER_SIZE = 200
FILE_LOOKUP_ENTRY = 12  # u64 truncated file hash, u32 record index
XORB_LOOKUP_ENTRY = 12  # u64 truncated xorb hash, u32 record index
CHUNK_LOOKUP_ENTRY = 16  # u64 truncated (keyed) chunk hash, u32 xorb record index, u32 chunk index

#: Limits on what one shard may ask the server to do. Registering a file means decompressing and
#: hashing every byte its terms name, and a 64 MiB shard could otherwise name ~1.3 M terms, each a
#: whole xorb: terabytes of work for one request. hf_xet merges neighbouring chunks into one term,
#: so real files need a few terms per xorb (a 50 GiB file: about a thousand).
MAX_SHARD_TERMS = 131_072
#: The Hub's own limit on one file; a larger one is refused before any of it is read.
MAX_FILE_SIZE = 50 * 1024**3

FLAG_WITH_VERIFICATION = 1 << 31
FLAG_WITH_METADATA_EXT = 1 << 30
NO_EXPIRY = 2**64 - 1


@dataclass(frozen=True, slots=True)
class FileTerm:
    """One reconstruction term: chunks ``[chunk_start, chunk_end)`` of a xorb."""

    xorb_hash: MerkleHash
    chunk_start: int
    chunk_end: int
    unpacked_length: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file as registered by a shard.

    ``sha256`` is stored like a hash, so ``str(sha256)`` is the usual sha256 hex digest (which is
    also the git-LFS oid the client commits).
    """

    file_hash: MerkleHash
    terms: tuple[FileTerm, ...]
    verification_hashes: tuple[MerkleHash, ...] | None = None
    sha256: MerkleHash | None = None

    @property
    def size(self) -> int:
        """File length in bytes: the sum of the term lengths."""
        return sum(t.unpacked_length for t in self.terms)

    @property
    def sha256_hex(self) -> str | None:
        """The sha256 as a plain hex digest, if the client sent one."""
        return None if self.sha256 is None else self.sha256.hex()


@dataclass(frozen=True, slots=True)
class XorbChunkEntry:
    """A chunk of a xorb as listed in the CAS-info section.

    ``unpacked_offset`` is where the chunk starts in the xorb's *decoded* bytes: hf_xet 1.8 writes
    the running sum of chunk sizes into the field shard.md calls ``chunk_byte_range_start``.
    """

    hash: MerkleHash
    unpacked_offset: int
    unpacked_size: int


@dataclass(frozen=True, slots=True)
class XorbInfo:
    """A xorb as listed in the CAS-info section (the dedup index of a shard)."""

    xorb_hash: MerkleHash
    chunks: tuple[XorbChunkEntry, ...]
    unpacked_bytes: int
    bytes_on_disk: int = 0  # hf_xet 1.8 sends 0 here
    flags: int = 0

    @classmethod
    def from_chunks(
        cls, xorb_hash: MerkleHash, entries: list[tuple[MerkleHash, int]], bytes_on_disk: int = 0
    ) -> XorbInfo:
        """Build from ``(chunk hash, size)`` pairs, computing the running offsets."""
        chunks, offset = [], 0
        for h, size in entries:
            chunks.append(XorbChunkEntry(h, offset, size))
            offset += size
        return cls(xorb_hash, tuple(chunks), offset, bytes_on_disk)

    def chunk_entries(self) -> list[tuple[MerkleHash, int]]:
        """``(hash, size)`` pairs, the leaves of the xorb's merkle tree."""
        return [(c.hash, c.unpacked_size) for c in self.chunks]


@dataclass(frozen=True, slots=True)
class ShardFooter:
    """The 200-byte footer: section offsets, lookup tables, HMAC key and expiry."""

    file_info_offset: int
    xorb_info_offset: int
    file_lookup_offset: int
    file_lookup_count: int
    xorb_lookup_offset: int
    xorb_lookup_count: int
    chunk_lookup_offset: int
    chunk_lookup_count: int
    chunk_hash_hmac_key: MerkleHash
    creation_timestamp: int
    key_expiry: int
    stored_bytes_on_disk: int
    materialized_bytes: int
    stored_bytes: int
    footer_offset: int


@dataclass(frozen=True, slots=True)
class Shard:
    """A parsed shard. With a non-zero footer HMAC key, xorb chunk hashes are keyed."""

    files: tuple[FileInfo, ...]
    xorbs: tuple[XorbInfo, ...]
    footer: ShardFooter | None = None

    @property
    def hmac_key(self) -> MerkleHash | None:
        """The chunk-hash HMAC key, or None when chunk hashes are plain."""
        if self.footer is None or self.footer.chunk_hash_hmac_key.is_zero():
            return None
        return self.footer.chunk_hash_hmac_key


def _is_bookend(r: Reader) -> bool:
    return r.remaining >= 32 and r.data[r.pos : r.pos + 32] == BOOKEND_HASH.raw


def _parse_file(r: Reader, terms_left: int, max_file_size: int) -> FileInfo:
    file_hash, flags, n = r.hash("file hash"), r.u32(), r.u32()
    r.take(8, "file header padding")
    if n * RECORD_SIZE > r.remaining:
        raise ShardFormatError(f"file {file_hash}: {n} terms do not fit in the shard")
    if n > terms_left:
        raise ShardLimitError(f"file {file_hash}: the shard names more terms than the limit allows")
    terms, size = [], 0
    for _ in range(n):
        xorb, tflags, length, start, end = r.hash("term xorb hash"), r.u32(), r.u32(), r.u32(), r.u32()
        if start >= end or length == 0:
            raise ShardFormatError(f"file {file_hash}: empty or inverted term [{start}, {end})")
        size += length
        if size > max_file_size:
            raise ShardLimitError(f"file {file_hash} is larger than the {max_file_size} bytes a file may have")
        terms.append(FileTerm(xorb, start, end, length, tflags))
    verification = None
    if flags & FLAG_WITH_VERIFICATION:
        verification = tuple(_take_record_hash(r, "verification entry") for _ in range(n))
    sha256 = _take_record_hash(r, "metadata_ext") if flags & FLAG_WITH_METADATA_EXT else None
    return FileInfo(file_hash, tuple(terms), verification, sha256)


def _take_record_hash(r: Reader, what: str) -> MerkleHash:
    h = r.hash(what)
    r.take(16, what)
    return h


def _parse_xorb(r: Reader) -> XorbInfo:
    xorb_hash, flags, n, unpacked, on_disk = r.hash("xorb hash"), r.u32(), r.u32(), r.u32(), r.u32()
    if n == 0 or n * RECORD_SIZE > r.remaining:
        raise ShardFormatError(f"xorb {xorb_hash}: bad chunk count {n}")
    chunks, offset = [], 0
    for _ in range(n):
        h, start, size = r.hash("chunk hash"), r.u32(), r.u32()
        r.take(8, "chunk entry padding")
        if start != offset or size == 0:
            raise ShardFormatError(f"xorb {xorb_hash}: chunk offsets are not the running sum of sizes")
        chunks.append(XorbChunkEntry(h, start, size))
        offset += size
    if offset != unpacked:
        raise ShardFormatError(f"xorb {xorb_hash}: declared {unpacked} bytes, chunks sum to {offset}")
    return XorbInfo(xorb_hash, tuple(chunks), unpacked, on_disk, flags)


def _parse_sections(r: Reader, max_terms: int, max_file_size: int) -> tuple[tuple[FileInfo, ...], tuple[XorbInfo, ...]]:
    files: list[FileInfo] = []
    terms_left = max_terms
    while not _is_bookend(r):
        files.append(_parse_file(r, terms_left, max_file_size))
        terms_left -= len(files[-1].terms)
    r.take(RECORD_SIZE, "file section bookend")
    xorbs = []
    while not _is_bookend(r):
        xorbs.append(_parse_xorb(r))
    r.take(RECORD_SIZE, "CAS section bookend")
    with_verification = {f.verification_hashes is not None for f in files}
    if len(with_verification) > 1:
        raise ShardFormatError("either all files or none must carry verification entries")
    return tuple(files), tuple(xorbs)


def _parse_footer(data: bytes) -> ShardFooter:
    r = Reader(data, ShardFormatError, len(data) - FOOTER_SIZE)
    if r.u64() != FOOTER_VERSION:
        raise ShardFormatError("unsupported shard footer version")
    head = [r.u64() for _ in range(8)]
    key, created, expiry = r.hash("hmac key"), r.u64(), r.u64()
    r.take(48, "footer reserved")
    tail = [r.u64() for _ in range(4)]
    return ShardFooter(
        file_info_offset=head[0],
        xorb_info_offset=head[1],
        file_lookup_offset=head[2],
        file_lookup_count=head[3],
        xorb_lookup_offset=head[4],
        xorb_lookup_count=head[5],
        chunk_lookup_offset=head[6],
        chunk_lookup_count=head[7],
        chunk_hash_hmac_key=key,
        creation_timestamp=created,
        key_expiry=expiry,
        stored_bytes_on_disk=tail[0],
        materialized_bytes=tail[1],
        stored_bytes=tail[2],
        footer_offset=tail[3],
    )


def _check_footer(footer: ShardFooter, sections_end: int, total: int) -> None:
    f = footer
    xorb_lookup = f.file_lookup_offset + FILE_LOOKUP_ENTRY * f.file_lookup_count
    chunk_lookup = f.xorb_lookup_offset + XORB_LOOKUP_ENTRY * f.xorb_lookup_count
    tables_end = f.chunk_lookup_offset + CHUNK_LOOKUP_ENTRY * f.chunk_lookup_count
    expected = [
        (f.file_info_offset, HEADER_SIZE, "file info offset"),
        (f.footer_offset, total - FOOTER_SIZE, "footer offset"),
        (f.file_lookup_offset, sections_end, "file lookup offset"),
        (f.xorb_lookup_offset, xorb_lookup, "xorb lookup offset"),
        (f.chunk_lookup_offset, chunk_lookup, "chunk lookup offset"),
        (f.footer_offset, tables_end, "end of lookup tables"),
    ]
    for actual, wanted, what in expected:
        if actual != wanted:
            raise ShardFormatError(f"shard footer: {what} is {actual}, layout says {wanted}")
    if not f.file_info_offset <= f.xorb_info_offset <= sections_end:
        raise ShardFormatError("shard footer: CAS info offset outside the sections")


def parse_shard(data: bytes, *, max_terms: int = MAX_SHARD_TERMS, max_file_size: int = MAX_FILE_SIZE) -> Shard:
    """Parse and structurally validate a shard (with or without footer).

    Raises ``ShardFormatError`` for a bad magic/version, truncation, missing bookends, trailing
    bytes, inconsistent counts, or a footer whose offsets contradict the layout, and
    ``ShardLimitError`` (a subclass) as soon as the files name more than ``max_terms`` terms in
    all or one file exceeds ``max_file_size`` bytes. Lookup tables are located and size-checked
    but not read: they are derived data, rebuilt by ``shard_writer``.
    """
    r = Reader(data, ShardFormatError)
    if r.take(32, "shard magic") != SHARD_HEADER_TAG:
        raise ShardFormatError("not an MDB shard (wrong magic tag)")
    if r.u64() != HEADER_VERSION:
        raise ShardFormatError("unsupported shard header version")
    footer_size = r.u64()
    if footer_size not in (0, FOOTER_SIZE) or len(data) < HEADER_SIZE + footer_size:
        raise ShardFormatError(f"bad shard footer size {footer_size}")
    r.end = len(data) - footer_size
    files, xorbs = _parse_sections(r, max_terms, max_file_size)
    footer = None
    if footer_size:
        footer = _parse_footer(data)
        _check_footer(footer, r.pos, len(data))
        cas_offset = HEADER_SIZE + RECORD_SIZE * (1 + sum(_file_records(f) for f in files))
        if footer.xorb_info_offset != cas_offset:
            raise ShardFormatError("shard footer: CAS info offset does not match the file section")
    elif r.remaining:
        raise ShardFormatError(f"{r.remaining} trailing bytes after the CAS section")
    return Shard(files, xorbs, footer)


def _file_records(f: FileInfo) -> int:
    """Number of 48-byte records a file block occupies (header, terms, verification, metadata)."""
    n = len(f.terms)
    return 1 + n + (n if f.verification_hashes is not None else 0) + (1 if f.sha256 is not None else 0)
