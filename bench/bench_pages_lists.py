"""Benchmark: server time of the ``/models`` page (results, facet counts, sorts) with 100k repos.

Fills a fresh hub's SQLite database with N model rows straight through the models (the same fill
as ``search_scale.py``: tasks, licenses, languages, likes, downloads; one repo in 50 private),
starts a real server and times page renders over HTTP on loopback, as a browser asks for them.
"first" is the first render of a URL, which counts the facets of its filter; the next renders of
the same filter (any sort or page, any viewer) reuse the public repos' counts, recounted in the
background every half minute (``search/facets.py``).

    python bench/bench_pages_lists.py [--repos 100000] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from search_scale import _port, populate

PAGES = [
    ("/models (trending, all facets)", "/models"),
    ("/models?sort=downloads", "/models?sort=downloads"),
    ("/models?pipeline_tag=fill-mask&sort=likes", "/models?pipeline_tag=fill-mask&sort=likes"),
    ("/models?license=mit&language=en", "/models?license=mit&language=en"),
    ("/models?search=llama", "/models?search=llama"),
    ("/models?search=mistral-phi-9 (rare)", "/models?search=mistral-phi-9"),
    ("/models?p=100 (page 101)", "/models?p=100"),
    ("/ (home, trending)", "/"),
    ("/search?q=gemma", "/search?q=gemma"),
]
TARGET_MS = 100.0


def _wait_ready(url: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def _time(client: httpx.Client, path: str, runs: int) -> tuple[float, float, float, int]:
    """(first render ms: the facet counts computed; p50 and p95 of the next ``runs``; size)."""
    begin = time.perf_counter()
    client.get(path).raise_for_status()
    first = (time.perf_counter() - begin) * 1000
    timings = []
    for _ in range(runs):
        begin = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - begin) * 1000)
        response.raise_for_status()
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return first, statistics.median(timings), p95, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dockyard-pages-bench-"))
    data = workdir / "data"
    try:
        started = time.perf_counter()
        populate(data, args.repos)
        fill = time.perf_counter() - started
        port = _port()
        server = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "serve", "--port", str(port), "--data-dir", str(data)],
            env=dict(os.environ, DOCKYARD_DATA_DIR=str(data)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url)
            print(f"command: python bench/bench_pages_lists.py --repos {args.repos} --runs {args.runs}")
            print(f"filled {args.repos} repos in {fill:.1f} s; SQLite, 1 server process, anonymous viewer\n")
            print("| page | first ms | p50 ms | p95 ms | KB | p50 < 100 ms |")
            print("| --- | --- | --- | --- | --- | --- |")
            with httpx.Client(base_url=url, timeout=60, headers={"Accept": "text/html"}) as client:
                for label, path in PAGES:
                    first, p50, p95, size = _time(client, path, args.runs)
                    verdict = "yes" if p50 < TARGET_MS else "no"
                    print(f"| {label} | {first:.1f} | {p50:.1f} | {p95:.1f} | {size / 1024:.0f} | {verdict} |")
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
