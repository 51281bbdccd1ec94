"""A real Dockyard server in subprocesses on 127.0.0.1: the API (one or several processes) and,
when the backend says so, a separate job worker."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.backends import Backend, healthy

READY_TIMEOUT = 60.0
EMBEDDED = Backend(name="embedded")


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    blob_root: Path
    process: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real ``dockyard`` command against this server's data."""
        return subprocess.run(
            [sys.executable, "-m", "dockyard", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
        )

    def blob_files(self, prefix: str) -> list[Path]:
        root = self.blob_root / prefix
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []

    def lose_blob(self, key: str) -> None:
        """Delete stored bytes behind the hub's back (a disk fault, a bad restore), through the
        storage's own interface: on S3 the object goes, not just rclone's file under it."""
        import os

        from dockyard.storage.factory import open_blob_store

        url = self.env.get("DOCKYARD_STORAGE_URL")
        if not url:
            (self.blob_root / key).unlink()
            return
        aws = {k: v for k, v in self.env.items() if k.startswith("AWS_")}
        saved = {k: os.environ.get(k) for k in aws}
        os.environ.update(aws)
        try:
            open_blob_store(url).delete(key)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def stop(self) -> None:
        for process in (self.process, self.worker):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-5000:]


def server_env(state_env: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DOCKYARD_", "AWS_"))}
    env.update(state_env)
    env.update(extra or {})
    return env


def start_server(
    data_dir: Path,
    port: int,
    extra_env: dict[str, str] | None = None,
    *,
    backend: Backend = EMBEDDED,
    processes: int | None = None,
    state_env: dict[str, str] | None = None,
) -> LiveServer:
    """Start ``dockyard serve`` (and ``dockyard worker`` when jobs are external) on fresh state,
    or on ``state_env`` to restart a server on existing state."""
    data_dir.mkdir(parents=True, exist_ok=True)
    state = state_env if state_env is not None else backend.state_env(data_dir)
    env = server_env(state, extra_env)
    workers = processes if processes is not None else backend.api_processes
    log_path = data_dir / "server.log"
    with log_path.open("ab") as log:  # the children keep their own copies of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data_dir), "--workers", str(workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        worker = None
        if env.get("DOCKYARD_JOBS") == "external":
            worker = subprocess.Popen(
                [sys.executable, "-m", "dockyard", "worker", "--data-dir", str(data_dir)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
    server = LiveServer(
        url=f"http://127.0.0.1:{port}",
        data_dir=data_dir,
        env=env,
        blob_root=backend.blob_root(env, data_dir),
        process=process,
        worker=worker,
        log_path=log_path,
    )
    wait_until_ready(server)
    return server


def wait_until_ready(server: LiveServer) -> None:
    """Poll /healthz: readiness is what we wait for, not a fixed delay."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            server.stop()  # the worker process, if any, must not outlive a failed start
            raise RuntimeError(f"dockyard serve exited early:\n{server.log_tail()}")
        if healthy(server.url):
            return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"dockyard serve did not become ready:\n{server.log_tail()}")


#: ``restart(crash_at)``: (re)start a server on the same data, optionally set to crash at a point.
Restart = Callable[[str | None], LiveServer]
