"""The engines a test server runs on: embedded (SQLite, local disk, in-process jobs) or scaled
out (PostgreSQL, S3-compatible storage served by rclone, several API processes, a separate
worker). ``DOCKYARD_TEST_BACKEND=scaled`` runs the compat suite on the latter."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_TIMEOUT = 30.0


def free_port() -> int:
    """A free port, never the one reserved (in tests/conftest.py) for this worker's shared server."""
    reserved = os.environ.get("DOCKYARD_TEST_PORT")
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if str(port) != reserved:
            return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {port}")


class PostgresCluster:
    """A throwaway PostgreSQL cluster (Debian's binaries), recipe from shared/INFRA.md."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        self.bin = bins[-1]
        self.root = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
        self.port = free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_root:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )

    def create_database(self, name: str) -> str:
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class RcloneS3:
    """``rclone serve s3``: a real S3-compatible server (SigV4, presigned URLs, multipart)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dockyard-s3-"))
        self.port = free_port()
        self.key, self.secret = "dockyard-test", secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        rclone = shutil.which("rclone") or str(Path(os.sys.executable).with_name("rclone"))  # type: ignore[attr-defined]
        self.process = subprocess.Popen(
            [rclone, "serve", "s3", "--config", "/dev/null", "--addr", f"127.0.0.1:{self.port}",
             "--auth-key", f"{self.key},{self.secret}", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, "rclone serve s3")

    def create_bucket(self, name: str) -> Path:
        """Through the S3 API: rclone caches directory listings, so a folder made behind its back
        would stay invisible for minutes."""
        import boto3

        client = boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.key, aws_secret_access_key=self.secret,
            region_name="us-east-1",
        )  # fmt: skip
        client.create_bucket(Bucket=name)
        return self.root / name

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Backend:
    """How servers started by the tests are configured; ``state_env`` gives each one fresh state."""

    name: str
    api_processes: int = 1
    separate_worker: bool = False
    postgres: PostgresCluster | None = None
    s3: RcloneS3 | None = None
    _count: int = field(default=0)

    def state_env(self, data_dir: Path) -> dict[str, str]:
        """Settings for a new server: a new database and a new bucket when scaled out."""
        env = {"DOCKYARD_DATA_DIR": str(data_dir), "DOCKYARD_JOBS": "external" if self.separate_worker else "inprocess"}
        self._count += 1
        name = f"dockyard_{os.getpid()}_{self._count}"
        if self.postgres is not None:
            env["DOCKYARD_DATABASE_URL"] = self.postgres.create_database(name)
        if self.s3 is not None:
            bucket = name.replace("_", "-")
            self.s3.create_bucket(bucket)
            env.update(
                {
                    "DOCKYARD_STORAGE_URL": f"s3://{bucket}/blobs",
                    "AWS_ENDPOINT_URL": self.s3.endpoint,
                    "AWS_ACCESS_KEY_ID": self.s3.key,
                    "AWS_SECRET_ACCESS_KEY": self.s3.secret,
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            )
        return env

    def blob_root(self, env: dict[str, str], data_dir: Path) -> Path:
        """Where a server's stored blobs are visible as files (rclone keeps plain files on disk)."""
        url = env.get("DOCKYARD_STORAGE_URL")
        if url and url.startswith("s3://") and self.s3 is not None:
            bucket, _, prefix = url[len("s3://") :].partition("/")
            return self.s3.root / bucket / prefix
        return data_dir / "blobs"

    def close(self) -> None:
        if self.s3 is not None:
            self.s3.stop()
        if self.postgres is not None:
            self.postgres.stop()


def make_backend(name: str) -> Backend:
    if name == "embedded":
        return Backend(name="embedded")
    if name == "scaled":
        postgres, s3 = PostgresCluster(), RcloneS3()
        postgres.start()
        s3.start()
        return Backend(name="scaled", api_processes=2, separate_worker=True, postgres=postgres, s3=s3)
    if name == "postgres":  # PostgreSQL and several processes, blobs on local disk
        postgres = PostgresCluster()
        postgres.start()
        return Backend(name="postgres", api_processes=2, separate_worker=True, postgres=postgres)
    raise ValueError(f"unknown DOCKYARD_TEST_BACKEND {name!r}: expected embedded, postgres or scaled")


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
