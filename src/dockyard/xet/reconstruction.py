"""Build the JSON bodies of ``GET /v1|v2/reconstructions/{file}`` from stored metadata.

Inputs are what the server keeps: a file's terms (from its upload shard) and, per xorb, where each
chunk lies in the stored bytes and how long it decodes (from the validated xorb). A byte range
trims whole terms and whole chunks at both ends; ``offset_into_first_range`` tells the client how
many decoded bytes of the first kept chunk to skip, and the client truncates the tail itself.
Chunk ranges of the same xorb are merged, so each stored byte range is fetched once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from dockyard.xet.errors import RangeNotSatisfiableError, ReconstructionError, XetFormatError
from dockyard.xet.hashes import MerkleHash
from dockyard.xet.shard import FileTerm
from dockyard.xet.xorb import ParsedXorb

UrlFor = Callable[[MerkleHash], str]
_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class XorbLayout:
    """Per-chunk geometry of one stored xorb.

    ``byte_offsets`` has one more entry than there are chunks: chunk ``i`` occupies stored bytes
    ``[byte_offsets[i], byte_offsets[i + 1])``, header included.
    """

    byte_offsets: tuple[int, ...]
    unpacked_sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.byte_offsets) != len(self.unpacked_sizes) + 1:
            raise ValueError("byte_offsets needs exactly one entry more than unpacked_sizes")

    @classmethod
    def from_parsed(cls, xorb: ParsedXorb) -> XorbLayout:
        """Geometry of a xorb validated by ``parse_xorb``."""
        offsets = (*(c.byte_start for c in xorb.chunks), xorb.chunks[-1].byte_end)
        return cls(offsets, tuple(c.unpacked_size for c in xorb.chunks))

    @property
    def num_chunks(self) -> int:
        """Number of chunks in the xorb."""
        return len(self.unpacked_sizes)


@dataclass(frozen=True, slots=True)
class _Piece:
    """A term after range trimming: chunks ``[start, end)`` of ``xorb``, ``length`` decoded bytes."""

    xorb: MerkleHash
    start: int
    end: int
    length: int


def parse_range_header(value: str, file_size: int) -> tuple[int, int]:
    """Resolve a single ``Range: bytes=...`` value to an inclusive ``(start, end)`` within the file.

    Supports ``a-b``, ``a-`` and the suffix form ``-n``; ``end`` is clamped to the file. Raises
    ``RangeNotSatisfiableError`` when the start is at or past the end of the file (HTTP 416) and
    ``XetFormatError`` for syntax this API does not accept (multiple ranges, garbage).
    """
    m = _RANGE_RE.fullmatch(value.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        raise XetFormatError(f"unsupported Range header {value!r}")
    if m.group(1) == "":
        start = max(file_size - int(m.group(2)), 0)
        end = file_size - 1
    else:
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else max(start, file_size - 1)
        if end < start:
            raise XetFormatError(f"inverted Range header {value!r}")
    if start >= file_size:
        raise RangeNotSatisfiableError(start, file_size)
    return start, min(end, file_size - 1)


def _layout(layouts: Mapping[MerkleHash, XorbLayout], term: FileTerm) -> XorbLayout:
    layout = layouts.get(term.xorb_hash)
    if layout is None:
        raise ReconstructionError(f"no layout known for xorb {term.xorb_hash}")
    if not 0 <= term.chunk_start < term.chunk_end <= layout.num_chunks:
        span = f"[{term.chunk_start}, {term.chunk_end})"
        raise ReconstructionError(f"term {span} outside xorb {term.xorb_hash}")
    sizes = layout.unpacked_sizes[term.chunk_start : term.chunk_end]
    if sum(sizes) != term.unpacked_length:
        raise ReconstructionError(f"term of xorb {term.xorb_hash} declares {term.unpacked_length} bytes")
    return layout


def _pieces(
    terms: Sequence[FileTerm], layouts: Mapping[MerkleHash, XorbLayout], start: int, end: int
) -> tuple[list[_Piece], int]:
    """Terms overlapping file bytes ``[start, end]`` trimmed to whole chunks, and the skip offset."""
    pieces: list[_Piece] = []
    skip = 0
    pos = 0  # file offset of the current term
    for term in terms:
        layout = _layout(layouts, term)
        term_end = pos + term.unpacked_length
        if start <= pos and term_end - 1 <= end:  # wholly inside the range: kept as is
            pieces.append(_Piece(term.xorb_hash, term.chunk_start, term.chunk_end, term.unpacked_length))
        elif term_end > start and pos <= end:
            sizes = layout.unpacked_sizes[term.chunk_start : term.chunk_end]
            ends = list(accumulate(sizes, initial=pos))  # file offsets of chunk boundaries
            first = max(i for i in range(len(sizes)) if ends[i] <= max(start, pos))
            last = min(i for i in range(len(sizes)) if ends[i + 1] > min(end, term_end - 1))
            if not pieces:
                skip = start - ends[first]
            length = ends[last + 1] - ends[first]
            base = term.chunk_start
            pieces.append(_Piece(term.xorb_hash, base + first, base + last + 1, length))
        pos = term_end
        if pos > end:
            break
    return pieces, skip


def _merged_ranges(pieces: Sequence[_Piece]) -> dict[MerkleHash, list[tuple[int, int]]]:
    """Per xorb, the union of the pieces' chunk ranges as sorted, disjoint, non-adjacent ranges."""
    by_xorb: dict[MerkleHash, list[tuple[int, int]]] = {}
    for p in pieces:
        by_xorb.setdefault(p.xorb, []).append((p.start, p.end))
    merged: dict[MerkleHash, list[tuple[int, int]]] = {}
    for xorb, ranges in by_xorb.items():
        out: list[tuple[int, int]] = []
        for a, b in sorted(ranges):
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        merged[xorb] = out
    return merged


def _resolve(
    terms: Sequence[FileTerm], layouts: Mapping[MerkleHash, XorbLayout], range_header: str | None
) -> tuple[list[_Piece], int]:
    size = sum(t.unpacked_length for t in terms)
    if range_header is None:
        return _pieces(terms, layouts, 0, size - 1) if size else ([], 0)
    start, end = parse_range_header(range_header, size)
    return _pieces(terms, layouts, start, end)


def _term_json(p: _Piece) -> dict[str, object]:
    return {"hash": p.xorb.hex(), "unpacked_length": p.length, "range": {"start": p.start, "end": p.end}}


def reconstruction_v1(
    terms: Sequence[FileTerm],
    layouts: Mapping[MerkleHash, XorbLayout],
    url_for: UrlFor,
    range_header: str | None = None,
) -> dict[str, object]:
    """The v1 ``QueryReconstructionResponse``: ``terms`` plus ``fetch_info`` with ``url_range``.

    ``url_for(xorb_hash)`` returns the (presigned) URL of the stored xorb; the client GETs it with
    ``Range: bytes={url_range.start}-{url_range.end}`` and no other credentials.
    """
    pieces, skip = _resolve(terms, layouts, range_header)
    fetch_info: dict[str, list[dict[str, object]]] = {}
    for xorb, ranges in _merged_ranges(pieces).items():
        offsets = layouts[xorb].byte_offsets
        url = url_for(xorb)
        fetch_info[xorb.hex()] = [
            {
                "range": {"start": a, "end": b},
                "url": url,
                "url_range": {"start": offsets[a], "end": offsets[b] - 1},
            }
            for a, b in ranges
        ]
    terms_json = [_term_json(p) for p in pieces]
    return {"offset_into_first_range": skip, "terms": terms_json, "fetch_info": fetch_info}


def reconstruction_v2(
    terms: Sequence[FileTerm],
    layouts: Mapping[MerkleHash, XorbLayout],
    url_for: UrlFor,
    range_header: str | None = None,
) -> dict[str, object]:
    """The v2 ``QueryReconstructionResponse``: ``terms`` plus ``xorbs`` with one multi-range fetch each."""
    pieces, skip = _resolve(terms, layouts, range_header)
    xorbs: dict[str, list[dict[str, object]]] = {}
    for xorb, ranges in _merged_ranges(pieces).items():
        offsets = layouts[xorb].byte_offsets
        descriptors = [
            {"chunks": {"start": a, "end": b}, "bytes": {"start": offsets[a], "end": offsets[b] - 1}} for a, b in ranges
        ]
        xorbs[xorb.hex()] = [{"url": url_for(xorb), "ranges": descriptors}]
    return {"offset_into_first_range": skip, "terms": [_term_json(p) for p in pieces], "xorbs": xorbs}
