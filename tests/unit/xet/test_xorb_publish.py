"""Two uploads of one xorb hash may encode its chunks differently (compressed or not). The bytes
first stored are never replaced, and the row written for the hash must describe those bytes,
whichever upload wins the race to store them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from dockyard.storage.local import LocalBlobStore
from dockyard.xet.cas import _publish_xorb
from dockyard.xet.compression import CompressionScheme
from dockyard.xet.reader import xorb_key
from dockyard.xet.xorb import build_xorb

CHUNKS = [b"a" * 4000, b"the quick brown fox " * 200, bytes(range(256)) * 8]


def test_a_losing_upload_describes_the_stored_encoding_not_its_own(tmp_path: Path) -> None:
    hub = SimpleNamespace(blobs=LocalBlobStore(tmp_path))
    compressed = build_xorb(CHUNKS)
    raw = build_xorb(CHUNKS, schemes=[CompressionScheme.NONE])
    assert compressed.parsed.hash == raw.parsed.hash
    assert compressed.data != raw.data

    first, first_size = _publish_xorb(hub, compressed.parsed, compressed.data)  # type: ignore[arg-type]
    second, second_size = _publish_xorb(hub, raw.parsed, raw.data)  # type: ignore[arg-type]

    key = xorb_key(compressed.parsed.hash.hex())
    assert hub.blobs.read_range(key, 0, len(compressed.data) - 1) == compressed.data  # never replaced
    assert first == second == compressed.parsed
    assert first_size == second_size == len(compressed.data)
