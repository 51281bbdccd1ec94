"""``git clone`` of a repo holding large LFS files: Dockyard (smart HTTP + the LFS batch API) against
the same repo cloned over ``file://`` (git's own transport + git-lfs's standalone file transfer).

    python bench/git_clone.py                                # 1 GiB in 8 LFS files, 3 runs each
    python bench/git_clone.py --size-gib 0.125 --repeat 1    # quick check

Both clones run the real ``git`` and ``git-lfs`` (``git clone URL DIR``: refs and pack, then the
smudge filter downloads every LFS object into ``.git/lfs/objects`` and checks it out), alternating
Dockyard and ``file://``, with ``sync`` between runs; the median is reported. The repo is built
by a real ``git push`` of a clone of the new repo (git-lfs uploads through the batch API), timed against the same push
to a bare repo over ``file://``. The report (Markdown, on stdout) starts with the exact command.

The reference is favourable: on one filesystem git-lfs's standalone file transfer *hard-links*
LFS objects (checked: link count 3 after push + clone), so a ``file://`` clone writes the checkout
only, while a clone from any server writes ``.git/lfs/objects`` and the checkout (twice the bytes)
and hashes what it receives. A ``file://`` push is a hard link, not a copy.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness import MB, MIB, CpuAccount, median, settle

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE, REPO_NAME = "bench", "git-clone"
REPO_ID = f"{NAMESPACE}/{REPO_NAME}"


@dataclass
class Row:
    measure: str
    dockyard: float  # seconds (median)
    reference: float
    size: int

    def cells(self) -> str:
        ratio = self.reference / self.dockyard if self.dockyard else float("nan")
        if not self.size:
            return f"| {self.measure} | {self.dockyard:.3f} s | {self.reference:.3f} s | {ratio:.2f}x |"
        return (
            f"| {self.measure} | {self.dockyard:.2f} s ({self.size / MB / self.dockyard:.0f} MB/s) "
            f"| {self.reference:.2f} s ({self.size / MB / self.reference:.0f} MB/s) | {ratio:.2f}x |"
        )


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from tests.support.git import GitClient

        self.args = args
        self.size = int(args.size_gib * 1024**3)
        self.files: int = args.files
        self.workdir = workdir
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.token = ""
        self.git = GitClient.create(workdir / "git-home")
        self.source = workdir / "source"
        self.bare = workdir / "reference.git"
        self.rows: list[Row] = []
        self.samples: dict[str, list[str]] = {}

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def start(self) -> None:
        from tests.support.server import start_server

        self.server = start_server(self.workdir / "data", self.port)
        self.server.cli("user", "create", NAMESPACE)
        created = self.server.cli("token", "create", NAMESPACE, "--role", "write")
        self.token = created.stdout.strip().splitlines()[-1]
        os.environ.update(HF_ENDPOINT=self.url, HF_HUB_DISABLE_TELEMETRY="1")
        from huggingface_hub import HfApi

        HfApi(endpoint=self.url, token=self.token).create_repo(REPO_ID)
        self.log(f"dockyard serve on {self.url} (1 process); repo {REPO_ID}")

    def dockyard_url(self, *, token: bool) -> str:
        from tests.support.git import repo_url

        return repo_url(self.url, REPO_ID, token=self.token if token else None)

    def make_source(self) -> None:
        """A clone of the new repo plus ``--files`` random LFS files adding up to ``--size-gib``."""
        start = time.perf_counter()
        self.git.run("clone", "-q", self.dockyard_url(token=True), str(self.source))
        self.git.run("lfs", "track", "*.bin", cwd=self.source)
        per_file = self.size // self.files
        for index in range(self.files):
            size = per_file if index < self.files - 1 else self.size - per_file * (self.files - 1)
            with (self.source / f"shard-{index:02d}.bin").open("wb") as handle:
                remaining = size
                while remaining > 0:
                    remaining -= handle.write(os.urandom(min(16 * MIB, remaining)))
        (self.source / "README.md").write_text("---\nlicense: mit\n---\n# git clone benchmark\n")
        self.git.commit_all(self.source, "weights")
        self.log(
            f"source repo: {self.files} LFS files, {self.size / MB:.0f} MB, in {time.perf_counter() - start:.1f} s"
        )

    def timed(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
        settle()
        start = time.perf_counter()
        self.git.run(*args, cwd=cwd, env=env)
        return time.perf_counter() - start

    def measure_push(self) -> None:
        self.git.run("init", "-q", "--bare", str(self.bare))
        dockyard = self.timed("push", "-q", "origin", "main", cwd=self.source)
        reference = self.timed("push", "-q", self.bare.as_uri(), "main", cwd=self.source)
        self.rows.append(
            Row(
                "git push (git-lfs uploads every object, then the pack; file:// hard-links)",
                dockyard,
                reference,
                self.size,
            )
        )
        self.samples["push"] = [f"dockyard {dockyard:.2f} s", f"file:// {reference:.2f} s"]

    def clone_seconds(self, url: str, label: str, run: int) -> float:
        target = self.workdir / f"clone-{label}-{run}"
        seconds = self.timed("clone", "-q", url, str(target))
        checked_out = sum((target / f"shard-{i:02d}.bin").stat().st_size for i in range(self.files))
        if checked_out != self.size:
            raise RuntimeError(f"{label} clone checked out {checked_out} bytes, expected {self.size}")
        shutil.rmtree(target)
        return seconds

    def measure_clone(self) -> None:
        dockyard, reference, server_cpu = [], [], []
        for run in range(self.args.repeat):
            cpu_before = harness.process_cpu_seconds(self.server.process.pid)
            dockyard.append(self.clone_seconds(self.dockyard_url(token=False), "dockyard", run))
            server_cpu.append(harness.process_cpu_seconds(self.server.process.pid) - cpu_before)
            reference.append(self.clone_seconds(self.bare.as_uri(), "file", run))
            self.log(f"clone run {run + 1}: dockyard {dockyard[-1]:.2f} s, file:// {reference[-1]:.2f} s")
        self.rows.append(
            Row("git clone (refs, pack, git-lfs smudge of every file)", median(dockyard), median(reference), self.size)
        )
        self.samples["clone dockyard"] = [f"{s:.2f} s" for s in dockyard]
        self.samples["clone file://"] = [f"{s:.2f} s" for s in reference]
        self.samples["Dockyard server process CPU per clone (uvicorn only, not git)"] = [
            f"{s:.2f} s" for s in server_cpu
        ]

    def measure_clone_without_lfs(self) -> None:
        """The git part alone (refs and pack; GIT_LFS_SKIP_SMUDGE=1 leaves pointers in the checkout)."""
        skip = {"GIT_LFS_SKIP_SMUDGE": "1"}
        dockyard, reference = [], []
        for run in range(self.args.repeat):
            for url, label, out in (
                (self.dockyard_url(token=False), "dockyard", dockyard),
                (self.bare.as_uri(), "file", reference),
            ):
                target = self.workdir / f"pointers-{label}-{run}"
                out.append(self.timed("clone", "-q", url, str(target), env=skip))
                shutil.rmtree(target)
        self.rows.append(
            Row(
                "git clone, GIT_LFS_SKIP_SMUDGE=1 (refs and pack only: fixed costs)",
                median(dockyard),
                median(reference),
                0,
            )
        )
        self.samples["pointers-only clone dockyard"] = [f"{s:.3f} s" for s in dockyard]
        self.samples["pointers-only clone file://"] = [f"{s:.3f} s" for s in reference]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def versions() -> str:
    git = subprocess.run(["git", "version"], capture_output=True, text=True).stdout.strip()
    lfs = subprocess.run(["git", "lfs", "version"], capture_output=True, text=True).stdout.strip()
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
    changes = " (src/ has uncommitted changes)" if dirty.stdout.strip() else ""
    return (
        f"dockyard {sha.stdout.strip() or '?'}{changes}; {git}; {lfs}; Python {platform.python_version()}; "
        f"kernel {platform.release()}; {os.cpu_count()} cores"
    )


def report(bench: Bench, command: str, cpu: CpuAccount) -> str:
    lines = [
        "# Dockyard git clone benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {bench.files} LFS files, {bench.size:,} B "
        f"({bench.size / 1024**3:g} GiB) in all; median of {bench.args.repeat} clone runs; MB = 10^6 bytes; "
        "Dockyard: 1 uvicorn process on 127.0.0.1; reference: the same commits pushed to a bare repo, "
        "cloned with a file:// URL. Ratio = file:// time / Dockyard time (1.00x: as fast as local). "
        "git-lfs hard-links objects over file:// on one filesystem, so that clone writes half the bytes.",
        "",
        versions(),
        "",
        "| measure | Dockyard (http://) | reference (file://) | ratio |",
        "| --- | --- | --- | --- |",
        *[row.cells() for row in bench.rows],
        "",
        "## Every run",
        "",
        *[f"- {name}: {', '.join(values)}" for name, values in bench.samples.items()],
        "",
        "## Machine activity during the run",
        "",
        *[f"- {line}" if not line.startswith("  ") else f"    - {line.strip()}" for line in cpu.report()],
    ]
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=1.0, help="total size of the LFS files (default 1)")
    parser.add_argument("--files", type=int, default=8, help="number of LFS files (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="clone runs of each kind; the median is reported")
    harness.add_workdir_args(parser)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("git") is None or subprocess.run(["git", "lfs", "version"], capture_output=True).returncode:
        print("git and git-lfs are needed; on Debian: apt-get install -y git git-lfs", file=sys.stderr)
        return 2
    command = shlex.join(["python", *sys.argv])
    workdir = harness.make_workdir(args.workdir, "dockyard-git-bench-")
    size = int(args.size_gib * 1024**3)
    if not harness.has_free_disk(workdir, 6 * size + 1024**3):
        return 2
    harness.use_this_checkout()
    cpu = CpuAccount()
    bench = Bench(args, workdir)
    try:
        bench.start()
        bench.make_source()
        bench.measure_push()
        bench.measure_clone()
        bench.measure_clone_without_lfs()
    except Exception:
        if bench.server is not None:
            print(bench.server.log_tail()[-3000:], file=sys.stderr)
        raise
    finally:
        bench.stop()
        harness.drop_workdir(workdir, args.keep)
    harness.publish_report(report(bench, command, cpu), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
