"""Benchmark: listing a bucket of 1,000,000 files, page by page (a benchmark, not a test).

Fills a fresh hub's database with one public bucket of N files laid out like training output
(``run-RR/step-SSSS/shard-FFF.safetensors``), starts a real server, and times the tree pages the
clients request through HTTP: the recursive walk (first page and pages at random cursors, as
``list_bucket_tree`` follows ``Link``), and the non-recursive listings (``hf buckets ls``) of the
root, of a folder of folders and of a folder of files. The server never loads the bucket whole:
each page is one or a few index range scans.

    python bench/bucket_listing.py [--files 1000000] [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUCKET = "bench/checkpoints"
FILES_PER_STEP = 100
STEPS_PER_RUN = 1000


def path_of(index: int) -> str:
    run, rest = divmod(index, FILES_PER_STEP * STEPS_PER_RUN)
    step, shard = divmod(rest, FILES_PER_STEP)
    return f"run-{run:02d}/step-{step:04d}/shard-{shard:03d}.safetensors"


def populate(data_dir: Path, count: int) -> None:
    os.environ["DOCKYARD_DATA_DIR"] = str(data_dir)
    from dockyard.accounts.models import Account
    from dockyard.buckets.models import Bucket, BucketFile, BucketFolder, parent_of
    from dockyard.cli.common import open_hub

    hub = open_hub(data_dir)
    now = datetime.now(UTC)
    with hub.db.write() as session:
        owner = Account(name="bench", name_lower="bench", kind="org", fullname="Bench")
        session.add(owner)
        session.flush()
        bucket = Bucket(
            owner_id=owner.id, name="checkpoints", full_id=BUCKET, full_id_lower=BUCKET,
            private=False, size=count * 1024, total_files=count,
        )  # fmt: skip
        session.add(bucket)
        session.flush()
        for start in range(0, count, 20_000):
            rows = [
                {
                    "bucket_id": bucket.id, "path": path_of(index), "parent": parent_of(path_of(index)),
                    "xet_hash": f"{index:064x}", "size": 1024,
                    "mtime": 1_700_000_000_000 + index, "uploaded_at": now - timedelta(seconds=count - index),
                    "content_type": None,
                }
                for index in range(start, min(count, start + 20_000))
            ]  # fmt: skip
            session.execute(BucketFile.__table__.insert(), rows)
        session.execute(BucketFolder.__table__.insert(), list(_folders(bucket.id, count, now).values()))
    hub.db.dispose()


def _folders(bucket_id: int, count: int, now: datetime) -> dict[str, dict[str, object]]:
    """The folder rows the service keeps as files are written (files counted at any depth)."""
    folders: dict[str, dict[str, object]] = {}
    for index in range(0, count, FILES_PER_STEP):
        run, step = path_of(index).split("/")[:2]
        for key, parent in ((f"{run}/", ""), (f"{run}/{step}/", run)):
            row = folders.setdefault(key, {"bucket_id": bucket_id, "key": key, "parent": parent, "files": 0})
            row["files"] = int(row["files"]) + min(FILES_PER_STEP, count - index)  # type: ignore[call-overload]
            row["uploaded_at"] = now
    return folders


def _time(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[float, int]:
    begin = time.perf_counter()
    response = client.get(url, params=params)
    elapsed = (time.perf_counter() - begin) * 1000
    response.raise_for_status()
    return elapsed, len(response.json())


def scenarios(count: int, rng: random.Random) -> list[tuple[str, str, dict[str, str] | None]]:
    """(label, path under /api/buckets/{id}/tree, params or None for a random recursive cursor)."""
    from dockyard.buckets.listing import Position, encode_cursor

    del encode_cursor, Position  # imported here to fail early if the module moved
    return [
        ("recursive, first page", "", {}),
        ("recursive, page at a random cursor", "", None),
        ("non-recursive root (folders)", "", {"recursive": "false"}),
        (f"non-recursive run-00 ({min(STEPS_PER_RUN, count // FILES_PER_STEP)} folders)", "/run-00",
         {"recursive": "false"}),
        (f"non-recursive run-00/step-0042 ({FILES_PER_STEP} files)", "/run-00/step-0042", {"recursive": "false"}),
        ("recursive prefix run-00/step-0042/", "/run-00/step-0042/", {}),
    ]  # fmt: skip


def random_cursor(count: int, rng: random.Random) -> dict[str, str]:
    from dockyard.buckets.listing import Position, encode_cursor

    return {"cursor": encode_cursor(Position(path_of(rng.randrange(count))))}


def main() -> None:
    from tests.support.backends import free_port
    from tests.support.server import start_server

    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(0)
    workdir = Path(tempfile.mkdtemp(prefix="dockyard-bucket-bench-"))
    try:
        started = time.perf_counter()
        populate(workdir / "data", args.files)
        fill = time.perf_counter() - started
        server = start_server(workdir / "data", free_port())
        try:
            url = server.url
            print(f"command: python bench/bucket_listing.py --files {args.files} --runs {args.runs}")
            print(f"filled {args.files} files in {fill:.1f} s; SQLite, 1 API process; pages of up to 1,000 entries\n")
            print("| listing | entries | p50 ms | p95 ms |")
            print("| --- | --- | --- | --- |")
            with httpx.Client(base_url=url, timeout=60) as client:
                for label, suffix, params in scenarios(args.files, rng):
                    timings, entries = [], 0
                    for _ in range(args.runs):
                        query = params if params is not None else random_cursor(args.files, rng)
                        elapsed, entries = _time(client, f"/api/buckets/{BUCKET}/tree{suffix}", query)
                        timings.append(elapsed)
                    timings.sort()
                    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
                    print(f"| {label} | {entries} | {statistics.median(timings):.1f} | {p95:.1f} |")
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
