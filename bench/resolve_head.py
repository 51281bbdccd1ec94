"""HEAD /resolve and the repo-info GETs, against a bare Starlette app answering the same bytes.

    python bench/resolve_head.py [--workers 1] [--seconds 1] [--repeat 2] [--dockyard-src DIR] [--keep]

Both servers run under uvicorn with the same options and process count; both are driven by
bench/http_load.py (keep-alive HTTP/1.1, concurrency 1 and 64; each connection is opened and
answered once before the clock starts, so latency is that of N clients in steady state),
alternating Dockyard and the reference for every row, so the ratio is taken in the same minute on
the same shared CPUs. The reference answers each URL with the very status, headers and body
Dockyard answered for it (captured at the start), so what the ratio measures is what Dockyard
computes per request.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness import CpuAccount, median

NAMESPACE, REPO_NAME, TAG = "bench", "resolve-head", "v1"
REPO_ID = f"{NAMESPACE}/{REPO_NAME}"
SMALL, COUNTED, LFS = "tokenizer_config.json", "config.json", "weights/model.bin"
HEAD_RATIO_TARGET, INFO_RPS_TARGET, P99_TARGET_MS = 0.15, 2000.0, 20.0


@dataclass
class Target:
    label: str
    method: str
    path: str


@dataclass
class Sample:
    rps: float
    p50: float
    p99: float
    cpu_ms: float  # server CPU per request (all its processes)
    errors: int


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.server: Any = None
        self.reference: subprocess.Popen[bytes] | None = None
        self.ref_url = ""
        self.token = ""
        self.commit = ""
        self.targets: list[Target] = []
        self.results: dict[tuple[str, int, str], list[Sample]] = {}

    # -- setup --------------------------------------------------------------------------------------
    def start_dockyard(self) -> None:
        from tests.support.server import start_server

        port = harness.free_port()
        self.server = start_server(self.workdir / "data", port, processes=self.args.workers)
        log(f"dockyard serve on {self.server.url} ({self.args.workers} process(es))")

    def setup_repo(self) -> None:
        self.server.cli("user", "create", NAMESPACE)
        self.token = self.server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        os.environ.update(harness.client_env(self.server.url, self.token, self.workdir / "hf-home", xet=False))
        from huggingface_hub import CommitOperationAdd, HfApi

        api = HfApi(endpoint=self.server.url, token=self.token)
        api.create_repo(REPO_ID)
        operations = [
            CommitOperationAdd(COUNTED, json.dumps({"model_type": "bert", "hidden_size": 32}).encode()),
            CommitOperationAdd(SMALL, b'{"do_lower_case": true}'),
            CommitOperationAdd(LFS, os.urandom(1024 * 1024)),
        ]
        self.commit = api.create_commit(REPO_ID, operations, commit_message="bench files").oid
        api.create_tag(REPO_ID, tag=TAG, revision=self.commit)
        for label, path in (("small git file", SMALL), ("LFS file", LFS)):
            for rev_label, rev in (("sha", self.commit), ("branch", "main"), ("tag", TAG)):
                self.targets.append(Target(f"HEAD {label}, {rev_label}", "HEAD", f"/{REPO_ID}/resolve/{rev}/{path}"))
        self.targets.append(Target("HEAD config.json (counted), branch", "HEAD", f"/{REPO_ID}/resolve/main/{COUNTED}"))
        self.targets.append(Target("GET /api/models/{id}", "GET", f"/api/models/{REPO_ID}"))
        self.targets.append(Target("GET /api/models/{id}/revision/main", "GET", f"/api/models/{REPO_ID}/revision/main"))

    def headers(self) -> dict[str, str]:
        """What huggingface_hub sends on its HEAD before a download."""
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept-Encoding": "identity",
            "X-HF-Download-Counter": "1",
            "User-Agent": "huggingface_hub/bench",
        }

    def capture(self) -> Path:
        """Dockyard's answer for every target, for the reference to replay."""
        import httpx

        answers: dict[str, Any] = {}
        with httpx.Client(base_url=self.server.url, headers=self.headers()) as client:
            for target in self.targets:
                response = client.request(target.method, target.path)
                if response.status_code >= 400:
                    raise RuntimeError(f"{target.label}: {response.status_code} {response.text[:200]}")
                headers = dict(response.headers)
                if target.method == "GET":
                    headers.pop("content-length", None)
                answers[target.path] = [response.status_code, headers, response.text]
        path = self.workdir / "responses.json"
        path.write_text(json.dumps(answers))
        return path

    def server_command(self, app: str, port: int) -> list[str]:
        """The ASGI server both apps run under, with the same options."""
        common = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(self.args.workers)]
        if self.args.server == "granian":
            return [sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop", "--no-access-log",
                    "--log-level", "warning", *common, app]  # fmt: skip
        return [sys.executable, "-m", "uvicorn", app, *common, "--log-level", "warning", "--no-access-log",
                "--timeout-keep-alive", "30"]  # fmt: skip

    def restart_dockyard_under_granian(self) -> None:
        """Same data, same port, the same ``dockyard.asgi:app``; only the server changes."""
        self.server.stop()
        port = self.server.url.rsplit(":", 1)[1]
        log_file = (self.workdir / "granian.log").open("ab")
        self.server.process = subprocess.Popen(
            self.server_command("dockyard.asgi:app", int(port)), env=self.server.env, stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.wait_for(self.server.url)

    def start_reference(self, responses: Path) -> None:
        port = harness.free_port()
        env = {**os.environ, "BARE_APP_RESPONSES": str(responses)}
        bench_dir = str(Path(__file__).resolve().parent)
        env["PYTHONPATH"] = os.pathsep.join([bench_dir, env.get("PYTHONPATH", "")])
        log_file = (self.workdir / "reference.log").open("ab")
        cmd = self.server_command("bare_app:app", port)
        self.reference = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        self.ref_url = f"http://127.0.0.1:{port}"
        self.wait_for(self.ref_url)

    def wait_for(self, base: str) -> None:
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.head(base + self.targets[0].path, timeout=1, headers=self.headers()).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # the bench's own startup poll, not a test
        raise RuntimeError(f"{base} did not start")

    # -- measures -----------------------------------------------------------------------------------
    def load(self, base: str, pid: int, target: Target, connections: int) -> Sample:
        script = str(Path(__file__).with_name("http_load.py"))
        cmd = [sys.executable, script, base + target.path, "--method", target.method,
               "--connections", str(connections), "--seconds", str(self.args.seconds)]  # fmt: skip
        for name, value in self.headers().items():
            cmd += ["--header", f"{name}: {value}"]
        cpu0 = harness.tree_cpu_seconds(pid)
        out = harness.run(cmd, timeout=60)
        cpu = harness.tree_cpu_seconds(pid) - cpu0
        result = json.loads(out.strip().splitlines()[-1])
        requests = max(1, int(result["requests"]))
        return Sample(result["rps"], result["p50_ms"], result["p99_ms"], cpu / requests * 1000, result["errors"])

    def measure(self) -> None:
        assert self.reference is not None
        servers = (("dockyard", self.server.url, self.server.process.pid), ("bare", self.ref_url, self.reference.pid))
        for target in self.targets:
            for connections in (1, 64):
                for _ in range(self.args.repeat):
                    for name, base, pid in servers:
                        sample = self.load(base, pid, target, connections)
                        self.results.setdefault((target.label, connections, name), []).append(sample)
                dock = self.results[(target.label, connections, "dockyard")][-1]
                log(f"{target.label} c={connections}: dockyard {dock.rps:.0f} req/s p99 {dock.p99:.1f} ms")

    # -- report -------------------------------------------------------------------------------------
    def report(self, cpu: CpuAccount) -> str:
        command = " ".join(shlex.quote(a) for a in ["python", "bench/resolve_head.py", *sys.argv[1:]])
        lines = [
            "# resolve_head", "", f"Command: `{command}`", "",
            f"{self.args.server}, {self.args.workers} process(es) each; {self.args.seconds} s per run, "
            f"median of {self.args.repeat} runs, Dockyard and the bare app alternating. "
            "CPU ratio: the bare app's CPU per request over Dockyard's",
            "(what the ratio of req/s would be on otherwise idle cores). Latency is timed once every",
            "connection is open and has been answered once (bench/http_load.py).", "",
            "| request | conc | Dockyard req/s | p50 ms | p99 ms | CPU ms/req | bare req/s | bare p99 ms "
            "| bare CPU ms/req | req/s ratio | CPU ratio |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]  # fmt: skip
        for target in self.targets:
            for connections in (1, 64):
                dock = self._median(target.label, connections, "dockyard")
                bare = self._median(target.label, connections, "bare")
                lines.append(
                    f"| {target.label} | {connections} | {dock.rps:,.0f} | {dock.p50:.2f} | {dock.p99:.2f} | "
                    f"{dock.cpu_ms:.3f} | {bare.rps:,.0f} | {bare.p99:.2f} | {bare.cpu_ms:.3f} | "
                    f"{dock.rps / bare.rps:.2f}x | {bare.cpu_ms / dock.cpu_ms:.2f}x |"
                )
        errors = sum(s.errors for samples in self.results.values() for s in samples)
        lines += ["", f"Errors (4xx/5xx or broken connections) over all runs: {errors}", "", "CPU during the run:"]
        lines += [f"- {line}" for line in cpu.report()]
        return "\n".join(lines)

    def _median(self, label: str, connections: int, name: str) -> Sample:
        samples = self.results[(label, connections, name)]
        return Sample(
            median([s.rps for s in samples]), median([s.p50 for s in samples]), median([s.p99 for s in samples]),
            median([s.cpu_ms for s in samples]), sum(s.errors for s in samples),
        )  # fmt: skip

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.reference is not None and self.reference.poll() is None:
            self.reference.terminate()
        if self.reference is not None:
            self.reference.wait(timeout=20)


def main() -> int:
    harness.use_this_checkout()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=1, help="processes for Dockyard and for the bare app")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each load run")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn", help="ASGI server for both apps")
    parser.add_argument(
        "--dockyard-src", type=Path, default=None, help="serve Dockyard from another checkout's src (a baseline)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per row and server (median reported)")
    harness.add_workdir_args(parser)
    args = parser.parse_args()
    if args.dockyard_src is not None:  # the server and CLI subprocesses import dockyard from there
        os.environ["PYTHONPATH"] = os.pathsep.join([str(args.dockyard_src.resolve()), os.environ["PYTHONPATH"]])
    workdir = harness.make_workdir(args.workdir, "dockyard-resolve-head-")
    bench = Bench(args, workdir)
    cpu = CpuAccount()
    try:
        bench.start_dockyard()
        bench.setup_repo()
        bench.start_reference(bench.capture())
        if args.server == "granian":
            bench.restart_dockyard_under_granian()
        bench.measure()
        bench.stop()  # reaped first, so the CPU account counts the servers as ours
        harness.publish_report(bench.report(cpu), args.output)
    finally:
        bench.stop()
        harness.drop_workdir(workdir, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
