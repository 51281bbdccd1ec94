"""Serialized xorbs (xorb.md): parse, validate, decode chunks, and build.

A xorb is a run of ``8-byte header + payload`` chunks, optionally followed by a metadata footer
(see ``xorb_footer``). The server must check an upload before storing it: every chunk decodes to
its declared size, and the merkle hash of the decoded chunks equals the hash in the upload URL.
The byte offsets we record per chunk are what reconstruction responses hand out as ranges, so a
client can fetch ``[first chunk header, last chunk end)`` of the stored object and decode it alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from dockyard.xet import compression
from dockyard.xet.compression import CompressionScheme
from dockyard.xet.errors import HashMismatchError, ReconstructionError, XorbFormatError
from dockyard.xet.hashes import MerkleHash, chunk_hash, xorb_hash
from dockyard.xet.xorb_footer import IDENT as FOOTER_IDENT
from dockyard.xet.xorb_footer import XorbFooter, parse_footer, serialize_footer

CHUNK_HEADER_LEN = 8
CHUNK_VERSION = 0
#: Largest serialized xorb the CAS accepts (xorb.md).
MAX_XORB_SIZE = 64 * 1024 * 1024
#: Most chunks in one xorb (deduplication.md); also bounds the work one upload can cause.
MAX_XORB_CHUNKS = 8192
#: Largest xorb upload accepted. Clients fill a xorb with up to 64 MiB of chunk *data*, then add an
#: 8-byte header per chunk and a footer (a hash and offsets per chunk), so an incompressible xorb is
#: a little over 64 MiB on the wire; refusing it would fail every large random-weights upload.
MAX_XORB_UPLOAD = MAX_XORB_SIZE + MAX_XORB_CHUNKS * 64 + 1024 * 1024
#: Largest uncompressed chunk: twice the target size, the chunker's hard cap.
MAX_CHUNK_SIZE = 128 * 1024
DEFAULT_SCHEMES = (CompressionScheme.LZ4, CompressionScheme.BG4_LZ4)


@dataclass(frozen=True, slots=True)
class ChunkHeader:
    """The 8-byte chunk header: version, compressed size (u24), scheme, uncompressed size (u24)."""

    compressed_size: int
    scheme: int
    uncompressed_size: int
    version: int = CHUNK_VERSION

    @classmethod
    def parse(cls, raw: bytes) -> ChunkHeader:
        """Decode 8 header bytes (no semantic validation; see :func:`_check_header`)."""
        if len(raw) != CHUNK_HEADER_LEN:
            raise XorbFormatError("truncated chunk header")
        return cls(
            version=raw[0],
            compressed_size=int.from_bytes(raw[1:4], "little"),
            scheme=raw[4],
            uncompressed_size=int.from_bytes(raw[5:8], "little"),
        )

    def to_bytes(self) -> bytes:
        """Encode as 8 bytes."""
        return (
            bytes([self.version])
            + self.compressed_size.to_bytes(3, "little")
            + bytes([self.scheme])
            + self.uncompressed_size.to_bytes(3, "little")
        )


@dataclass(frozen=True, slots=True)
class XorbChunk:
    """One chunk of a parsed xorb, with where it lives in both the stored and the decoded bytes."""

    index: int
    hash: MerkleHash
    scheme: CompressionScheme
    byte_start: int  # offset of the chunk header within the serialized xorb
    byte_end: int  # exclusive end of the chunk payload
    unpacked_start: int  # offset within the concatenation of decoded chunks
    unpacked_size: int

    @property
    def unpacked_end(self) -> int:
        """Exclusive end within the decoded concatenation."""
        return self.unpacked_start + self.unpacked_size


@dataclass(frozen=True, slots=True)
class ParsedXorb:
    """A validated xorb: its hash, its chunks, and the footer if one was present."""

    hash: MerkleHash
    chunks: tuple[XorbChunk, ...]
    content_length: int  # bytes of the chunk section (the footer starts here, if any)
    total_length: int
    footer: XorbFooter | None

    @property
    def unpacked_length(self) -> int:
        """Sum of the decoded chunk sizes."""
        return self.chunks[-1].unpacked_end if self.chunks else 0

    def chunk_byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Serialized byte span ``[first, last)`` of chunks ``[start, end)``."""
        if not 0 <= start < end <= len(self.chunks):
            n = len(self.chunks)
            raise ReconstructionError(f"chunk range [{start}, {end}) outside a xorb of {n} chunks")
        return self.chunks[start].byte_start, self.chunks[end - 1].byte_end

    def chunk_entries(self) -> list[tuple[MerkleHash, int]]:
        """``(hash, unpacked size)`` per chunk, as a shard's CAS info block lists them."""
        return [(c.hash, c.unpacked_size) for c in self.chunks]


@dataclass(frozen=True, slots=True)
class BuiltXorb:
    """Result of :func:`build_xorb`: the bytes to store and their parsed view."""

    data: bytes
    parsed: ParsedXorb

    @property
    def hash(self) -> MerkleHash:
        """The xorb hash (also the storage key)."""
        return self.parsed.hash


def _check_header(header: ChunkHeader, offset: int) -> None:
    if header.version != CHUNK_VERSION:
        raise XorbFormatError(f"chunk at offset {offset}: unsupported chunk version {header.version}")
    if header.scheme not in CompressionScheme._value2member_map_:
        raise XorbFormatError(f"chunk at offset {offset}: unknown compression scheme {header.scheme}")
    if not 0 < header.uncompressed_size <= MAX_CHUNK_SIZE:
        raise XorbFormatError(f"chunk at offset {offset}: bad uncompressed size {header.uncompressed_size}")


def iter_raw_chunks(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, ChunkHeader]]:
    """Walk chunk headers in ``data[start:end]``; yields ``(header offset, header)``.

    Stops at the end bound or at a footer ident; raises ``XorbFormatError`` on a truncated chunk.
    """
    end = len(data) if end is None else end
    pos = start
    while pos < end:
        if data.startswith(FOOTER_IDENT, pos):
            return
        header = ChunkHeader.parse(data[pos : pos + CHUNK_HEADER_LEN])
        _check_header(header, pos)
        if pos + CHUNK_HEADER_LEN + header.compressed_size > end:
            raise XorbFormatError(f"chunk at offset {pos}: payload runs past the end of the data")
        yield pos, header
        pos += CHUNK_HEADER_LEN + header.compressed_size


def decode_chunk(data: bytes, offset: int, header: ChunkHeader) -> bytes:
    """Decompressed bytes of the chunk whose header is at ``offset``."""
    payload_start = offset + CHUNK_HEADER_LEN
    payload = data[payload_start : payload_start + header.compressed_size]
    return compression.decompress(header.scheme, payload, header.uncompressed_size)


def decode_chunks(data: bytes) -> list[bytes]:
    """Decode every chunk of a byte span of a xorb (e.g. a ranged fetch); validates as it goes."""
    return [decode_chunk(data, pos, header) for pos, header in iter_raw_chunks(data)]


def parse_xorb(
    data: bytes,
    expected_hash: MerkleHash | None = None,
    *,
    max_size: int = MAX_XORB_UPLOAD,
    max_chunks: int = MAX_XORB_CHUNKS,
) -> ParsedXorb:
    """Validate a serialized xorb and describe its chunks.

    Decodes every chunk (the only way to know its hash), recomputes the xorb hash and, when given,
    compares it with ``expected_hash`` (the hash in the upload URL), raising ``HashMismatchError``.
    A footer, if present, must agree with the chunks.
    """
    if len(data) > max_size:
        raise XorbFormatError(f"xorb of {len(data)} bytes exceeds the {max_size}-byte limit")
    chunks: list[XorbChunk] = []
    content_end = unpacked = 0
    for pos, header in iter_raw_chunks(data):
        if len(chunks) == max_chunks:
            raise XorbFormatError(f"xorb has more than {max_chunks} chunks")
        decoded = decode_chunk(data, pos, header)
        content_end = pos + CHUNK_HEADER_LEN + header.compressed_size
        chunk = XorbChunk(
            len(chunks), chunk_hash(decoded), CompressionScheme(header.scheme),
            pos, content_end, unpacked, len(decoded),
        )  # fmt: skip
        chunks.append(chunk)
        unpacked += len(decoded)
    if not chunks:
        raise XorbFormatError("a xorb must contain at least one chunk")
    footer = parse_footer(data, content_end) if content_end < len(data) else None
    computed = xorb_hash([(c.hash, c.unpacked_size) for c in chunks])
    parsed = ParsedXorb(computed, tuple(chunks), content_end, len(data), footer)
    if footer is not None:
        _check_footer(parsed, footer)
    if expected_hash is not None and computed != expected_hash:
        raise HashMismatchError(f"xorb content hashes to {computed}, not {expected_hash}")
    return parsed


def _check_footer(parsed: ParsedXorb, footer: XorbFooter) -> None:
    chunks = parsed.chunks
    if footer.xorb_hash != parsed.hash:
        raise HashMismatchError(f"xorb footer claims hash {footer.xorb_hash}, content is {parsed.hash}")
    if footer.chunk_hashes != tuple(c.hash for c in chunks):
        raise HashMismatchError("xorb footer chunk hashes disagree with the chunks")
    if footer.chunk_end_offsets != tuple(c.byte_end for c in chunks):
        raise XorbFormatError("xorb footer chunk boundaries disagree with the chunks")
    if footer.unpacked_end_offsets not in (None, tuple(c.unpacked_end for c in chunks)):
        raise XorbFormatError("xorb footer unpacked offsets disagree with the chunks")


def serialize_chunk(data: bytes, schemes: Sequence[CompressionScheme] = DEFAULT_SCHEMES) -> bytes:
    """Header plus the smallest payload among ``schemes`` (stored raw when nothing helps)."""
    if not 0 < len(data) <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size {len(data)} outside 1..{MAX_CHUNK_SIZE}")
    scheme, payload = compression.compress_best(data, tuple(schemes))
    return ChunkHeader(len(payload), int(scheme), len(data)).to_bytes() + payload


def build_xorb(
    chunks: Sequence[bytes],
    *,
    schemes: Sequence[CompressionScheme] = DEFAULT_SCHEMES,
    with_footer: bool = False,
    nonce: bytes = bytes(4),
) -> BuiltXorb:
    """Serialize chunks into a xorb (e.g. for ingesting non-Xet uploads, or for tests)."""
    if not chunks:
        raise ValueError("a xorb needs at least one chunk")
    body = b"".join(serialize_chunk(c, schemes) for c in chunks)
    if with_footer:
        parsed = parse_xorb(body, max_size=len(body))
        body += serialize_footer(
            parsed.hash,
            [c.hash for c in parsed.chunks],
            [c.byte_end for c in parsed.chunks],
            [c.unpacked_end for c in parsed.chunks],
            nonce,
        )
    return BuiltXorb(body, parse_xorb(body, max_size=len(body), max_chunks=len(chunks)))


def group_chunks(
    chunks: Iterable[bytes], *, max_size: int = MAX_XORB_SIZE, max_chunks: int = MAX_XORB_CHUNKS
) -> Iterator[list[bytes]]:
    """Split a run of chunks into consecutive groups that each fit one xorb.

    Uses ``len + header`` as the serialized size bound, which holds because a chunk is stored raw
    whenever compression would not make it smaller. Keeping file order maximises term lengths.
    """
    group: list[bytes] = []
    size = 0
    for chunk in chunks:
        cost = CHUNK_HEADER_LEN + len(chunk)
        if group and (size + cost > max_size or len(group) == max_chunks):
            yield group
            group, size = [], 0
        group.append(chunk)
        size += cost
    if group:
        yield group
