"""The live server every test worker shares: the compat suite and the web pages drive the same
server (one per worker, on the port the root conftest chose for HF_ENDPOINT). Tests use unique
repo ids, so they don't interfere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, make_backend
from tests.support.server import LiveServer, start_server

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
