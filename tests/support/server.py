"""A real Dockyard server in a subprocess, on 127.0.0.1, with its own data directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_TIMEOUT = 60.0


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
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

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-5000:]


def server_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["DOCKYARD_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


def start_server(
    data_dir: Path, port: int, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> LiveServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(data_dir, extra_env)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dockyard",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                *args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env, process=process, log_path=log_path
    )
    wait_until_ready(server)
    return server


def wait_until_ready(server: LiveServer) -> None:
    """Poll /healthz: readiness is what we wait for, not a fixed delay."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"dockyard serve exited early:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"dockyard serve did not become ready:\n{server.log_tail()}")
