"""``snapshot_download`` of a 200-file repo with a fresh cache: Dockyard against nginx serving the
very same answers as static files (issue 14: "wall time within 1.5x of nginx").

    python bench/snapshot_download.py [--files 200] [--repeat 3] [--keep]

The repo holds ``--files`` small text files (1-64 KiB, in a few folders: a tokenizer, configs,
a dataset card's worth of JSON), stored as plain git files. The real client (``hf_client.py
snapshot``, in its own process, cache dir fresh every run, default settings: 8 download threads)
asks for the repo info, the recursive tree, then HEAD and GET ``/resolve`` per file. The
reference is nginx (one worker, sendfile) answering those same URL paths with the bytes Dockyard
answered (the info and tree JSON captured at the start, each file's content) plus the
``X-Repo-Commit`` header the client requires. Runs alternate Dockyard and nginx.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import harness
import httpx
from harness import median
from nginx_ref import Nginx

NAMESPACE, REPO_NAME = "bench", "snapshot"
REPO_ID = f"{NAMESPACE}/{REPO_NAME}"
TARGET = 1.5
FOLDERS = ("", "tokenizer/", "configs/", "eval/results/", "docs/")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_files(count: int) -> dict[str, bytes]:
    rng = random.Random(14)
    words = [f"w{i}" for i in range(500)]
    files = {}
    for i in range(count):
        size = rng.randint(1024, 64 * 1024)
        text = " ".join(rng.choice(words) for _ in range(size // 4))[:size]
        files[f"{FOLDERS[i % len(FOLDERS)]}file_{i:03d}.json"] = json.dumps({"i": i, "text": text}).encode()
    return files


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.token = ""
        self.commit = ""
        self.files = make_files(args.files)
        self.expected = (0, 0)  # files and bytes of the repo's tree (the client fetches them all)

    def setup(self) -> None:
        from tests.support.server import start_server

        self.server = start_server(self.workdir / "data", self.port)
        self.server.cli("user", "create", NAMESPACE)
        self.token = self.server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        from huggingface_hub import CommitOperationAdd, HfApi

        api = HfApi(endpoint=self.url, token=self.token)
        api.create_repo(REPO_ID)
        operations = [CommitOperationAdd(path, data) for path, data in self.files.items()]
        self.commit = api.create_commit(REPO_ID, operations, commit_message=f"{len(operations)} files").oid
        log(f"dockyard on {self.url}: {REPO_ID} at {self.commit[:12]} with {len(self.files)} files")

    def capture(self) -> dict[str, Path]:
        """URL path -> file for nginx: the two listings as Dockyard answered them, and the files."""
        static = self.workdir / "static"
        static.mkdir()
        auth = {"Authorization": f"Bearer {self.token}"}
        listings = {
            f"/api/models/{REPO_ID}/revision/main": {},
            f"/api/models/{REPO_ID}/tree/{self.commit}": {"recursive": "true", "expand": "false"},
        }
        served: dict[str, Path] = {}
        for number, (url_path, params) in enumerate(listings.items()):
            answer = httpx.get(self.url + url_path, params=params, headers=auth, timeout=30)
            answer.raise_for_status()
            assert "link" not in answer.headers, "the tree came in pages: raise the bench's page size"
            served[url_path] = static / f"listing-{number}.json"
            served[url_path].write_bytes(answer.content)
        tree = [entry for entry in answer.json() if entry["type"] == "file"]  # the last listing
        self.expected = (len(tree), sum(entry["size"] for entry in tree))
        content = {entry["path"]: httpx.get(self.url + f"/{REPO_ID}/resolve/{self.commit}/{entry['path']}",
                                            headers=auth, timeout=30).content for entry in tree}  # fmt: skip
        for path, data in content.items():
            target = static / "files" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            served[f"/{REPO_ID}/resolve/{self.commit}/{path}"] = target
        return served

    def snapshot_seconds(self, endpoint: str, run: int) -> float:
        env = harness.client_env(endpoint, self.token, self.workdir / "hf-home")
        cache = self.workdir / f"cache-{run}-{endpoint.rsplit(':', 1)[1]}"
        script = str(Path(__file__).with_name("hf_client.py"))
        harness.settle()
        out = harness.run([sys.executable, script, "snapshot", REPO_ID, str(cache)], env=env, timeout=900)
        result = json.loads(out.strip().splitlines()[-1])
        if (result["files"], result["bytes"]) != self.expected:
            raise RuntimeError(f"snapshot from {endpoint}: {result}")
        return float(result["seconds"])

    def run(self) -> list[str]:
        self.setup()
        nginx = Nginx(self.workdir / "nginx", harness.free_port(), self.capture(), self.commit)
        nginx.start()
        try:
            ours, ref = [], []
            for run in range(self.args.repeat):
                ours.append(self.snapshot_seconds(self.url, run))
                ref.append(self.snapshot_seconds(nginx.url, run))
                log(f"run {run}: dockyard {ours[-1]:.2f} s, nginx {ref[-1]:.2f} s")
        finally:
            nginx.stop()
            self.server.stop()
        value, reference = median(ours), median(ref)
        ratio = value / reference
        size_mib = sum(map(len, self.files.values())) / 2**20
        runs = self.args.repeat
        return [
            f"snapshot_download, {len(self.files)} files ({size_mib:.1f} MiB), fresh cache, median of {runs}",
            "",
            "| server | wall time | runs |",
            "| --- | --- | --- |",
            f"| Dockyard (1 process) | {value:.2f} s | {', '.join(f'{s:.2f}' for s in ours)} |",
            f"| nginx, same answers as static files | {reference:.2f} s | {', '.join(f'{s:.2f}' for s in ref)} |",
            "",
            f"ratio {ratio:.2f}x nginx; target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'}",
            "command: python bench/snapshot_download.py " + " ".join(sys.argv[1:]),
        ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    harness.add_workdir_args(parser)
    args = parser.parse_args()
    harness.use_this_checkout()
    if harness.refuse_missing([] if harness.which("nginx") else ["nginx (apt-get install -y nginx-light)"]):
        return
    workdir = harness.make_workdir(args.workdir, "dockyard-snapshot-")
    try:
        harness.publish_report("\n".join(Bench(args, workdir).run()), args.output)
    finally:
        harness.drop_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
