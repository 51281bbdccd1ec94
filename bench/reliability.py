"""Reliability: ``kill -9`` during uploads, commits and pushes, then racing committers on one branch.

    python bench/reliability.py                               # quick: 20 kill trials, 4 committers x 50 commits
    python bench/reliability.py --trials 200 --commits 1000   # full size

Part 1 starts ``dockyard serve`` (embedded: SQLite, local disk, one process) and runs ``--trials``
trials, cycling through four operations, each done by a real client in its own process: an LFS
upload (``HfApi.upload_file`` with ``HF_HUB_DISABLE_XET=1``), a Xet upload (the default client,
hf_xet), an API commit of 20 small files (``HfApi.create_commit``) and a ``git push`` of a commit
holding a text file and a git-lfs file. Each operation is first timed twice without a kill; in a
trial the server's whole process tree gets SIGKILL at a delay drawn uniformly within that
operation's own duration (measured from the moment the client starts talking to the server). The
server is then restarted on the same data and the script checks:

- ``git fsck --full`` on every repository;
- every stored blob matches its key (sha256 of ``lfs/…`` blobs, the Xet hash of ``xet/xorbs/…``);
- the database and the storage agree: every ``lfs_objects`` row with ``has_blob`` and every
  ``xet_xorbs`` row has its bytes, every repo row has its git directory;
- every repo's ``sha`` column equals its ``main`` head (polled for 5 s after the restart);
- no ``*.lock`` file is left under the repos folder;
- every commit that reached ``main`` has its records: an audit event and a scan job naming it;
- an operation the client saw succeed before the kill is in ``main`` (no acknowledged loss);
- the next commit to the same branch succeeds.

Part 2 runs ``--committers`` threads that together make ``--commits`` API commits to one branch,
without ``parentCommit``, each adding a file of its own; then every accepted commit must be an
ancestor of ``main`` and every accepted file must be in ``main``'s tree.

The report (Markdown, on stdout) starts with the exact command; progress goes to stderr. Exit
status: 0 when nothing was found, 1 when a check failed, 2 when a tool is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import MIB, CpuAccount

OPERATIONS = ("lfs", "xet", "commit", "push")
OWNER = "alice"
# The real client in its own process; "START" once it is about to talk to the server.
CLIENT = r"""
import os, sys
from huggingface_hub import CommitOperationAdd, HfApi
kind, repo, path, source = sys.argv[1:5]
api = HfApi()
print("START", flush=True)
if kind == "commit":
    ops = [CommitOperationAdd(f"{path}/{i}.txt", os.urandom(2000)) for i in range(20)]
    api.create_commit(repo, ops, commit_message=f"commit {path}")
else:
    api.upload_file(path_or_fileobj=source, path_in_repo=path, repo_id=repo)
print("END", flush=True)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (uvicorn, its workers, git http-backend CGIs)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


@dataclass
class Findings:
    """What the checks found: distinct damaged things per kind (a stale lock seen after five trials
    is one lock), when each kind was first seen, and one example."""

    things: dict[str, set[str]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, when: str, thing: str, detail: str = "") -> None:
        self.things.setdefault(kind, set()).add(thing)
        first = f"{when}: {thing}{': ' + detail if detail else ''}".splitlines()[0].replace("|", "/")
        self.examples.setdefault(kind, first)

    def count(self, kind: str) -> int:
        return len(self.things.get(kind, ()))

    def total(self) -> int:
        return sum(len(things) for things in self.things.values())


@dataclass
class Trial:
    operation: str
    delay: float
    duration: float
    acknowledged: bool  # the client returned before the kill landed
    landed: bool = False  # what the operation wrote is in main after the restart


class Reliability:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from tests.support.git import GitClient
        from tests.support.server import EMBEDDED

        self.args, self.workdir = args, workdir
        self.data_dir = workdir / "data"
        self.port = harness.free_port()
        self.state = EMBEDDED.state_env(self.data_dir)
        self.server: Any = None
        self.token = ""
        self.git = GitClient.create(workdir / "git-home")
        self.clone = workdir / "push-clone"
        self.rng = random.Random(args.seed)
        self.durations: dict[str, list[float]] = {}
        self.trials: list[Trial] = []
        self.findings = Findings()
        self.baseline: dict[str, set[str]] = {}  # commits made by the setup, per repo (no records expected)
        self.checked_blobs: set[tuple[str, int, int]] = set()
        self.race: dict[str, Any] = {}
        self.counter = 0

    # -- server ----------------------------------------------------------------------------------
    def start(self) -> None:
        from tests.support.server import start_server

        self.server = start_server(self.data_dir, self.port, processes=1, state_env=self.state)

    def kill(self) -> None:
        """SIGKILL the server's whole process tree at once, as a power cut or the OOM killer would."""
        pids = descendants(self.server.process.pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.server.process.wait()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def repo_id(self, operation: str) -> str:
        return f"{OWNER}/rel-{operation}"

    def setup(self) -> None:
        from huggingface_hub import HfApi
        from tests.support.accounts import create_identities

        self.start()
        self.token = create_identities(self.data_dir, self.server.env).alice
        os.environ.update(HF_ENDPOINT=self.server.url, HF_TOKEN=self.token, HF_HUB_DISABLE_TELEMETRY="1")
        api = HfApi(endpoint=self.server.url, token=self.token)
        for operation in OPERATIONS:
            api.create_repo(self.repo_id(operation))
        self.git.run("clone", "-q", self.push_url(), str(self.clone))
        self.git.run("lfs", "track", "*.bin", cwd=self.clone)  # the hub's default .gitattributes has it already
        for operation in OPERATIONS:
            self.baseline[operation] = set(self.rev_list(operation))

    def push_url(self) -> str:
        from tests.support.git import repo_url

        return repo_url(self.server.url, self.repo_id("push"), token=self.token)

    # -- operations ------------------------------------------------------------------------------
    def next_path(self, operation: str) -> str:
        self.counter += 1
        return {"lfs": f"lfs/{self.counter}.bin", "xet": f"xet/{self.counter}.safetensors"}.get(
            operation, f"{operation}/{self.counter}"
        )

    def launch(self, operation: str) -> tuple[subprocess.Popen[str], str]:
        """Start ``operation`` in a client process; returns once the client starts talking."""
        path = self.next_path(operation)
        if operation == "push":
            self.prepare_push(path)
            client = subprocess.Popen(["git", "push", "-q", "origin", "main"], cwd=self.clone, env=self.git.env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                      start_new_session=True)  # fmt: skip
            return client, f"{path}.txt"
        source = self.workdir / "upload.bin"
        if operation in ("lfs", "xet"):
            harness.write_random_file(source, self.args.file_mib * MIB)
        env = harness.client_env(self.server.url, self.token, self.workdir / "hf-home", xet=operation != "lfs")
        client = subprocess.Popen([sys.executable, "-c", CLIENT, operation, self.repo_id(operation), path, str(source)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  start_new_session=True)  # fmt: skip
        assert client.stdout is not None
        client.stdout.readline()  # "START": imports done
        return client, f"{path}/0.txt" if operation == "commit" else path

    def prepare_push(self, path: str) -> None:
        """Start from the server's ``main`` (a killed push may or may not have landed), add two files."""
        self.git.run("fetch", "-q", "origin", cwd=self.clone)
        self.git.run("reset", "-q", "--hard", "origin/main", cwd=self.clone)
        target = self.clone / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_suffix(".txt").write_bytes(os.urandom(2000).hex().encode())
        harness.write_random_file(target.with_suffix(".bin"), self.args.file_mib * MIB)
        self.git.commit_all(self.clone, f"push {path}")

    def calibrate(self) -> None:
        for operation in OPERATIONS:
            for _ in range(2):
                client, _ = self.launch(operation)
                start = time.perf_counter()
                if client.wait(timeout=600) != 0:
                    raise RuntimeError(f"{operation} failed without any kill")
                self.durations.setdefault(operation, []).append(time.perf_counter() - start)
            log(f"{operation}: {', '.join(f'{d:.2f}' for d in self.durations[operation])} s without a kill")

    # -- trials ----------------------------------------------------------------------------------
    def trial(self, number: int, operation: str) -> None:
        duration = harness.median(self.durations[operation])
        delay = self.rng.uniform(0, duration)
        client, marker = self.launch(operation)
        started = time.perf_counter()
        time.sleep(delay)  # the point of a kill trial: land at a random moment of the operation
        acknowledged = client.poll() == 0
        self.kill()
        with contextlib.suppress(ProcessLookupError):  # gone already when it had returned
            os.killpg(client.pid, signal.SIGKILL)  # the client and its helpers (git-remote-http, git-lfs)
        client.wait()
        with self.db() as db:
            held = {job for (job,) in db.execute("select id from jobs where status = 'running'")}
        trial = Trial(operation, delay, duration, acknowledged)
        self.trials.append(trial)
        late = " (the client had already returned)" if acknowledged else ""
        log(f"trial {number}: {operation}, kill at {delay:.2f} s of {duration:.2f} s{late}; "
            f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        self.start()
        self.check_state(f"trial {number} ({operation})")
        trial.landed = marker in self.files(operation)
        if acknowledged and not trial.landed:
            self.findings.add("lost acknowledged operations", f"trial {number}", marker, "missing from main")
        self.check_jobs(f"trial {number} ({operation})", held)
        self.next_commit(number, operation)

    def next_commit(self, number: int, operation: str) -> None:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.server.url, token=self.token)
        try:
            api.upload_file(path_or_fileobj=f"after {number}".encode(), path_in_repo=f"after/{number}.txt",
                            repo_id=self.repo_id(operation))  # fmt: skip
        except Exception as error:  # what the client raises (HfHubHTTPError…) is the finding
            self.findings.add(
                "next commit failed", f"trial {number}", f"{operation} after trial {number}", str(error)[:200]
            )

    # -- checks ----------------------------------------------------------------------------------
    def check_state(self, when: str) -> None:
        self.check_fsck(when)
        self.check_blobs(when)
        self.check_database(when)
        self.check_refs(when)
        locks = [str(p.relative_to(self.data_dir)) for p in (self.data_dir / "repos").rglob("*.lock")]
        for lock in locks:
            self.findings.add("stale locks", when, lock)
        self.check_records(when)

    def git_dirs(self) -> list[Path]:
        return sorted(p for p in (self.data_dir / "repos").glob("*/*.git") if p.is_dir())

    def check_fsck(self, when: str) -> None:
        for git_dir in self.git_dirs():
            done = subprocess.run(["git", "--git-dir", str(git_dir), "fsck", "--full", "--no-progress"],
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if done.returncode != 0:
                self.findings.add("corruptions (git fsck)", when, git_dir.name, done.stderr.strip()[:200])

    def check_blobs(self, when: str) -> None:
        """Every stored blob against its key; a blob already checked unchanged is not hashed again."""
        from dockyard.xet.hashes import parse_hash_hex
        from dockyard.xet.xorb import parse_xorb

        root = self.server.blob_root
        for path in sorted((root / "lfs").rglob("*")) + sorted((root / "xet" / "xorbs").rglob("*")):
            if not path.is_file():
                continue
            stat = path.stat()
            key = (str(path), stat.st_size, stat.st_mtime_ns)
            if key in self.checked_blobs:
                continue
            data = path.read_bytes()
            try:
                if "xorbs" in path.relative_to(root).parts:
                    parse_xorb(data, parse_hash_hex(path.name), max_size=len(data))
                elif hashlib.sha256(data).hexdigest() != path.name:
                    raise ValueError("sha256 differs from the key")
            except Exception as error:  # any parse or hash failure is a corrupt blob
                self.findings.add("corruptions (blob hash)", when, str(path.relative_to(root)), str(error))
                continue
            self.checked_blobs.add(key)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data_dir / 'dockyard.sqlite3'}?mode=ro", uri=True, timeout=30)

    def check_database(self, when: str) -> None:
        from dockyard.storage.base import lfs_key
        from dockyard.xet.reader import xorb_key

        root = self.server.blob_root
        with self.db() as db:
            lfs_rows = db.execute("select oid, size from lfs_objects where has_blob").fetchall()
            xorb_rows = db.execute("select hash, stored_size from xet_xorbs").fetchall()
            repo_rows = db.execute("select uid, full_id from repos").fetchall()
        for oid, size in lfs_rows:
            blob = root / lfs_key(oid)
            if not blob.is_file() or blob.stat().st_size != size:
                self.findings.add("lost records (DB row without bytes)", when, f"lfs {oid}")
        for hash_hex, size in xorb_rows:
            blob = root / xorb_key(hash_hex)
            if not blob.is_file() or blob.stat().st_size != size:
                self.findings.add("lost records (DB row without bytes)", when, f"xorb {hash_hex}")
        for uid, full_id in repo_rows:
            if not self.server.data_dir.joinpath("repos", uid[:2], f"{uid}.git").is_dir():
                self.findings.add("lost records (repo row without git dir)", when, full_id)

    def git_dir_of(self, repo_id: str) -> Path:
        with self.db() as db:
            (uid,) = db.execute("select uid from repos where full_id = ?", (repo_id,)).fetchone()
        return self.data_dir / "repos" / uid[:2] / f"{uid}.git"

    def head(self, repo_id: str) -> str | None:
        """``main``'s commit id, or None where there is no ``main`` (or no git dir at all)."""
        done = subprocess.run(["git", "--git-dir", str(self.git_dir_of(repo_id)), "rev-parse", "--verify", "-q",
                               "refs/heads/main"], capture_output=True, text=True, check=False)  # fmt: skip
        return done.stdout.strip() or None

    def git_of(self, operation: str) -> list[str]:
        return ["git", "--git-dir", str(self.git_dir_of(self.repo_id(operation)))]

    def rev_list(self, operation: str) -> list[str]:
        done = subprocess.run([*self.git_of(operation), "rev-list", "--first-parent", "main"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        return done.stdout.split()

    def files(self, operation: str) -> set[str]:
        done = subprocess.run([*self.git_of(operation), "ls-tree", "-r", "--name-only", "main"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        return set(done.stdout.splitlines())

    def check_refs(self, when: str) -> None:
        """``repos.sha`` and ``metadata_sha`` must follow ``main``; a server that reconciles at start-up
        gets 5 s."""
        deadline = time.monotonic() + 5
        while True:
            with self.db() as db:
                rows = db.execute("select full_id, sha, metadata_sha from repos").fetchall()
            stale = [(full_id, sha, meta) for full_id, sha, meta in rows if self.head(full_id) not in (sha, None)
                     or (meta is not None and meta != sha)]  # fmt: skip
            if not stale or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for full_id, sha, meta in stale:
            head = self.head(full_id)
            detail = f"main {head}, sha {sha}, metadata_sha {meta}"
            self.findings.add("refs not matching DB records (sha, metadata_sha)", when, f"{full_id}@{head}", detail)

    def check_jobs(self, when: str, held: set[int]) -> None:
        """Jobs the killed process was running must not stay leased to it after the restart."""
        with self.db() as db:
            still = [job for (job,) in db.execute("select id from jobs where status = 'running'") if job in held]
        for job in still:
            self.findings.add("jobs still held by the killed process", when, f"job {job}")

    def check_records(self, when: str) -> None:
        """Every commit on ``main`` (beyond the setup's) has an audit event and a scan job naming it."""
        with self.db() as db:
            details = [json.loads(d) for (d,) in db.execute("select details from audit_events") if d]
            payloads = [json.loads(p) for (p,) in db.execute("select payload from jobs") if p]
        audited = {d.get("commit") for d in details if isinstance(d, dict)}
        scanned = {p.get("commit_id") for p in payloads if isinstance(p, dict)}
        for operation in OPERATIONS:
            for commit in self.rev_list(operation):
                if commit in self.baseline[operation]:
                    continue
                if commit not in audited:
                    self.findings.add("lost records (commit without audit event)", when, f"{operation} {commit}")
                if commit not in scanned:
                    self.findings.add("lost records (commit without scan job)", when, f"{operation} {commit}")

    # -- self-check ------------------------------------------------------------------------------
    def plant_faults(self) -> None:
        """``--self-check``: make the damage each check looks for, so a run proves the checks see it."""
        from huggingface_hub import HfApi

        from dockyard.storage.base import lfs_key

        api = HfApi(endpoint=self.server.url, token=self.token)
        for name in ("planted-corrupt", "planted-missing"):
            api.create_repo(f"{OWNER}/{name}")
        corrupt = self.git_dir_of(f"{OWNER}/planted-corrupt")
        loose = next(p for p in (corrupt / "objects").rglob("*") if p.is_file() and len(p.parent.name) == 2)
        loose.chmod(0o644)
        loose.write_bytes(b"garbage")  # a git object that no longer inflates
        shutil.rmtree(self.git_dir_of(f"{OWNER}/planted-missing"))  # a repo row without its git dir
        git_dir = self.git_dir_of(self.repo_id("commit"))
        (git_dir / "refs" / "heads" / "main.lock").write_text("0" * 40 + "\n")  # a kill's stale ref lock
        fake = self.server.blob_root / lfs_key(hashlib.sha256(b"planted").hexdigest())
        fake.parent.mkdir(parents=True, exist_ok=True)
        fake.write_bytes(b"not the bytes of its key")  # a blob whose bytes do not match its key
        with sqlite3.connect(self.data_dir / "dockyard.sqlite3", timeout=30) as db:
            db.execute("update repos set sha = ? where full_id = ?", ("0" * 40, self.repo_id("lfs")))
            db.execute("insert into lfs_objects (oid, size, has_blob, created_at) values (?, 5, 1, '2026-01-01')",
                       ("f" * 64,))  # fmt: skip
        bare = self.git_of("push")  # a commit that moved main behind the server's back: no records
        tree = [*bare, "commit-tree", "main^{tree}", "-p", "main", "-m", "unrecorded"]
        commit = subprocess.run(tree, capture_output=True, text=True, check=True, env=self.git.env()).stdout.strip()
        subprocess.run([*bare, "update-ref", "refs/heads/main", commit], check=True)

    def self_check(self) -> None:
        self.plant_faults()
        self.check_state("self-check")
        self.next_commit(0, "commit")

    # -- racing committers -----------------------------------------------------------------------
    def race_commits(self) -> None:
        from huggingface_hub import CommitOperationAdd, HfApi
        from huggingface_hub.errors import HfHubHTTPError

        api = HfApi(endpoint=self.server.url, token=self.token)
        repo_id = f"{OWNER}/rel-race"
        api.create_repo(repo_id)
        accepted: dict[str, str] = {}  # commit id -> the file it added
        refused: Counter[str] = Counter()
        lock = threading.Lock()

        def committer(worker: int) -> None:
            for index in range(worker, self.args.commits, self.args.committers):
                path = f"race/{worker}/{index}.txt"
                try:
                    info = api.create_commit(repo_id, [CommitOperationAdd(path, f"{index}".encode())],
                                             commit_message=f"race {index}")  # fmt: skip
                except HfHubHTTPError as error:
                    with lock:
                        refused[str(error.response.status_code)] += 1
                    continue
                with lock:
                    accepted[info.oid] = path

        start = time.perf_counter()
        with ThreadPoolExecutor(self.args.committers) as pool:
            list(pool.map(committer, range(self.args.committers)))
        elapsed = time.perf_counter() - start
        git = ["git", "--git-dir", str(self.git_dir_of(repo_id))]
        history = set(subprocess.run([*git, "rev-list", "main"], capture_output=True, text=True).stdout.split())
        tree = set(subprocess.run([*git, "ls-tree", "-r", "--name-only", "main"], capture_output=True,
                                  text=True).stdout.splitlines())  # fmt: skip
        self.race = {
            "attempted": self.args.commits,
            "accepted": len(accepted),
            "refused": dict(refused),
            "not in history": sum(commit not in history for commit in accepted),
            "lost updates": sum(path not in tree for path in accepted.values()),
            "seconds": elapsed,
        }
        self.check_refs("after the race")


# -- report ------------------------------------------------------------------------------------------
REPORTED = [
    "corruptions (git fsck)",
    "corruptions (blob hash)",
    "lost records (DB row without bytes)",
    "lost records (repo row without git dir)",
    "refs not matching DB records (sha, metadata_sha)",
    "stale locks",
    "next commit failed",
    "lost acknowledged operations",
    "lost records (commit without audit event)",
    "lost records (commit without scan job)",
    "jobs still held by the killed process",
]


def trial_table(bench: Reliability) -> list[str]:
    trials = Counter(t.operation for t in bench.trials)
    during = Counter(t.operation for t in bench.trials if not t.acknowledged)
    unanswered = Counter(t.operation for t in bench.trials if t.landed and not t.acknowledged)
    typical = {op: harness.median(bench.durations.get(op, [])) for op in OPERATIONS}
    return [
        "| operation | kill trials | kill landed during the operation (client not yet answered) "
        "| of those, landed anyway (in main after the restart) | operation's duration (median, no kill) |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {op} | {trials[op]} | {during[op]} | {unanswered[op]} | {typical[op]:.2f} s |" for op in OPERATIONS],
        f"| all | {len(bench.trials)} | {sum(during.values())} | {sum(unanswered.values())} | |",
        "",
    ]


def race_table(bench: Reliability) -> list[str]:
    race = bench.race
    return [
        "| racing committers (one branch, no parentCommit) | value |",
        "| --- | --- |",
        f"| committers, commits attempted | {bench.args.committers}, {race.get('attempted', 0)} |",
        f"| accepted | {race.get('accepted', 0)} |",
        f"| refused (status: count) | {race.get('refused', {})} |",
        f"| accepted but not an ancestor of main | {race.get('not in history', 0)} |",
        f"| lost updates (accepted file missing from main) | {race.get('lost updates', 0)} |",
        f"| wall time | {race.get('seconds', 0):.1f} s |",
        "",
    ]


def report(bench: Reliability, command: str, cpu: CpuAccount) -> str:
    checks = "after planting one fault per check" if bench.args.self_check else "after every restart"
    lines = [
        "# Dockyard reliability: kill -9 trials and racing committers",
        "",
        f"Command: `{command}`",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; commit {harness_commit()}; embedded server (SQLite, local disk, "
        f"1 process); files of {bench.args.file_mib} MiB for LFS, Xet and push; seed {bench.args.seed}.",
        "",
        *([] if bench.args.self_check else trial_table(bench)),
        f"| check ({checks}) | found | first example |",
        "| --- | --- | --- |",
        *[f"| {kind} | {bench.findings.count(kind)} | {bench.findings.examples.get(kind, '')} |" for kind in REPORTED],
        "",
        "Counts are distinct things (locks, commits, jobs, blobs, repo heads), however many trials saw them.",
        "",
        *([] if bench.args.self_check else race_table(bench)),
        "## Machine activity during the run",
        "",
        *[f"- {line}" if not line.startswith("  ") else f"    - {line.strip()}" for line in cpu.report()],
    ]
    return "\n".join(lines) + "\n"


def harness_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "src"], capture_output=True, text=True)
    return done.stdout.strip() + (" (src/ modified)" if dirty.stdout.strip() else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="kill -9 trials, cycling the 4 operations (full: 200)")
    parser.add_argument("--committers", type=int, default=4, help="racing committer threads (default 4)")
    parser.add_argument("--commits", type=int, default=200, help="racing commits in all (full: 1000)")
    parser.add_argument("--file-mib", type=int, default=8, help="size of each uploaded or pushed file (default 8)")
    parser.add_argument("--seed", type=int, default=9, help="seed of the kill delays")
    parser.add_argument("--self-check", action="store_true",
                        help="no trials: plant one fault per check and show that each check reports it")  # fmt: skip
    harness.add_workdir_args(parser)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if subprocess.run(["git", "lfs", "version"], capture_output=True, check=False).returncode:
        print("git and git-lfs are needed; on Debian: apt-get install -y git git-lfs", file=sys.stderr)
        return 2
    command = shlex.join(["python", *sys.argv])
    workdir = harness.make_workdir(args.workdir, "dockyard-reliability-")
    harness.use_this_checkout()
    cpu = CpuAccount()
    bench = Reliability(args, workdir)
    try:
        bench.setup()
        if args.self_check:
            bench.self_check()
        else:
            bench.calibrate()
            for number in range(1, args.trials + 1):
                bench.trial(number, OPERATIONS[(number - 1) % len(OPERATIONS)])
            bench.race_commits()
    except Exception:
        if bench.server is not None:
            print(bench.server.log_tail()[-3000:], file=sys.stderr)
        raise
    finally:
        bench.stop()
        harness.drop_workdir(workdir, args.keep)
    harness.publish_report(report(bench, command, cpu), args.output)
    found = bench.findings.total() + bench.race.get("lost updates", 0) + bench.race.get("not in history", 0)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
