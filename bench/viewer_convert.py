"""Benchmark: the viewer's CSV → Parquet conversion against pyarrow's own rate on the same file.

Builds a fresh hub in a temporary folder, commits one CSV split (N rows: an id, a sentence, a
float, a label) and runs the viewer's steps in-process, each timed: ``config-splits`` (the
``datasets`` resolution), ``convert-parquet`` (written out of the blob store, streamed through
``datasets``' CSV reader, row groups ≤100k rows with the page index and content-defined chunking,
stored and committed to ``refs/convert/parquet``) and ``info`` (footers only). The baselines are
pyarrow alone on the same file: ``read_csv`` + ``write_table`` (whole table in memory, defaults),
and a streaming ``open_csv`` → ``ParquetWriter`` with the same writer options as the viewer.

    python bench/viewer_convert.py [--rows 1000000]

Libraries are imported before the clock starts (a running worker has them already).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dockyard.accounts import service as accounts
from dockyard.app import build_hub
from dockyard.auth.identity import Caller
from dockyard.db.migrate import upgrade
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos import service
from dockyard.repos.importer import commit_files
from dockyard.repos.models import Repo
from dockyard.settings import Settings
from dockyard.viewer.steps import config_splits, convert_parquet, info
from dockyard.viewer.steps.context import StepContext

WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog"),
    *("while", "seven", "sailors", "sing", "of", "distant", "harbours"),
]


def _csv(path: Path, rows: int) -> None:
    rng = random.Random(13)
    with path.open("w") as out:
        out.write("id,text,score,label\n")
        for i in range(rows):
            sentence = " ".join(rng.choice(WORDS) for _ in range(8))
            out.write(f"{i},{sentence},{rng.random():.6f},{rng.choice(('math', 'code', 'prose'))}\n")


def _hub(root: Path) -> Hub:
    settings = Settings(data_dir=root / "data", jobs="external")
    settings.resolved_data_dir().mkdir(parents=True)
    upgrade(settings.resolved_database_url())
    return build_hub(settings)


def _repo(hub: Hub, csv: Path) -> tuple[Repo, str]:
    with hub.db.write() as session:
        user = accounts.create_user(session, "bench")
        session.flush()
        caller = Caller(user=user, role="write")
        repo = service.create_repo(
            hub, session, caller, repo_type=RepoType.DATASET, organization=None, name="convert", private=False
        )
    commit = commit_files(hub, repo, caller, {"data/train.csv": csv.read_bytes()}, "Add the CSV")
    return repo, commit.commit_id


def _timed(label: str, results: list[tuple[str, float]], action: object) -> None:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    results.append((label, time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    try:
        csv = root / "train.csv"
        _csv(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        _warm_up()
        hub = _hub(root)
        repo, sha = _repo(hub, csv)
        scratch = root / "scratch"
        scratch.mkdir()
        ctx = StepContext(hub, repo.id, repo.uid, repo.full_id, sha, scratch)
        timings: list[tuple[str, float]] = []
        _timed("viewer: config-splits", timings, lambda: config_splits.run(ctx))
        _timed("viewer: convert-parquet", timings, lambda: convert_parquet.run(ctx))
        _timed("viewer: info", timings, lambda: info.run(ctx))
        converted = ctx.get(convert_parquet.NAME, convert_parquet.VERSION, "default", "train")
        assert converted is not None, "not converted"
        assert converted.result is not None, converted.error
        assert converted.result["num_rows"] == args.rows
        _timed("pyarrow: read_csv + write_table", timings, lambda: _pyarrow_whole(csv, root / "whole.parquet"))
        _timed("pyarrow: open_csv → ParquetWriter (viewer options)", timings, lambda: _pyarrow_stream(csv, root))
        print(f"CSV: {args.rows} rows, {size_mb:.1f} MB")
        print(f"{'what':55} {'seconds':>8} {'MB/s':>8}")
        for label, seconds in timings:
            print(f"{label:55} {seconds:8.2f} {size_mb / seconds:8.1f}")
        print(f"command: python bench/viewer_convert.py --rows {args.rows}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _warm_up() -> None:
    """Import what a running worker has imported after its first dataset (``datasets`` pulls in
    torch when installed): a one-time cost per process, not a conversion rate."""
    import datasets  # type: ignore[import-untyped]

    datasets.IterableDataset.from_generator(lambda: iter([{"a": 1}]))


def _pyarrow_whole(csv: Path, out: Path) -> None:
    pq.write_table(pacsv.read_csv(csv), out)


def _pyarrow_stream(csv: Path, root: Path) -> None:
    reader = pacsv.open_csv(csv)
    with pq.ParquetWriter(
        root / "stream.parquet", reader.schema, write_page_index=True, use_content_defined_chunking=True
    ) as writer:
        for batch in reader:
            writer.write_batch(batch, row_group_size=100_000)


if __name__ == "__main__":
    main()
