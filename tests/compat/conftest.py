"""One live Dockyard server per test worker, shared by the compat tests (they use unique repo ids)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, free_port, make_backend
from tests.support.server import LiveServer, Restart, start_server

MULTIPART_THRESHOLD = 6 * 1024 * 1024
MULTIPART_CHUNK = 4 * 1024 * 1024


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    """Embedded by default; DOCKYARD_TEST_BACKEND=scaled for PostgreSQL + S3 + 2 API processes + a worker."""
    chosen = make_backend(os.environ.get("DOCKYARD_TEST_BACKEND", "embedded"))
    try:
        yield chosen
    finally:
        chosen.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("dockyard-data")
    # Small multipart settings so that a few-MB test file exercises the multipart LFS transfer.
    extra_env = {
        "DOCKYARD_LFS_MULTIPART_THRESHOLD": str(MULTIPART_THRESHOLD),
        "DOCKYARD_LFS_MULTIPART_CHUNK_SIZE": str(MULTIPART_CHUNK),
    }
    live = start_server(data_dir, int(os.environ["DOCKYARD_TEST_PORT"]), extra_env, backend=backend)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="session")
def ids(server: LiveServer) -> Identities:
    return create_identities(server.data_dir, server.env)


@pytest.fixture
def token(ids: Identities, monkeypatch: pytest.MonkeyPatch) -> str:
    """Alice's write token, also exported as HF_TOKEN so library calls without token= use it."""
    monkeypatch.setenv("HF_TOKEN", ids.alice)
    return ids.alice


@pytest.fixture
def api(token: str):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(token=token)


@pytest.fixture
def repo_name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    path = tmp_path / "hf-cache"
    path.mkdir()
    return path


@pytest.fixture
def lfs_transfer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave like a client with HF_HUB_DISABLE_XET=1: large files go through the LFS batch API."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


@pytest.fixture(params=["xet", "lfs"])
def transfer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways large files travel: Xet (a default install) and the LFS batch API (no hf_xet)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", request.param == "lfs")
    return str(request.param)


@pytest.fixture
def crashable(tmp_path: Path, backend: Backend) -> Iterator[tuple[Restart, str]]:
    """``restart(crash_at)`` (re)starts a one-process server on the same data; yields it and alice's token."""
    data_dir = tmp_path / "data"
    port = free_port()
    state = backend.state_env(data_dir)
    running: list[LiveServer] = []

    def restart(crash_at: str | None) -> LiveServer:
        for old in running:
            old.stop()
        extra = {"DOCKYARD_CRASH_AT": crash_at} if crash_at else {}
        running.append(start_server(data_dir, port, extra, backend=backend, processes=1, state_env=state))
        return running[-1]

    first = restart(None)
    token = create_identities(first.data_dir, first.env).alice
    try:
        yield restart, token
    finally:
        for server in running:
            server.stop()
