"""Functional tests: domain services and the HTTP app in-process, on a real SQLite file and disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.app import build_hub
from dockyard.db.migrate import upgrade
from dockyard.hub import Hub
from dockyard.settings import Settings


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    settings = Settings(data_dir=tmp_path / "data")
    settings.resolved_data_dir().mkdir(parents=True)
    upgrade(settings.resolved_database_url())
    built = build_hub(settings)
    try:
        yield built
    finally:
        built.db.dispose()
