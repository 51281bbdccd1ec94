"""Xet deduplication and download benchmark: a safetensors model and a 10%-changed variant.

    python bench/xet_dedup.py [--size-gib 2] [--tensors 100] [--changed 0.1] [--repeat 3] [--keep]

Writes a safetensors file of ``--tensors`` float32 tensors (standard-normal values, like
initialised weights), then variants with ``--changed`` of the tensors re-randomised (same names,
shapes and header). Uploads them with the default client (``HfApi.upload_file``, hf_xet on) to
fresh repos on a fresh server and reports what the client sent (hf_xet's own report), what the
server newly stored (xorb objects and ``blobs/`` on disk, the storage API and ``dockyard storage
report``), and then download throughput of the base model through Xet against plain HTTP
(``HF_HUB_DISABLE_XET=1``, and curl) in the same run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import MB, MIB, CpuAccount, curl, median, settle

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
FILENAME = "model.safetensors"
DEDUP_TARGET = 0.15  # the variant stores at most this fraction of its size as new bytes
XET_TARGET = 0.8  # Xet download ≥ this x the same client over plain HTTP


# -- the model files ---------------------------------------------------------------------------------
def tensor_layout(size: int, count: int) -> tuple[int, int]:
    """(rows, cols) of each float32 tensor so that ``count`` of them make about ``size`` bytes."""
    cols = 1024
    rows = max(1, size // count // 4 // cols)
    return rows, cols


def safetensors_header(count: int, rows: int, cols: int) -> bytes:
    nbytes = rows * cols * 4
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    for i in range(count):
        header[f"model.layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [rows, cols],
            "data_offsets": [i * nbytes, (i + 1) * nbytes],
        }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header with spaces to 8 bytes
    return len(text).to_bytes(8, "little") + text


def random_tensor(seed: int, rows: int, cols: int) -> bytes:
    import numpy as np

    values = np.random.default_rng(seed).standard_normal(rows * cols, dtype=np.float32)
    values *= 0.02
    return values.tobytes()


def write_model(path: Path, count: int, rows: int, cols: int, seed: int) -> None:
    with path.open("wb") as handle:
        handle.write(safetensors_header(count, rows, cols))
        for i in range(count):
            handle.write(random_tensor(seed * 1_000_003 + i, rows, cols))


def write_variant(base: Path, path: Path, count: int, rows: int, cols: int, changed: list[int], seed: int) -> None:
    """A copy of ``base`` whose tensors ``changed`` get new random values (same names and shapes)."""
    shutil.copyfile(base, path)
    start = len(safetensors_header(count, rows, cols))
    nbytes = rows * cols * 4
    fd = os.open(path, os.O_WRONLY)
    try:
        for i in changed:
            os.pwrite(fd, random_tensor(seed * 1_000_003 + i, rows, cols), start + i * nbytes)
    finally:
        os.close(fd)


def check_safetensors(path: Path, count: int) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        keys = list(handle.keys())
        if len(keys) != count:
            raise RuntimeError(f"{path}: {len(keys)} tensors, expected {count}")
        handle.get_tensor(keys[-1])  # the last one reads back (offsets are right)


# -- what the server keeps ---------------------------------------------------------------------------
@dataclass
class DiskScan:
    files: dict[str, int]  # relative path -> size
    disk_bytes: int  # allocated blocks

    @property
    def total(self) -> int:
        return sum(self.files.values())

    def under(self, prefix: str) -> dict[str, int]:
        return {p: s for p, s in self.files.items() if p.startswith(prefix)}


def scan(root: Path) -> DiskScan:
    files, disk = {}, 0
    if root.exists():
        for path in root.rglob("*"):
            if path.is_file():
                st = path.stat()
                files[str(path.relative_to(root))] = st.st_size
                disk += st.st_blocks * 512
    return DiskScan(files, disk)


@dataclass
class Upload:
    label: str
    repo: str
    source: Path
    home: Path  # the client's HF_HOME (its Xet caches live there)
    size: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    client: dict[str, Any] = field(default_factory=dict)  # hf_xet's dedup metrics
    new_files: dict[str, int] = field(default_factory=dict)  # files that appeared under blobs/
    blobs_growth: int = 0  # apparent bytes
    disk_growth: int = 0  # allocated bytes
    storage_api: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def new_under(self, prefix: str) -> tuple[int, int]:
        picked = [s for p, s in self.new_files.items() if p.startswith(prefix)]
        return len(picked), sum(picked)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.count: int = args.tensors
        self.rows, self.cols = tensor_layout(int(args.size_gib * 1024**3), self.count)
        self.changed_count = max(1, round(self.count * args.changed))
        self.data_dir = workdir / "data"
        self.blobs = self.data_dir / "blobs"
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.token = ""
        self.uploads: list[Upload] = []
        self.downloads: dict[str, list[dict[str, Any]]] = {}
        self.hub_report: dict[str, Any] = {}
        self.probe: dict[str, Any] = {}
        self.notes: list[str] = []
        self.setup_lines: list[str] = []

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # -- plumbing -----------------------------------------------------------------------------------
    def client_env(self, home: Path, xet: bool = True) -> dict[str, str]:
        return harness.client_env(self.url, self.token, home, xet=xet)

    def server_cpu(self) -> float:
        return harness.tree_cpu_seconds(self.server.process.pid)

    def storage_api(self, repo: str) -> dict[str, Any]:
        import httpx

        answer = httpx.get(
            f"{self.url}/api/models/{repo}/storage", headers={"Authorization": f"Bearer {self.token}"}, timeout=120
        )
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data

    # -- setup --------------------------------------------------------------------------------------
    def make_files(self) -> None:
        start = time.perf_counter()
        base = self.workdir / "base.safetensors"
        write_model(base, self.count, self.rows, self.cols, seed=1)
        picker = random.Random(7)
        changed_a = sorted(picker.sample(range(self.count), self.changed_count))
        changed_b = sorted(picker.sample(range(self.count), self.changed_count))
        variant_a = self.workdir / "variant-a.safetensors"
        variant_b = self.workdir / "variant-b.safetensors"
        write_variant(base, variant_a, self.count, self.rows, self.cols, changed_a, seed=2)
        write_variant(base, variant_b, self.count, self.rows, self.cols, changed_b, seed=3)
        for path in (base, variant_a, variant_b):
            check_safetensors(path, self.count)
        size = base.stat().st_size
        tensor_mib = self.rows * self.cols * 4 / MIB
        self.log(f"model files written in {time.perf_counter() - start:.1f} s")
        self.setup_lines = [
            f"base model: {size:,} B ({size / 1024**3:.3f} GiB), {self.count} float32 tensors of "
            f"[{self.rows}, {self.cols}] ({tensor_mib:.2f} MiB each), N(0, 0.02) values from numpy, written "
            f"as safetensors by hand (header checked with `safetensors.safe_open`)",
            f"variant A: tensors {changed_a} re-randomised ({self.changed_count / self.count:.0%}); "
            "uploaded with a **fresh client cache** (new HF_HOME), so any deduplication comes from the "
            "server's answers to the client's global-dedup queries (`GET /v1/chunks/…`)",
            f"variant B: tensors {changed_b} re-randomised; uploaded with the **client cache of the base "
            "upload kept** (same HF_HOME), so the client can also deduplicate against its local shard cache",
        ]
        home = self.workdir / "hf-home"
        self.uploads = [
            Upload("base model", f"{NAMESPACE}/xet-base", base, home / "base"),
            Upload("variant A (fresh client cache)", f"{NAMESPACE}/xet-variant-a", variant_a, home / "variant-a"),
            Upload("variant B (base's client cache)", f"{NAMESPACE}/xet-variant-b", variant_b, home / "base"),
        ]

    def setup_hub(self) -> None:
        from tests.support.server import start_server

        self.server = start_server(self.data_dir, self.port)
        self.log(f"dockyard serve on {self.url} (1 process, embedded: SQLite, local disk)")
        self.server.cli("user", "create", NAMESPACE)
        self.token = self.server.cli("token", "create", NAMESPACE, "--role", "write").stdout.strip().splitlines()[-1]
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.url, token=self.token)
        for upload in self.uploads:
            api.create_repo(upload.repo)

    # -- uploads ------------------------------------------------------------------------------------
    def upload(self, item: Upload) -> None:
        item.size = item.source.stat().st_size
        settle()
        before = scan(self.blobs)
        cpu = self.server_cpu()
        result = harness.run_client(self.client_env(item.home), "upload", item.repo, str(item.source), FILENAME)
        item.server_cpu = self.server_cpu() - cpu
        item.seconds = float(result["seconds"])
        item.client_cpu = float(result.get("cpu", 0.0))
        reports = [r for r in result.get("xet", []) if r.get("kind") == "upload" and r.get("dedup")]
        if len(reports) != 1:
            raise RuntimeError(f"expected one hf_xet upload report (did the upload go through Xet?): {reports}")
        item.client = reports[0]["dedup"]
        time.sleep(1.0)  # let an in-process job (the upload's scan) finish writing, if any
        after = scan(self.blobs)
        item.new_files = {p: s for p, s in after.files.items() if p not in before.files}
        item.blobs_growth = after.total - before.total
        item.disk_growth = after.disk_bytes - before.disk_bytes
        item.storage_api = self.storage_api(item.repo)
        lfs_count, _ = item.new_under("lfs/")
        if lfs_count:
            self.notes.append(f"{item.label}: the upload stored {lfs_count} whole LFS blob(s) besides xorbs")
        self.log(
            f"{item.label}: {item.seconds:.1f} s, client sent {item.client['xorb_bytes_uploaded']:,} B of xorbs, "
            f"blobs/ grew {item.blobs_growth:,} B"
        )

    def measure_uploads(self) -> None:
        for item in self.uploads:
            try:
                self.upload(item)
            except Exception as error:  # keep going: the other uploads still tell something
                item.error = str(error).strip().splitlines()[-1][:300]
                self.notes.append(f"**upload of {item.label} failed**: {item.error}")
                traceback.print_exc()
        report = self.server.cli("storage", "report", check=False)
        if report.returncode == 0:
            self.hub_report = json.loads(report.stdout)["hub"]
        else:
            self.notes.append(f"`dockyard storage report` failed: {report.stderr[-500:]}")

    # -- downloads ----------------------------------------------------------------------------------
    def resolve_url(self) -> str:
        return f"{self.url}/{self.uploads[0].repo}/resolve/main/{FILENAME}"

    def download_once(self, mode: str, i: int) -> dict[str, Any]:
        size = self.uploads[0].size
        home = self.workdir / f"dl-home-{mode}-{i}"  # fresh: no Xet chunk cache, no hub cache
        cache = self.workdir / f"dl-cache-{mode}-{i}"
        settle()
        cpu = self.server_cpu()
        try:
            if mode == "curl":
                got = curl(["-f", "-H", f"Authorization: Bearer {self.token}", self.resolve_url()])
                if got.status != 200 or got.downloaded != size:
                    raise RuntimeError(f"curl GET /resolve: HTTP {got.status}, {got.downloaded} B")
                seconds, received, client_cpu = got.seconds, got.downloaded, float("nan")
            else:
                env = self.client_env(home, xet=(mode == "xet"))
                result = harness.run_client(env, "download", self.uploads[0].repo, FILENAME, str(cache))
                if result["bytes"] != size:
                    raise RuntimeError(f"hf_hub_download ({mode}) returned {result['bytes']} B, expected {size}")
                seconds, client_cpu = float(result["seconds"]), float(result.get("cpu", "nan"))
                groups = [r for r in result.get("xet", []) if r.get("kind") == "download"]
                if (mode == "xet") != bool(groups):
                    raise RuntimeError(f"hf_hub_download ({mode}): {len(groups)} hf_xet download groups")
                received = sum((g.get("progress") or {}).get("total_transfer_bytes_completed") or 0 for g in groups)
        finally:
            shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
        return {
            "mbps": size / seconds / MB,
            "seconds": seconds,
            "cpu": self.server_cpu() - cpu,
            "client_cpu": client_cpu,
            "received": received,
        }

    def measure_downloads(self) -> None:
        if self.uploads[0].error:
            self.notes.append("the base model did not upload: downloads skipped")
            return
        self.download_once("curl", -1)  # warm the page cache for every mode alike
        for i in range(self.args.repeat):
            for mode in ("xet", "http", "curl"):  # interleaved, so drift hits all three alike
                self.log(f"download {i + 1}/{self.args.repeat}: {mode}")
                try:
                    self.downloads.setdefault(mode, []).append(self.download_once(mode, i))
                except Exception as error:
                    self.notes.append(f"**download ({mode}) failed**: {str(error).strip()[-500:]}")
                    traceback.print_exc()

    # -- incompressible content through Xet ------------------------------------------------------------
    def probe_incompressible(self) -> None:
        """A file of exactly 64 MiB of random bytes: hf_xet packs chunks into a xorb until their
        *data* would pass 64 MiB, so this whole file is one xorb whose serialized form is 64 MiB plus
        8 bytes of header per chunk. Larger incompressible files hit the same edge whenever a xorb's
        data ends within (8 x its chunk count) bytes of 64 MiB."""
        from huggingface_hub import HfApi

        from dockyard.xet.chunking import chunk_boundaries
        from dockyard.xet.xorb import CHUNK_HEADER_LEN, MAX_XORB_UPLOAD

        repo = f"{NAMESPACE}/xet-probe"
        HfApi(endpoint=self.url, token=self.token).create_repo(repo)
        source = self.workdir / "random.bin"
        size = 64 * MIB
        data = os.urandom(size)
        source.write_bytes(data)
        chunks = len(chunk_boundaries(data))  # Dockyard's chunker, which matches hf_xet's
        del data
        env = self.client_env(self.workdir / "hf-home" / "probe")
        script = str(Path(__file__).with_name("xet_client.py"))
        done = subprocess.run(
            [sys.executable, script, "upload", repo, str(source), "random.bin"],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        errors = [line for line in done.stderr.splitlines() if "Error" in line]
        self.probe = {
            "size": size,
            "chunks": chunks,
            "serialized": size + CHUNK_HEADER_LEN * chunks,
            "limit": MAX_XORB_UPLOAD,
            "ok": done.returncode == 0,
            "error": errors[-1][:400] if errors else "",
        }
        source.unlink()

    # -- driver -------------------------------------------------------------------------------------
    def run(self) -> None:
        self.make_files()
        self.setup_hub()
        self.measure_uploads()
        self.measure_downloads()
        if not self.args.skip_probe:
            try:
                self.probe_incompressible()
            except Exception as error:
                self.notes.append(f"incompressible probe failed to run: {error}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


# -- report ----------------------------------------------------------------------------------------------
def mb(value: float) -> str:
    return f"{value / MB:,.1f} MB"


def upload_table(bench: Bench) -> list[str]:
    ups = bench.uploads
    head = "| measure | " + " | ".join(u.label for u in ups) + " | target |"
    lines = [head, "| --- | " + " | ".join("---" for _ in ups) + " | --- |"]

    def row(name: str, cells: list[str], target: str = "—") -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")

    def each(fn: Any) -> list[str]:
        return ["failed" if u.error else fn(u) for u in ups]

    row("file size (logical)", [mb(u.size) for u in ups])
    row("upload time, `HfApi.upload_file` (Xet), call to return",
        each(lambda u: f"{u.seconds:.1f} s ({u.size / u.seconds / MB:,.0f} MB/s)"))  # fmt: skip
    row("CPU during the upload: server / client", each(lambda u: f"{u.server_cpu:.1f} s / {u.client_cpu:.1f} s"))
    row("client: new bytes / deduplicated (hf_xet)",
        each(lambda u: f"{mb(u.client['new_bytes'])} / {mb(u.client['deduped_bytes'])} "
                       f"({mb(u.client['deduped_bytes_by_global_dedup'])} via server dedup answers)"))  # fmt: skip
    row("client: bytes sent (xorbs + shards, hf_xet)",
        each(lambda u: f"{mb(u.client['xorb_bytes_uploaded'])} + {mb(u.client['shard_bytes_uploaded'])}"))  # fmt: skip

    def xorbs(u: Upload) -> str:
        count, size = u.new_under("xet/xorbs/")
        return f"{count}, {mb(size)}"

    row("server: new xorb objects (count, bytes)", each(xorbs))
    row("server: `blobs/` growth (apparent / allocated)", each(lambda u: f"{mb(u.blobs_growth)} / {mb(u.disk_growth)}"))
    row("storage API `storedBytes` / `logicalBytes` of the repo",
        each(lambda u: f"{mb(u.storage_api['storedBytes'])} / {mb(u.storage_api['logicalBytes'])}"))  # fmt: skip
    ratios = [u.blobs_growth / u.size if u.size and not u.error else None for u in ups]
    cells = []
    for i, ratio in enumerate(ratios):
        if ratio is None:
            cells.append("failed")
        elif i == 0:
            cells.append(f"{ratio:.1%}")
        else:
            verdict = "**pass**" if ratio <= DEDUP_TARGET else "**FAIL**"
            cells.append(f"**{ratio:.1%}** {verdict}")
    row("newly stored / file size (`blobs/` growth)", cells, f"variants ≤ {DEDUP_TARGET:.0%}")
    return lines


def download_table(bench: Bench) -> tuple[list[str], bool | None]:
    modes = [
        ("xet", "hf_hub_download, Xet (default client)"),
        ("http", "hf_hub_download, HF_HUB_DISABLE_XET=1 (GET /resolve, server decodes xorbs)"),
        ("curl", "curl -o /dev/null GET /resolve"),
    ]
    lines = ["| measure | median MB/s | runs (MB/s) | CPU s/run: server / client | Xet ÷ this | target |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    xet = median([r["mbps"] for r in bench.downloads.get("xet", [])])
    passed: bool | None = None
    for mode, name in modes:
        runs = bench.downloads.get(mode, [])
        if not runs:
            lines.append(f"| {name} | failed | | | | |")
            continue
        value = median([r["mbps"] for r in runs])
        ratio = xet / value
        target = "—"
        if mode == "http":
            passed = ratio >= XET_TARGET
            target = f"Xet ≥ {XET_TARGET}x → {'**pass**' if passed else '**FAIL**'}"
        ratio_text = "—" if mode == "xet" else f"{ratio:.2f}x"
        each_run = ", ".join(f"{r['mbps']:,.0f}" for r in runs)
        server_cpu = median([r["cpu"] for r in runs])
        client_cpu = "—" if mode == "curl" else f"{median([r['client_cpu'] for r in runs]):.1f}"
        lines.append(
            f"| {name} | {value:,.0f} | {each_run} | {server_cpu:.1f} / {client_cpu} | {ratio_text} | {target} |"
        )
    return lines, passed


def versions() -> str:
    import hf_xet
    import huggingface_hub

    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
    xet_version = getattr(hf_xet, "__version__", None) or _dist_version("hf_xet")
    return (
        f"dockyard {sha.stdout.strip() or '?'}{' (src/ has uncommitted changes)' if dirty.stdout.strip() else ''}; "
        f"huggingface_hub {huggingface_hub.__version__}; hf_xet {xet_version}; Python {platform.python_version()}; "
        f"kernel {platform.release()}; {os.cpu_count()} cores"
    )


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:
        return "?"


def report(bench: Bench, command: str, cpu: CpuAccount) -> tuple[str, bool]:
    ups = upload_table(bench)
    downs, passed_dl = download_table(bench)
    out = [
        "# Dockyard Xet deduplication benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; MB = 10^6 bytes; Dockyard: 1 uvicorn process, embedded "
        "(SQLite, blobs on local disk); every client call in its own process with a fresh HF_HOME unless said.",
        "",
        versions(),
        "",
        *[f"- {line}" for line in bench.setup_lines],
        "",
        "## Uploads (default client: `HfApi.upload_file`, hf_xet on)",
        "",
        *ups,
        "",
        f"## Downloads of the base model (fresh cache each run; median of {bench.args.repeat}, modes interleaved)",
        "",
        *downs,
        "",
        "## How each figure was produced",
        "",
        "- upload time: `HfApi.upload_file(path_or_fileobj=FILE, path_in_repo='model.safetensors', repo_id=REPO)` "
        "in a subprocess (`bench/xet_client.py upload`), from the call to its return (preupload, Xet token, "
        "chunking + sha256, dedup queries, xorb and shard POSTs, the server's verification, the commit)",
        "- client figures: the `XetCommitReport.dedup_metrics` hf_xet returns when the upload commit "
        "finishes (`new_bytes`, `deduped_bytes`, `deduped_bytes_by_global_dedup`, `xorb_bytes_uploaded`, "
        "`shard_bytes_uploaded`), kept by a thin wrapper around the client's global `XetSession`",
        "- server figures: files that appeared under the data dir's `blobs/` during the upload "
        "(`blobs/xet/xorbs/…` are the xorb POST bodies as stored), apparent size and allocated blocks; "
        "`GET /api/models/{repo}/storage`; server CPU from `/proc/<pid>/stat` (process and children)",
        "- Xet download: `hf_hub_download(repo, 'model.safetensors', cache_dir=<fresh>)` with a fresh HF_HOME "
        "(no Xet chunk cache), call to return, file written to the cache; plain HTTP: the same with "
        "`HF_HUB_DISABLE_XET=1` (HEAD + GET /resolve; the server reconstructs the bytes from xorbs); curl: "
        f"`curl -o /dev/null -H 'Authorization: Bearer …' {bench.resolve_url() if bench.uploads else ''}`",
    ]
    if bench.hub_report:
        h = bench.hub_report
        out += [
            "",
            "## `dockyard storage report` (hub totals after the three uploads)",
            "",
            f"files {h['files']}, logicalBytes {h['logicalBytes']:,} ({mb(h['logicalBytes'])}), "
            f"storedBytes {h['storedBytes']:,} ({mb(h['storedBytes'])}): "
            f"{h['storedBytes'] / max(1, h['logicalBytes']):.1%} of logical",
        ]
    out += ["", "## Every download run", ""]
    for mode, runs in bench.downloads.items():
        out.append(
            f"- {mode}: "
            + ", ".join(
                f"{r['mbps']:,.0f} MB/s ({r['seconds']:.2f} s, server {r['cpu']:.1f} CPU-s"
                + ("" if mode == "curl" else f", client {r['client_cpu']:.1f} CPU-s")
                + (f", {mb(r['received'])} received by hf_xet" if mode == "xet" else "")
                + ")"
                for r in runs
            )
        )
    if bench.probe:
        p = bench.probe
        out += [
            "",
            "## Incompressible content through Xet",
            "",
            f"- upload of a file of exactly {p['size'] / MIB:.0f} MiB of `os.urandom` bytes with the default "
            "client: " + ("**ok**" if p["ok"] else f"**FAILED**: `{p['error']}`"),
            f"- that file is {p['chunks']} chunks, so its one xorb serializes to {p['serialized']:,} B "
            f"(data + 8 B per chunk header); Dockyard accepts xorb uploads up to {p['limit']:,} B (`MAX_XORB_UPLOAD`)",
        ]
    out += ["", "## Machine activity during the run", ""]
    out += [f"- {line}" if not line.startswith("  ") else f"    - {line.strip()}" for line in cpu.report()]
    if bench.notes:
        out += ["", "## Problems", "", *[f"- {note}" for note in bench.notes]]
    dedup_ok = (
        all(not u.error and u.blobs_growth / max(1, u.size) <= DEDUP_TARGET for u in bench.uploads[1:])
        and not bench.uploads[0].error
    )
    ok = dedup_ok and passed_dl is True and not bench.notes and bench.probe.get("ok", True)
    return "\n".join(out) + "\n", ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=2.0, help="size of the model file (default 2)")
    parser.add_argument("--tensors", type=int, default=100, help="number of tensors (default 100)")
    parser.add_argument("--changed", type=float, default=0.1, help="fraction of tensors a variant changes")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each download; the median is reported")
    parser.add_argument("--skip-probe", action="store_true", help="skip the random-bytes Xet upload probe")
    harness.add_workdir_args(parser, "keep the temp dir (data dir, server log)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    problems = [p for p in harness.missing_tools() if "`curl`" in p or "Python module" in p]
    for module in ("hf_xet", "numpy", "safetensors"):
        import importlib.util

        if importlib.util.find_spec(module) is None:
            problems.append(f"Python module `{module}` not importable; pip install -e '.[test]'")
    if harness.refuse_missing(problems):
        return 2
    command = shlex.join(["python", *sys.argv])
    workdir = harness.make_workdir(args.workdir, "dockyard-xet-bench-")
    size = int(args.size_gib * 1024**3)
    if not harness.has_free_disk(workdir, 5 * size + 2 * 1024**3):
        return 2
    harness.use_this_checkout()
    cpu = CpuAccount()
    bench = Bench(args, workdir)
    ok = False
    try:
        bench.run()
    except Exception as error:
        bench.notes.append(f"**run aborted**: {error}")
        traceback.print_exc()
        if bench.server is not None:
            print(bench.server.log_tail()[-3000:], file=sys.stderr)
    finally:
        bench.stop()
        text, ok = report(bench, command, cpu)
        harness.publish_report(text, args.output)
        harness.drop_workdir(workdir, args.keep)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
