"""Throughput of the chunker (not a test; run by hand).

    python tests/unit/xet/bench_chunker.py [megabytes]

Prints MB/s (best of three, so warm) for boundary finding alone, for chunking + chunk hashing +
file hash (in memory and streamed from a file), and for ``hf_xet.hash_files`` (Rust, multi-threaded)
on the same bytes as a reference point.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))

import hf_xet

from dockyard.xet.chunking import file_hash_of_bytes, file_hash_of_stream, iter_chunks


def _rate(label: str, size: int, seconds: float) -> None:
    print(f"{label:<34} {size / seconds / 1e6:8.1f} MB/s  ({seconds:.3f} s)")


def main(megabytes: int = 64) -> None:
    """Time each step on ``megabytes`` of random data (best of three)."""
    data = random.Random(0).randbytes(megabytes * 1_000_000)

    def best(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    def boundaries() -> None:
        for _ in iter_chunks(data):
            pass

    _rate("chunk boundaries (numpy gearhash)", len(data), best(boundaries))
    _rate("chunks + blake3 + file hash", len(data), best(lambda: file_hash_of_bytes(data)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.bin"
        path.write_bytes(data)

        def from_file() -> None:
            with path.open("rb") as f:
                file_hash_of_stream(f)

        _rate("same, streamed from a file", len(data), best(from_file))
        _rate("hf_xet.hash_files (reference)", len(data), best(lambda: hf_xet.hash_files([str(path)])))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
