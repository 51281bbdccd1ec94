"""Alembic, driven from code: the same migrations on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def import_all_models() -> None:
    """Every module that declares tables, so Base.metadata is complete."""
    import dockyard.accounts.models
    import dockyard.audit.models
    import dockyard.auth.models
    import dockyard.db.server_state
    import dockyard.gating.models
    import dockyard.jobs.models
    import dockyard.lfs.models
    import dockyard.repos.models
    import dockyard.xet.models  # noqa: F401
