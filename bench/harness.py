"""Small, dependency-free helpers for the benchmarks: tools, timing, load generators, accounting.

Nothing here installs anything; :func:`missing_tools` says what is absent and how to get it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MB = 1_000_000  # throughput is reported in MB/s (10^6 bytes), like curl, dd and INFRA.md
MIB = 1024 * 1024
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")

# tool -> (why the benchmark needs it, how to get it)
SYSTEM_TOOLS = {
    "curl": ("plain-HTTP upload and download", "apt-get install -y curl"),
    "nginx": ("the sendfile reference server for downloads and small requests", "apt-get install -y nginx"),
    "wrk": ("GET req/s (it cannot measure HEAD: wrk 4.1 waits for a HEAD body)", "apt-get install -y wrk"),
    "httperf": ("HEAD req/s over keep-alive connections (wrk cannot send HEAD)", "apt-get install -y httperf"),
}
PYTHON_MODULES = {
    "huggingface_hub": "pip install -e '.[test]' (the real client, 2.4.0)",
    "httpx": "pip install -e '.[test]'",
    "dockyard": "pip install -e . (run from the project's virtualenv)",
}


def which(name: str) -> str | None:
    """Like shutil.which, also looking in the sbin folders a non-root PATH may lack (nginx)."""
    found = shutil.which(name)
    if found:
        return found
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    return shutil.which(name, path=path)


def missing_tools() -> list[str]:
    """One explanatory line per missing tool or module; empty when everything is there."""
    problems = []
    for tool, (why, how) in SYSTEM_TOOLS.items():
        if which(tool) is None:
            problems.append(f"`{tool}` not found (needed for {why}); on Debian: {how}")
    for module, how in PYTHON_MODULES.items():
        if importlib.util.find_spec(module) is None:
            problems.append(f"Python module `{module}` not importable; {how}")
    return problems


def refuse_missing(problems: list[str]) -> bool:
    """Benchmarks install nothing: say what is missing (True when something is)."""
    if problems:
        print("Cannot run the benchmark; it installs nothing itself. Missing:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
    return bool(problems)


def make_workdir(parent: Path | None, prefix: str) -> Path:
    """A fresh temp dir under ``parent`` (the disk to measure) or $TMPDIR."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def use_this_checkout() -> None:
    """Measure the checkout this script lives in: its ``src`` for us and for every server and CLI
    we start (``python -m dockyard``), and its ``tests.support`` helpers."""
    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(root), str(root / "src")]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root / "src"), os.environ.get("PYTHONPATH")]))


def add_workdir_args(parser: argparse.ArgumentParser, keep_help: str = "keep the temp dir") -> None:
    """The options every benchmark shares: where its temp dir goes, keeping it, a report file."""
    parser.add_argument("--workdir", type=Path, default=None, help="where the temp dir goes (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help=keep_help)
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown report here")


def has_free_disk(workdir: Path, needed: int) -> bool:
    """Whether ``needed`` bytes fit under ``workdir``; says so on stderr when they do not."""
    free = shutil.disk_usage(workdir).free
    if free < needed:
        print(
            f"Not enough free disk in {workdir}: {free / 1024**3:.1f} GiB, need ~{needed / 1024**3:.1f}",
            file=sys.stderr,
        )
    return free >= needed


def publish_report(text: str, output: Path | None) -> None:
    print(text)
    if output is not None:
        output.write_text(text)


def drop_workdir(workdir: Path, keep: bool) -> None:
    if keep:
        print(f"kept {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def write_random_file(path: Path, size: int) -> None:
    """``size`` random bytes, written in 8 MiB blocks that never repeat (each starts with its offset)."""
    block = bytearray(os.urandom(8 * 1024 * 1024))
    with path.open("wb") as handle:
        for offset in range(0, size, len(block)):
            block[:8] = offset.to_bytes(8, "big")
            handle.write(block[: size - offset])


def client_env(endpoint: str, token: str, home: Path, *, xet: bool = True) -> dict[str, str]:
    """The environment of a real-client subprocess: this hub, this token, its own HF_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_TOKEN=token,
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    return env


def run_client(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run ``bench/xet_client.py`` with ``args``; its last stdout line is a JSON result."""
    script = str(Path(__file__).with_name("xet_client.py"))
    out = run([sys.executable, script, *args], env=env, timeout=3600)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run a command, return its stdout; raise with its stderr when it fails."""
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}{done.stdout[-2000:]}")
    return done.stdout


def settle() -> None:
    """Flush dirty pages left by the previous step so they are not written back during the next."""
    os.sync()
    time.sleep(0.5)


# -- disk ------------------------------------------------------------------------------------------
def disk_write_seconds(path: Path, size: int, block: bytes) -> float:
    """dd-like: write ``size`` bytes in ``block``-sized writes to a new file, fsync, close."""
    view = memoryview(block)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        remaining = size
        while remaining > 0:
            remaining -= os.write(fd, view[: min(len(view), remaining)])
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


# -- curl ------------------------------------------------------------------------------------------
CURL_FORMAT = "%{http_code} %{size_download} %{size_upload} %{time_total}"


@dataclass(frozen=True)
class CurlResult:
    status: int
    downloaded: int
    uploaded: int
    seconds: float


def curl(args: list[str]) -> CurlResult:
    out = run(["curl", "-sS", "-o", "/dev/null", "-w", CURL_FORMAT, *args])
    status, down, up, total = out.split()
    return CurlResult(int(status), int(float(down)), int(float(up)), float(total))


# -- load generators ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadResult:
    rps: float
    requests: int
    failures: int  # non-2xx answers and socket errors
    tool: str


def wrk_get(
    url: str, headers: dict[str, str], script_dir: Path, *, seconds: int, threads: int = 2, connections: int = 32
) -> LoadResult:
    script = script_dir / "wrk_get.lua"
    lines = ['wrk.method = "GET"'] + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    out = run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url])
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    total = int(_find(r"(\d+) requests in", out))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return LoadResult(rps=rps, requests=total, failures=failures, tool=f"wrk -t{threads} -c{connections} GET")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its live descendants (``serve --workers N``:
    the supervisor and its worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += process_cpu_seconds(current)
        except OSError:
            continue
        todo.extend(parents.get(current, []))
    return total


def httperf_head(url: str, headers: dict[str, str], *, seconds: int, connections: int = 32) -> LoadResult:
    """HEAD req/s over ``connections`` HTTP/1.1 keep-alive connections, with httperf.

    wrk cannot send HEAD (it waits for the body the Content-Length announces) and ab speaks
    HTTP/1.0, after which uvicorn closes every connection. httperf knows HEAD and keeps its
    connections open. It runs a fixed number of calls, so a short first run sizes the real one.
    """
    probe = _httperf(url, headers, "HEAD", connections, calls=20)
    calls = max(20, round(probe.rps * seconds / connections))
    return _httperf(url, headers, "HEAD", connections, calls=calls)


def _httperf(url: str, headers: dict[str, str], method: str, connections: int, *, calls: int) -> LoadResult:
    parts = urlsplit(url)
    extra = "".join(f"{key}: {value}\\n" for key, value in headers.items())
    cmd = ["httperf", "--hog", "--server", parts.hostname or "127.0.0.1", "--port", str(parts.port or 80)]
    cmd += ["--uri", parts.path, "--method", method, "--num-conns", str(connections), "--num-calls", str(calls)]
    cmd += ["--rate", str(connections * 100), "--timeout", "30", "--add-header", extra]
    out = run(cmd, timeout=calls * connections / 50 + 120)
    rps = float(_find(r"Request rate: ([\d.]+) req/s", out))
    requests = int(_find(r"requests (\d+) replies", out))
    ok = int(_find(r"Reply status: 1xx=\d+ 2xx=(\d+)", out))
    errors = int(_find(r"Errors: total (\d+)", out))
    failures = errors + (requests - ok)
    return LoadResult(rps=rps, requests=requests, failures=failures, tool=f"httperf {method} {connections} conns")


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"unexpected load generator output (no {pattern!r}):\n{text[-2000:]}")
    return match.group(1)


# -- what else used the CPU ----------------------------------------------------------------------------
def _busy_cpu_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _steal_cpu_seconds() -> float:
    """CPU time the hypervisor gave to other guests while this VM wanted it (``steal`` in /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return int(fields[7]) / os.sysconf("SC_CLK_TCK") if len(fields) > 7 else 0.0


def _process_cpu() -> dict[int, tuple[str, float, int]]:
    """pid -> (command, CPU seconds so far, parent pid) for every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        name_end = stat.rfind(")")
        rest = stat[name_end + 2 :].split()
        comm = cmdline or stat[stat.find("(") + 1 : name_end]
        table[int(entry.name)] = (comm[:110], (int(rest[11]) + int(rest[12])) / tick, int(rest[1]))
    return table


def _ours(pid: int, table: dict[int, tuple[str, float, int]]) -> bool:
    me = os.getpid()
    seen = set()
    while pid and pid not in seen:
        if pid == me:
            return True
        seen.add(pid)
        pid = table[pid][2] if pid in table else 0
    return False


@dataclass
class CpuAccount:
    """CPU used on the machine during the run, split into ours and everybody else's."""

    started: float = field(default_factory=time.monotonic)
    busy0: float = field(default_factory=_busy_cpu_seconds)
    procs0: dict[int, tuple[str, float, int]] = field(default_factory=_process_cpu)
    load0: str = field(default_factory=lambda: Path("/proc/loadavg").read_text().strip())
    steal0: float = field(default_factory=_steal_cpu_seconds)

    def report(self) -> list[str]:
        wall = time.monotonic() - self.started
        busy = _busy_cpu_seconds() - self.busy0
        self_usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = sum(u.ru_utime + u.ru_stime for u in (self_usage, children))
        procs1 = _process_cpu()
        others = []
        for pid, (comm, cpu, _) in procs1.items():
            before = self.procs0.get(pid)
            used = cpu - (before[1] if before else 0.0)
            if used >= 1.0 and not _ours(pid, procs1):
                others.append((used, pid, comm))
        cores = os.cpu_count() or 1
        lines = [
            f"wall {wall:.0f} s on {cores} cores ({wall * cores:.0f} CPU-s available); CPU busy {busy:.0f} s, "
            f"of which this benchmark's process tree (incl. servers, clients, curl, nginx, wrk, httperf) "
            f"~{ours:.0f} s; everything else ~{max(0.0, busy - ours):.0f} s (kernel writeback and other users)",
            f"load average at start: {self.load0}; at end: {Path('/proc/loadavg').read_text().strip()}; "
            f"hypervisor steal during the run: {_steal_cpu_seconds() - self.steal0:.1f} CPU-s",
        ]
        for used, pid, comm in sorted(others, reverse=True)[:8]:
            lines.append(f"  other process pid {pid}: {used:.1f} CPU-s  {comm}")
        return lines


def own_peak_mib() -> float:
    """This process's own peak resident memory (``VmHWM``). Not ``ru_maxrss``: Linux carries that
    across fork and exec, so a child would report its parent's peak when that was higher."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
