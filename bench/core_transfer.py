"""Core transfer benchmark of a Dockyard hub: LFS uploads, /resolve downloads, HEAD /resolve req/s.

    python bench/core_transfer.py [--size-gib 2] [--workdir DIR] [--repeat 3] [--keep]

Everything is measured against a reference taken in the same run, on the same disk: a raw fsync'd
write for uploads, nginx (sendfile) serving the very blob Dockyard stored for downloads and small
requests. See bench/README.md for what each row means and what else may skew it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
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
from harness import MB, MIB, CpuAccount, LoadResult, curl, httperf_head, median, settle, wrk_get
from nginx_ref import Nginx

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE, REPO_NAME = "bench", "core-transfer"
REPO_ID = f"{NAMESPACE}/{REPO_NAME}"
BIG = "weights/big.bin"
SMALL_COUNTED = "config.json"  # a model's query file: each HEAD/GET of it records a download
SMALL_PLAIN = "tokenizer_config.json"  # a small git file that is not counted
LFS_JSON = "application/vnd.git-lfs+json"
UPLOAD_TARGET, GET_TARGET, RPS_TARGET = 0.6, 0.9, 1500.0


@dataclass
class Row:
    measure: str
    dockyard: str
    reference: str
    ratio: float | None
    target: str
    passed: bool | None
    command: str  # how the Dockyard figure was produced


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.size = int(args.size_gib * 1024**3)
        self.repeat: int = args.repeat
        self.seconds: int = args.load_seconds
        self.chunk = int(args.chunk_mib * MIB)
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.source = workdir / "big.bin"
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.token = ""
        self.commit = ""
        self.kept_oid = ""
        self.rows: list[Row] = []
        self.samples: dict[str, list[str]] = {}
        self.notes: list[str] = []
        self.disk_samples: list[float] = []
        self.block = b""

    # -- plumbing -----------------------------------------------------------------------------------
    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def start_server(self, multipart: bool) -> None:
        from tests.support.server import start_server

        if self.server is not None:
            self.server.stop()
        threshold = min(self.size, 512 * MIB) if multipart else self.size + 1
        env = {
            "DOCKYARD_LFS_MULTIPART_THRESHOLD": str(threshold),
            "DOCKYARD_LFS_MULTIPART_CHUNK_SIZE": str(self.chunk),
        }
        self.server = start_server(self.data_dir, self.port, extra_env=env)
        self.log(f"dockyard serve on {self.url} (1 process), multipart threshold {threshold} B")

    def client_env(self, endpoint: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(
            HF_ENDPOINT=endpoint,
            HF_TOKEN=self.token,
            HF_HOME=str(self.workdir / "hf-home"),
            HF_HUB_DISABLE_XET="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
        )
        return env

    def hf_client(self, endpoint: str, *args: str) -> dict[str, Any]:
        script = str(Path(__file__).with_name("hf_client.py"))
        out = harness.run([sys.executable, script, *args], env=self.client_env(endpoint), timeout=1800)
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    def blob_path(self, oid: str) -> Path:
        return self.data_dir / "blobs" / "lfs" / oid[:2] / oid[2:4] / oid

    def stamp(self, label: str) -> str:
        """Make the source file's content new (first 32 bytes) so no upload is deduplicated; its sha256."""
        fd = os.open(self.source, os.O_WRONLY)
        try:
            os.pwrite(fd, f"dockyard-bench {label} {time.time_ns()}".ljust(64)[:64].encode(), 0)
        finally:
            os.close(fd)
        digest = hashlib.sha256()
        with self.source.open("rb") as handle:
            while block := handle.read(8 * MIB):
                digest.update(block)
        return digest.hexdigest()

    def drop_blob(self, oid: str) -> None:
        """Free the disk an upload repetition used (the data dir is throwaway; nothing reads it again)."""
        self.blob_path(oid).unlink(missing_ok=True)

    def server_cpu(self) -> float:
        """CPU seconds the Dockyard server process has used so far (1 process: all of its threads)."""
        return harness.process_cpu_seconds(self.server.process.pid)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def add(self, row: Row, samples: list[str] | None = None) -> None:
        self.rows.append(row)
        if samples is not None:
            self.samples[row.measure] = samples

    # -- setup --------------------------------------------------------------------------------------
    def make_source(self) -> None:
        start = time.perf_counter()
        block = 16 * MIB
        with self.source.open("wb") as handle:
            remaining = self.size
            while remaining > 0:
                remaining -= handle.write(os.urandom(min(block, remaining)))
        self.log(f"random source file {self.size / MB:.0f} MB written in {time.perf_counter() - start:.1f} s")

    def setup_hub(self) -> None:
        self.start_server(multipart=False)
        self.server.cli("user", "create", NAMESPACE)
        self.token = self.server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        os.environ.update(self.client_env(self.url))  # read by huggingface_hub at import, just below
        from huggingface_hub import CommitOperationAdd, HfApi

        api = HfApi(endpoint=self.url, token=self.token)
        api.create_repo(REPO_ID)
        config = json.dumps({"model_type": "bert", "hidden_size": 32}).encode()
        api.create_commit(
            REPO_ID,
            [CommitOperationAdd(SMALL_COUNTED, config), CommitOperationAdd(SMALL_PLAIN, b'{"do_lower_case": true}')],
            commit_message="small files",
        )
        (self.workdir / "static").mkdir()
        (self.workdir / "static" / SMALL_COUNTED).write_bytes(config)

    def offered_transfer(self) -> str:
        """Ask the batch API what it would offer the client for a file of this size (nothing is stored)."""
        import httpx

        fake = hashlib.sha256(f"probe {time.time_ns()}".encode()).hexdigest()
        body = {
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": fake, "size": self.size}],
        }
        answer = httpx.post(
            f"{self.url}/{REPO_ID}.git/info/lfs/objects/batch",
            json=body,
            headers={**self.headers(), "Accept": LFS_JSON, "Content-Type": LFS_JSON},
            timeout=60,
        )
        answer.raise_for_status()
        header = answer.json()["objects"][0]["actions"]["upload"].get("header") or {}
        if "chunk_size" not in header:
            return "basic (one PUT)"
        parts = sum(1 for key in header if key.isdigit())
        return f"multipart ({parts} parts of {int(header['chunk_size']) / MIB:.0f} MiB, sent one after another)"

    # -- uploads ------------------------------------------------------------------------------------
    # The disk's speed drifts a lot on this kind of machine (340 to 1,000 MB/s within a minute was
    # seen), so each upload is paired with a raw write of the same size made just before it, and
    # the ratio is the median of the per-pair ratios.
    def disk_mbps(self) -> float:
        settle()
        seconds = harness.disk_write_seconds(self.workdir / "dd.bin", self.size, self.block)
        self.disk_samples.append(self.size / seconds / MB)
        return self.disk_samples[-1]

    def measure_upload(self, measure: str, how: str, upload: Any, keep_last: bool = False) -> None:
        """``upload(oid) -> seconds`` for a file whose content was just made new."""
        mbps, disks, samples = [], [], []
        for i in range(self.repeat):
            oid = self.stamp(f"{measure} {i}")
            disks.append(self.disk_mbps())
            settle()
            cpu = self.server_cpu()
            seconds = upload(oid)
            cpu = self.server_cpu() - cpu
            blob = self.blob_path(oid)
            if not blob.exists() or blob.stat().st_size != self.size:
                raise RuntimeError(f"the upload did not store an LFS blob at {blob} (did it go through Xet?)")
            mbps.append(self.size / seconds / MB)
            samples.append(
                f"{mbps[-1]:,.0f} MB/s ({seconds:.2f} s, server {cpu:.1f} CPU-s; disk before {disks[-1]:,.0f} MB/s)"
            )
            if keep_last and i == self.repeat - 1:
                self.kept_oid = oid
            else:
                self.drop_blob(oid)
        ratio = median([a / b for a, b in zip(mbps, disks, strict=True)])
        self.add(
            Row(
                measure,
                f"{median(mbps):,.0f} MB/s",
                f"{median(disks):,.0f} MB/s (disk, paired)",
                ratio,
                f"≥ {UPLOAD_TARGET}x",
                ratio >= UPLOAD_TARGET,
                how,
            ),
            samples,
        )

    def client_upload(self, oid: str) -> float:
        result = self.hf_client(self.url, "upload", REPO_ID, str(self.source), BIG)
        self.commit = result["commit"]
        return float(result["seconds"])

    def lfs_batch_basic(self, oid: str) -> tuple[str, str]:
        import httpx

        body = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": self.size}]}
        answer = httpx.post(
            f"{self.url}/{REPO_ID}.git/info/lfs/objects/batch",
            json=body,
            headers={**self.headers(), "Accept": LFS_JSON, "Content-Type": LFS_JSON},
            timeout=60,
        )
        answer.raise_for_status()
        actions = answer.json()["objects"][0]["actions"]
        return actions["upload"]["href"], actions["verify"]["href"]

    def curl_upload(self, oid: str) -> float:
        import httpx

        href, verify = self.lfs_batch_basic(oid)
        result = curl(["-f", "-T", str(self.source), "-H", "Expect:", href])
        if result.status != 200 or result.uploaded != self.size:
            raise RuntimeError(f"curl upload: HTTP {result.status}, {result.uploaded} B sent")
        ok = httpx.post(verify, json={"oid": oid, "size": self.size}, headers=self.headers(), timeout=60)
        ok.raise_for_status()
        return result.seconds

    def measure_uploads(self) -> None:
        self.block = self.source.open("rb").read(8 * MIB)
        client = f"HF_HUB_DISABLE_XET=1 HfApi.upload_file({self.size} B), call to return"
        self.section(
            "client upload, basic",
            self.measure_upload,
            "LFS upload, real client, basic",
            f"{client}; server offered {self.offered_transfer()}",
            self.client_upload,
        )
        self.section(
            "curl upload, basic",
            self.measure_upload,
            "LFS upload, curl -T to the signed basic URL",
            "curl -T FILE -H 'Expect:' <batch upload href> (PUT /-/lfs/upload/…), curl's time_total",
            self.curl_upload,
        )
        self.start_server(multipart=True)
        self.section(
            "client upload, multipart",
            self.measure_upload,
            "LFS upload, real client, multipart",
            f"{client}; server offered {self.offered_transfer()}",
            self.client_upload,
            True,
        )
        self.add(
            Row(
                "raw disk write + fsync (reference for uploads)",
                "—",
                f"{median(self.disk_samples):,.0f} MB/s",
                None,
                "—",
                None,
                f"os.write of 8 MiB blocks, {self.size} B, to a new file in {self.workdir}, then fsync",
            ),
            [f"{v:,.0f} MB/s" for v in self.disk_samples],
        )
        self.rows.insert(0, self.rows.pop())  # the reference first

    # -- downloads ----------------------------------------------------------------------------------
    def resolve_path(self, filename: str) -> str:
        return f"/{REPO_ID}/resolve/main/{filename}"

    def start_nginx(self) -> Nginx:
        files = {
            self.resolve_path(BIG): self.blob_path(self.kept_oid),
            self.resolve_path(SMALL_COUNTED): self.workdir / "static" / SMALL_COUNTED,
        }
        nginx = Nginx(self.workdir / "nginx", harness.free_port(), files, self.commit)
        nginx.start()
        return nginx

    def curl_get_mbps(self, base: str) -> float:
        auth = ["-H", f"Authorization: Bearer {self.token}"]
        result = curl(["-f", *auth, base + self.resolve_path(BIG)])
        if result.status != 200 or result.downloaded != self.size:
            raise RuntimeError(f"GET {base}: HTTP {result.status}, {result.downloaded} B")
        return self.size / result.seconds / MB

    def measure_curl_get(self, nginx: Nginx) -> None:
        self.curl_get_mbps(nginx.url)  # warm the page cache for both (same file)
        ours, ref, cpus = [], [], []
        for _ in range(self.repeat):
            cpu = self.server_cpu()
            ours.append(self.curl_get_mbps(self.url))
            cpus.append(self.server_cpu() - cpu)
            ref.append(self.curl_get_mbps(nginx.url))
        value, reference = median(ours), median(ref)
        self.add(
            Row(
                "GET /resolve (LFS file), curl",
                f"{value:,.0f} MB/s",
                f"{reference:,.0f} MB/s (nginx)",
                value / reference,
                f"≥ {GET_TARGET}x nginx",
                value / reference >= GET_TARGET,
                f"curl -o /dev/null -H 'Authorization: Bearer …' {self.url}{self.resolve_path(BIG)}",
            ),
            [
                f"dockyard {a:,.0f} (server {c:.1f} CPU-s) / nginx {b:,.0f} MB/s"
                for a, b, c in zip(ours, ref, cpus, strict=True)
            ],
        )

    def client_download_mbps(self, endpoint: str, i: int) -> float:
        cache = self.workdir / f"hf-cache-{i}"
        settle()
        result = self.hf_client(endpoint, "download", REPO_ID, BIG, str(cache))
        shutil.rmtree(cache, ignore_errors=True)
        if result["bytes"] != self.size:
            raise RuntimeError(f"hf_hub_download from {endpoint} returned {result['bytes']} B")
        return self.size / result["seconds"] / MB

    def measure_client_get(self, nginx: Nginx) -> None:
        ours, ref = [], []
        for i in range(self.repeat):
            ours.append(self.client_download_mbps(self.url, i))
            ref.append(self.client_download_mbps(nginx.url, i))
        value, reference = median(ours), median(ref)
        self.add(
            Row(
                "hf_hub_download (LFS file), real client",
                f"{value:,.0f} MB/s",
                f"{reference:,.0f} MB/s (same client ← nginx)",
                value / reference,
                f"≥ {GET_TARGET}x (client-bound)",
                value / reference >= GET_TARGET,
                "hf_hub_download(repo, BIG, cache_dir=<fresh>) HEAD+GET, call to return, file written to cache",
            ),
            [f"dockyard {a:,.0f} / nginx {b:,.0f} MB/s" for a, b in zip(ours, ref, strict=True)],
        )

    # -- small requests -----------------------------------------------------------------------------
    def load(self, method: str, url: str, headers: dict[str, str]) -> list[tuple[LoadResult, float]]:
        """Each run's result and the Dockyard server's CPU milliseconds per request in it."""
        runs = []
        for _ in range(self.repeat):
            before = self.server_cpu()
            if method == "HEAD":
                result = httperf_head(url, headers, seconds=self.seconds)
            else:
                result = wrk_get(url, headers, self.workdir, seconds=self.seconds)
            if result.failures:
                raise RuntimeError(f"{result.tool} {url}: {result.failures} failed of {result.requests} requests")
            runs.append((result, (self.server_cpu() - before) * 1000 / max(1, result.requests)))
        return runs

    def rps_row(
        self, measure: str, ours: list[tuple[LoadResult, float]], ref: list[tuple[LoadResult, float]], url: str
    ) -> None:
        value, reference = median([r.rps for r, _ in ours]), median([r.rps for r, _ in ref])
        cpu_ms = median([ms for _, ms in ours])
        self.add(
            Row(
                measure,
                f"{value:,.0f} req/s ({cpu_ms:.2f} ms CPU/req)",
                f"{reference:,.0f} req/s (nginx static)",
                value / reference,
                f"≥ {RPS_TARGET:,.0f} req/s",
                value >= RPS_TARGET,
                f"{ours[0][0].tool}, ~{self.seconds} s: {url}",
            ),
            [
                f"dockyard {a.rps:,.0f} ({ms:.2f} ms server CPU/req) / nginx {b.rps:,.0f}"
                for (a, ms), (b, _) in zip(ours, ref, strict=True)
            ],
        )

    def measure_small_requests(self, nginx: Nginx) -> None:
        client_head = {**self.headers(), "Accept-Encoding": "identity", "X-HF-Download-Counter": "1"}
        client_get = {**self.headers(), "X-HF-Download-Counter": "1"}
        small_ref = self.load("HEAD", nginx.url + self.resolve_path(SMALL_COUNTED), client_head)
        big_ref = self.load("HEAD", nginx.url + self.resolve_path(BIG), client_head)
        for filename, label, ref in (
            (SMALL_PLAIN, "small git file, not counted", small_ref),
            (SMALL_COUNTED, "config.json, counted as a download", small_ref),
            (BIG, "LFS file", big_ref),
        ):
            url = self.url + self.resolve_path(filename)
            self.rps_row(f"HEAD /resolve, {label}", self.load("HEAD", url, client_head), ref, url)
        url = self.url + self.resolve_path(SMALL_COUNTED)
        get_ref = self.load("GET", nginx.url + self.resolve_path(SMALL_COUNTED), client_get)
        self.rps_row(
            "GET /resolve config.json (client's GET after HEAD)", self.load("GET", url, client_get), get_ref, url
        )

    # -- driver -------------------------------------------------------------------------------------
    def section(self, name: str, fn: Any, *args: Any) -> Any:
        self.log(name)
        try:
            return fn(*args)
        except Exception as error:
            self.notes.append(f"**{name} failed**: {error}")
            traceback.print_exc()
            if self.server is not None:
                print(self.server.log_tail()[-3000:], file=sys.stderr)
            return None

    def run(self) -> None:
        self.make_source()
        self.setup_hub()
        self.measure_uploads()
        if not self.kept_oid:
            self.notes.append("no LFS file was kept by the uploads: download measurements skipped")
            return
        nginx = self.start_nginx()
        try:
            self.section("GET with curl", self.measure_curl_get, nginx)
            self.section("GET with hf_hub_download", self.measure_client_get, nginx)
            self.section("HEAD/GET req/s", self.measure_small_requests, nginx)
        finally:
            nginx.stop()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def fmt_table(bench: Bench) -> str:
    lines = [
        "| measure | Dockyard | reference | ratio | target | pass/fail |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in bench.rows:
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
        verdict = "—" if row.passed is None else ("**pass**" if row.passed else "**FAIL**")
        lines.append(f"| {row.measure} | {row.dockyard} | {row.reference} | {ratio} | {row.target} | {verdict} |")
    return "\n".join(lines)


def versions() -> str:
    import huggingface_hub

    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
    nginx = subprocess.run([harness.which("nginx") or "nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return (
        f"dockyard {sha.stdout.strip() or '?'}{' (src/ has uncommitted changes)' if dirty.stdout.strip() else ''}; "
        f"huggingface_hub {huggingface_hub.__version__}; Python {platform.python_version()}; {nginx}; "
        f"kernel {platform.release()}; {os.cpu_count()} cores"
    )


def report(bench: Bench, command: str, cpu: CpuAccount) -> str:
    out = [
        "# Dockyard core transfer benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; file {bench.size:,} B ({bench.size / 1024**3:g} GiB); "
        f"median of {bench.repeat} runs each; load tests {bench.seconds} s each, 32 connections; "
        "MB = 10^6 bytes; Dockyard: 1 uvicorn process, nginx: 1 worker.",
        "",
        versions(),
        "",
        fmt_table(bench),
        "",
        "## How each Dockyard figure was produced",
        "",
        *[f"- {row.measure}: `{row.command}`" for row in bench.rows],
        "",
        "## Every run",
        "",
        *[f"- {name}: {', '.join(values)}" for name, values in bench.samples.items()],
        "",
        "## Machine activity during the run",
        "",
        *[f"- {line}" if not line.startswith("  ") else f"    - {line.strip()}" for line in cpu.report()],
    ]
    if bench.notes:
        out += ["", "## Problems", "", *[f"- {note}" for note in bench.notes]]
    return "\n".join(out) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=2.0, help="size of the LFS file (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure; the median is reported")
    parser.add_argument("--load-seconds", type=int, default=10, help="duration of each req/s run (default 10)")
    parser.add_argument("--chunk-mib", type=float, default=64, help="multipart part size (default 64, the server's)")
    harness.add_workdir_args(parser, "keep the temp dir (data dir, logs, nginx conf)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    problems = harness.missing_tools()
    if harness.refuse_missing(problems):
        return 2
    command = shlex.join(["python", *sys.argv])
    workdir = harness.make_workdir(args.workdir, "dockyard-bench-")
    size = int(args.size_gib * 1024**3)
    if not harness.has_free_disk(workdir, 3 * size + 2 * 1024**3):
        return 2
    harness.use_this_checkout()
    cpu = CpuAccount()
    bench = Bench(args, workdir)
    try:
        bench.run()
    finally:
        bench.stop()
        harness.publish_report(report(bench, command, cpu), args.output)
        harness.drop_workdir(workdir, args.keep)
    return 0 if all(row.passed is not False for row in bench.rows) and not bench.notes else 1


if __name__ == "__main__":
    sys.exit(main())
