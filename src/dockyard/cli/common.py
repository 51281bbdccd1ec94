"""Options every command shares, and building the Hub for a command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dockyard.app import build_hub
from dockyard.db.migrate import upgrade
from dockyard.hub import Hub
from dockyard.settings import Settings

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $DOCKYARD_DATA_DIR or ./data)."),
]


def load_settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        os.environ["DOCKYARD_DATA_DIR"] = str(data_dir)
    return Settings()


def open_hub(data_dir: Path | None, *, migrate: bool = True) -> Hub:
    """Settings from the environment (and --data-dir), migrated database, wired services."""
    settings = load_settings(data_dir)
    settings.resolved_data_dir().mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.resolved_database_url())
    return build_hub(settings)
