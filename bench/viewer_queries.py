"""The viewer's reads over a large split, without a server: ``/rows`` at random offsets (the
footer lookup and row-group read behind the route), search (the scan, and the full-text index with
its build time and size), filter, and whole-split statistics with the process's peak memory.
Prints a table and the command that made it.

    python bench/viewer_queries.py                 # 10 M rows in 10 shards
    python bench/viewer_queries.py --rows 1000000  # quick check

Targets (issue 13): /rows p50 < 50 ms on a 10 M-row split; statistics' peak memory bounded
(reported as the child process's own high-water mark, VmHWM, so only statistics count).
"""

from __future__ import annotations

import argparse
import random
import statistics
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
from dockyard.viewer import fulltext, query, rows
from dockyard.viewer.shards import local_shards
from dockyard.viewer.statistics import split_statistics

WORDS = np.array(["harbour", "anchor", "gale", "tide", "beacon", "keel", "mast", "hull", "stern", "bow"])


def make_split(folder: Path, total: int, shards: int) -> list[Path]:
    rng = np.random.default_rng(7)
    per = total // shards
    paths = []
    for index in range(shards):
        count = per if index < shards - 1 else total - per * (shards - 1)
        words = WORDS[rng.integers(0, len(WORDS), size=(count, 3))]
        text = pa.array([" ".join(w) for w in words.tolist()])
        table = pa.table({
            "text": text,
            "n": pa.array(rng.integers(-1000, 1000, count)),
            "x": pa.array(rng.normal(0, 1, count)),
            "label": pa.array(rng.integers(0, 5, count)),
        })  # fmt: skip
        path = folder / f"{index:04d}.parquet"
        pq.write_table(table, path, row_group_size=100_000, write_page_index=True)
        paths.append(path)
    return paths


def bench_rows(paths: list[Path], total: int, samples: int) -> list[float]:
    shards = local_shards(paths)
    rng = random.Random(1)
    times = []
    for _ in range(samples):
        offset = rng.randrange(0, total - 100)
        start = time.perf_counter()
        page = rows.read_page(shards, offset, 100).rows
        times.append((time.perf_counter() - start) * 1000)
        assert page[0][0] == offset
    return times


def timed(label: str, action: object) -> tuple[str, float, object]:
    start = time.perf_counter()
    result = action()  # type: ignore[operator]
    return label, (time.perf_counter() - start) * 1000, result


def stats_child(folder: str) -> None:
    paths = sorted(Path(folder).glob("*.parquet"))
    shards = local_shards(paths)
    schema = pq.read_schema(paths[0])
    start = time.perf_counter()
    split_statistics(shards, schema, feats.features_of(schema))
    elapsed = time.perf_counter() - start
    peak_mib = own_peak_mib()  # not ru_maxrss: the parent's peak would show through
    print(f"{elapsed:.1f} {peak_mib:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--stats-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stats_child:
        stats_child(args.stats_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_split(folder, args.rows, args.shards)
        size_mib = sum(p.stat().st_size for p in paths) / 2**20
        times = bench_rows(paths, args.rows, args.samples)
        shards = local_shards(paths)
        schema = pq.read_schema(paths[0])
        features = feats.features_of(schema)
        index = folder / "search.sqlite3"
        build = timed(
            "search index build (FTS5, whole split)",
            lambda: fulltext.build(index, shards, ["text"], max_text_bytes=2**62),
        )
        index_mib = index.stat().st_size / 2**20

        def search(text: str, with_index: bool) -> query.Hits:
            """What /search does: the hits (count + page 1), then the page's rows read by position."""
            hits = query.search_rows(
                shards, schema, features, query=text, offset=0, length=100, index=index if with_index else None
            )
            assert len(rows.rows_by_index(shards, hits.row_indexes)) == len(hits.row_indexes)
            return hits

        measures = [
            timed("search 'gale keel', scan (count + page 1 + rows)", lambda: search("gale keel", False)),
            timed("search 'gale keel', index (count + page 1 + rows)", lambda: search("gale keel", True)),
            timed("search 'GALE', index (count + page 1 + rows)", lambda: search("GALE", True)),
            timed("filter label = 3 AND n > 500, orderby x DESC", lambda: query.filter_rows(
                shards, schema, features, where="label = 3 AND n > 500", orderby="x DESC", offset=0, length=100)),
        ]  # fmt: skip
        assert measures[0][2] == measures[1][2], "the index and the scan disagree on whole words"
        child = subprocess.run(
            [sys.executable, __file__, "--stats-child", tmp], capture_output=True, text=True, check=True
        )
        stats_seconds, peak = child.stdout.split()
    print(f"split: {args.rows:,} rows, {args.shards} shards, {size_mib:.0f} MiB of Parquet, row groups of 100,000")
    print(f"{'measure':<48} {'result':>24}")
    p50, p95 = statistics.median(times), sorted(times)[int(0.95 * len(times))]
    print(f"{'/rows read, 100 rows at random offsets':<48} {f'p50 {p50:.1f} ms, p95 {p95:.1f} ms':>24}")
    for label, ms, result in measures:
        print(f"{label:<48} {f'{ms:.0f} ms, {result.total:,} hits':>24}")  # type: ignore[attr-defined]
    label, build_ms, _ = build
    print(f"{label:<48} {f'{build_ms / 1000:.1f} s, {index_mib:.0f} MiB':>24}")
    print(f"{'statistics, whole split (4 columns)':<48} {f'{stats_seconds} s, peak {peak} MiB':>24}")
    print(f"target /rows p50 < 50 ms: {'met' if p50 < 50 else 'MISSED'}")
    print("command: python bench/viewer_queries.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
