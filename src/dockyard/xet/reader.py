"""Reading a Xet-stored file's bytes on the server, for clients that do not speak Xet (plain
GET /resolve, git-lfs, browsers) and for server-side checks (sha256, safetensors headers)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from dockyard.hub import Hub
from dockyard.xet.reconstruction import XorbLayout
from dockyard.xet.xorb import decode_chunk, iter_raw_chunks

READ_WINDOW = 8 * 1024 * 1024


def xorb_key(hash_hex: str) -> str:
    return f"xet/xorbs/{hash_hex[:2]}/{hash_hex}"


Term = tuple[str, int, int, int]


def iter_terms(
    hub: Hub, terms: Sequence[Term], layouts: Mapping[str, XorbLayout], start: int, end: int
) -> Iterator[bytes]:
    """Decoded bytes ``start..end`` (inclusive) of the file made of ``terms``."""
    position = 0
    for xorb, chunk_start, chunk_end, _length in terms:
        layout = layouts[xorb]
        index = chunk_start
        while index < chunk_end and position <= end:
            size = layout.unpacked_sizes[index]
            if position + size <= start:  # wholly before the range: skip without reading
                position += size
                index += 1
                continue
            last = _window_end(layout, index, chunk_end)
            data = hub.blobs.read_range(xorb_key(xorb), layout.byte_offsets[index], layout.byte_offsets[last] - 1)
            for offset, header in iter_raw_chunks(data):
                decoded = decode_chunk(data, offset, header)
                chunk_from, chunk_to = position, position + len(decoded) - 1
                if chunk_to >= start and chunk_from <= end:
                    yield decoded[max(0, start - chunk_from) : min(len(decoded), end - chunk_from + 1)]
                position += len(decoded)
                if position > end:
                    return
            index = last
        if position > end:
            return


def _window_end(layout: XorbLayout, first: int, limit: int) -> int:
    """Exclusive chunk index so that chunks ``first..end`` span at most READ_WINDOW stored bytes."""
    last = first + 1
    offsets = layout.byte_offsets
    while last < limit and offsets[last + 1] - offsets[first] <= READ_WINDOW:
        last += 1
    return last
