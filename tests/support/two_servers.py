"""Two API processes on one database and one blob store: caches must obey what the other wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, free_port
from tests.support.server import LiveServer, start_server


@dataclass
class Pair:
    writer: LiveServer  # changes go through this one
    reader: LiveServer  # and are read back from this one
    ids: Identities


@contextmanager
def two_servers(data_dir: Path, backend: Backend) -> Iterator[Pair]:
    """Both processes started (one worker each) on ``data_dir``'s state; stopped on exit."""
    state = backend.state_env(data_dir)
    first = start_server(data_dir, free_port(), backend=backend, processes=1, state_env=state)
    second = None
    try:
        ids = create_identities(first.data_dir, first.env)
        second = start_server(data_dir, free_port(), backend=backend, processes=1, state_env=state)
        yield Pair(writer=first, reader=second, ids=ids)
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()
