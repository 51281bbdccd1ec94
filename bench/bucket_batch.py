"""Benchmark: bucket batch throughput (a benchmark, not a test).

Starts a real server, uploads many small files through the real client
(``HfApi.batch_bucket_files``: Xet upload + NDJSON batch, as ``hf sync`` of a folder of logs does),
then times raw NDJSON batches of 1,000 operations that move no bytes: ``addFile`` lines that point
new paths at content the bucket already holds (what a re-save of an unchanged file sends), the
same lines again (overwrites), and ``deleteFile`` lines. Reports operations per second.

    python bench/bucket_batch.py [--files 1000] [--batches 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

import harness

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

NAMESPACE = "batcher"


def _ndjson(lines: list[dict[str, object]]) -> bytes:
    return b"\n".join(json.dumps(line).encode() for line in lines)


def _timed_batch(client: object, url: str, lines: list[dict[str, object]]) -> float:
    import httpx

    assert isinstance(client, httpx.Client)
    started = time.perf_counter()
    response = client.post(url, content=_ndjson(lines), headers={"Content-Type": "application/x-ndjson"})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    if response.json().get("failed"):
        raise RuntimeError(f"batch had failures: {response.json()['failed'][:3]}")
    return elapsed


def run(args: argparse.Namespace, workdir: Path) -> list[tuple[str, int, float]]:
    import httpx
    from huggingface_hub import HfApi
    from tests.support.server import start_server

    server = start_server(workdir / "data", harness.free_port())
    try:
        server.cli("user", "create", NAMESPACE)
        token = server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        api = HfApi(endpoint=server.url, token=token)
        bucket = f"{NAMESPACE}/logs"
        api.create_bucket(bucket)
        local = workdir / "files"
        local.mkdir()
        for index in range(args.files):
            (local / f"{index:05d}.json").write_text(json.dumps({"step": index, "loss": 1 / (index + 1)}))
        started = time.perf_counter()
        api.batch_bucket_files(bucket, add=[(str(p), f"upload/{p.name}") for p in sorted(local.iterdir())])
        rows = [("upload through the client (Xet + batch), small files", args.files, time.perf_counter() - started)]
        content = next(iter(api.list_bucket_tree(bucket, prefix="upload/"))).xet_hash
        url = f"{server.url}/api/buckets/{bucket}/batch"
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
            for label, kind in (("addFile, new paths", "new"), ("addFile, overwrites", "over"), ("deleteFile", "del")):
                timings = []
                for batch in range(args.batches):
                    paths = [f"copies/{batch}/{i:04d}.json" for i in range(1000)]
                    if kind == "del":
                        lines: list[dict[str, object]] = [{"type": "deleteFile", "path": p} for p in paths]
                    else:
                        lines = [{"type": "addFile", "path": p, "xetHash": content, "mtime": 1} for p in paths]
                    timings.append(_timed_batch(client, url, lines))
                rows.append((f"{label} (batches of 1,000, median of {args.batches})", 1000, statistics.median(timings)))
        return rows
    finally:
        server.stop()


def report(rows: list[tuple[str, int, float]], command: str) -> str:
    lines = [f"`{command}`", "", "| operation | files | seconds | files/s |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {label} | {count} | {seconds:.2f} | {count / seconds:,.0f} |" for label, count, seconds in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="small files uploaded through the client")
    parser.add_argument("--batches", type=int, default=5, help="raw batches of 1,000 operations per kind")
    harness.add_workdir_args(parser)
    args = parser.parse_args()
    harness.use_this_checkout()
    workdir = harness.make_workdir(args.workdir, "bucket-batch-")
    try:
        rows = run(args, workdir)
        command = "python bench/bucket_batch.py " + shlex.join(sys.argv[1:])
        harness.publish_report(report(rows, command.strip()), args.output)
    finally:
        harness.drop_workdir(workdir, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
