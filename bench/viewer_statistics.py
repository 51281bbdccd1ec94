"""Whole-split statistics of a large split (issue 13: "statistics of a 10 GB split, with peak
memory reported; must stay bounded, say < 2 GB"), without a server.

Writes a split of about ``--gib`` GiB of Parquet on disk (shards of ~256 MiB: a long text column
of random hex, which no codec shrinks, a 12-value category, an int, a float and a bool), then
runs the viewer's ``split_statistics`` (the code behind the ``split-statistics`` step) in a fresh
child process and prints its time and its peak memory (``VmHWM``: the child's own high-water
mark; ``ru_maxrss`` would carry the parent's peak across the fork).

    python bench/viewer_statistics.py --gib 10     # the issue's proof (~20 M rows)
    python bench/viewer_statistics.py --gib 0.5    # quick check
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from harness import own_peak_mib

from dockyard.viewer import features as feats
from dockyard.viewer.shards import local_shards
from dockyard.viewer.statistics import split_statistics

SHARD_BYTES = 256 * 2**20
MEAN_TEXT_CHARS = 1000
ROW_GROUP_ROWS = 20_000
CATEGORIES = np.array([f"category-{i:02d}" for i in range(12)])


def _hex_text(rng: np.random.Generator, count: int) -> pa.Array:
    """``count`` strings of random hex, 200 to 1,800 characters, built straight from buffers."""
    lengths = rng.integers(MEAN_TEXT_CHARS // 5, MEAN_TEXT_CHARS * 9 // 5, count, dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32)
    data = os.urandom(int(offsets[-1]) // 2 + 1).hex()[: int(offsets[-1])].encode()
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def make_split(folder: Path, gib: float) -> tuple[list[Path], int]:
    rng = np.random.default_rng(13)
    per_shard = SHARD_BYTES // MEAN_TEXT_CHARS
    paths: list[Path] = []
    total_bytes = rows = 0
    while total_bytes < gib * 2**30:
        table = pa.table({
            "text": _hex_text(rng, per_shard),
            "category": pa.array(CATEGORIES[rng.integers(0, len(CATEGORIES), per_shard)]),
            "n": pa.array(rng.integers(-(10**6), 10**6, per_shard)),
            "x": pa.array(rng.normal(0, 1, per_shard)),
            "flag": pa.array(rng.random(per_shard) < 0.3),
        })  # fmt: skip
        path = folder / f"{len(paths):05d}.parquet"
        pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, write_page_index=True)
        paths.append(path)
        total_bytes += path.stat().st_size
        rows += per_shard
    return paths, rows


def stats_child(folder: str) -> None:
    paths = sorted(Path(folder).glob("*.parquet"))
    schema = pq.read_schema(paths[0])
    start = time.perf_counter()
    result = split_statistics(local_shards(paths), schema, feats.features_of(schema))
    elapsed = time.perf_counter() - start
    peak_mib = own_peak_mib()
    kinds = ",".join(f"{s['column_name']}={s['column_type']}" for s in result["statistics"])
    print(f"{elapsed:.1f} {peak_mib:.0f} {kinds}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=10.0)
    parser.add_argument("--dir", help="write the split here (kept) instead of a temporary folder")
    parser.add_argument("--stats-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stats_child:
        stats_child(args.stats_child)
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        start = time.perf_counter()
        paths, rows = make_split(Path(tmp), args.gib)
        made = time.perf_counter() - start
        size = sum(p.stat().st_size for p in paths)
        child = subprocess.run(
            [sys.executable, __file__, "--stats-child", tmp], capture_output=True, text=True, check=True
        )
        seconds, peak, kinds = child.stdout.split()
    print(f"split: {rows:,} rows, {len(paths)} shards, {size / 2**30:.2f} GiB of Parquet (written in {made:.0f} s)")
    print(f"columns: {kinds}")
    print(f"{'measure':<40} {'result':>28}")
    print(f"{'statistics, whole split':<40} {f'{seconds} s, {size / 2**20 / float(seconds):.0f} MiB/s':>28}")
    print(f"{'peak memory of the statistics (VmHWM)':<40} {f'{peak} MiB':>28}")
    print(f"target peak < 2 GiB: {'met' if float(peak) < 2048 else 'MISSED'}")
    print("command: python bench/viewer_statistics.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
