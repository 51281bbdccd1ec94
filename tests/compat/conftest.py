"""The compat tests' fixtures, over the live server every worker shares (tests/support/live_fixtures.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, free_port
from tests.support.live_fixtures import MULTIPART_CHUNK, MULTIPART_THRESHOLD  # noqa: F401 - used by tests
from tests.support.server import LiveServer, Restart, start_server


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
