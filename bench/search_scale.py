"""Benchmark: repo listings and search with 100k repos (a benchmark, not a test).

Fills a fresh hub's database with N model rows (tags, likes, downloads, licenses, pipeline tags),
starts a real server and times the listing queries the clients send, through HTTP.

    python bench/search_scale.py [--repos 100000] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ["bert", "gpt", "llama", "t5", "roberta", "whisper", "vit", "clip", "mistral", "phi", "qwen", "gemma"]
TASKS = ["text-classification", "text-generation", "fill-mask", "token-classification", "feature-extraction"]
LICENSES = ["mit", "apache-2.0", "cc-by-4.0", "other"]
LANGUAGES = ["en", "fr", "de", "zh", "ja"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def populate(data_dir: Path, count: int) -> None:
    os.environ["DOCKYARD_DATA_DIR"] = str(data_dir)
    from dockyard.accounts.models import Account
    from dockyard.cli.common import open_hub
    from dockyard.repos.models import Repo, RepoTag
    from dockyard.search.index import trigrams
    from dockyard.search.models import RepoSearchGram

    hub = open_hub(data_dir)
    rng = random.Random(0)
    now = datetime.now(UTC)
    with hub.db.write() as session:
        owners = [Account(name=f"org{i}", name_lower=f"org{i}", kind="org", fullname=f"Org {i}") for i in range(200)]
        session.add_all(owners)
        session.flush()
        for start in range(0, count, 5000):
            repos, tags, grams = [], [], []
            for index in range(start, min(count, start + 5000)):
                owner = owners[index % len(owners)]
                name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{index}"
                task = rng.choice(TASKS)
                repos.append(
                    {
                        "id": index + 1, "uid": uuid.uuid4().hex, "type": "model", "owner_id": owner.id, "name": name,
                        "full_id": f"{owner.name}/{name}", "full_id_lower": f"{owner.name}/{name}".lower(),
                        "private": index % 50 == 0, "disabled": False,
                        "created_at": now - timedelta(minutes=index), "last_modified": now - timedelta(seconds=index),
                        "downloads": rng.randint(0, 10**6), "downloads_all_time": 0, "likes": rng.randint(0, 5000),
                        "trending_score": rng.random() * 100, "pipeline_tag": task, "library_name": "transformers",
                    }
                )  # fmt: skip
                for tag in {
                    task,
                    "transformers",
                    f"license:{rng.choice(LICENSES)}",
                    f"language:{rng.choice(LANGUAGES)}",
                }:
                    tags.append({"repo_id": index + 1, "tag": tag})
                grams += [{"repo_id": index + 1, "gram": g} for g in trigrams(f"{owner.name}/{name}")]
            session.execute(Repo.__table__.insert(), repos)
            session.execute(RepoTag.__table__.insert(), tags)
            session.execute(RepoSearchGram.__table__.insert(), grams)
    hub.db.dispose()


QUERIES = [
    ("newest 100", {}),
    ("search 'llama' (substring)", {"search": "llama"}),
    ("search 'mistral-phi-9' (rare)", {"search": "mistral-phi-9"}),
    ("filter license:mit, sort downloads", {"filter": "license:mit", "sort": "downloads"}),
    ("filter en+license:apache-2.0, sort likes", {"filter": ["language:en", "license:apache-2.0"], "sort": "likes"}),
    ("pipeline_tag=fill-mask, sort trending", {"pipeline_tag": "fill-mask", "sort": "trendingScore"}),
    ("author=org7, search gpt", {"author": "org7", "search": "gpt"}),
    ("sort lastModified, limit 10", {"sort": "lastModified", "limit": 10}),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dockyard-search-bench-"))
    try:
        started = time.perf_counter()
        populate(workdir / "data", args.repos)
        fill = time.perf_counter() - started
        port = _port()
        env = dict(os.environ, DOCKYARD_DATA_DIR=str(workdir / "data"))
        server = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "serve", "--port", str(port), "--data-dir", str(workdir / "data")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            print(f"command: python bench/search_scale.py --repos {args.repos} --runs {args.runs}")
            print(f"filled {args.repos} repos in {fill:.1f} s; SQLite, 1 API process\n")
            print("| query | results | median ms | p95 ms |")
            print("| --- | --- | --- | --- |")
            with httpx.Client(base_url=url, timeout=30) as client:
                for label, params in QUERIES:
                    timings, count = [], 0
                    for _ in range(args.runs):
                        begin = time.perf_counter()
                        response = client.get("/api/models", params=params)
                        timings.append((time.perf_counter() - begin) * 1000)
                        count = len(response.json())
                    timings.sort()
                    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
                    print(f"| {label} | {count} | {statistics.median(timings):.1f} | {p95:.1f} |")
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
