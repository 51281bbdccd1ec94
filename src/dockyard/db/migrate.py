"""Alembic, driven from code: the same migrations on SQLite and PostgreSQL.

Several processes may start at once (API processes, workers, admin commands); the upgrade runs
under a lock so only one of them migrates and the others find the schema ready.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_ID = 0x646F636B  # "dock"


def alembic_config(database_url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with _file_lock(Path(url.database or "dockyard").with_suffix(".migrate-lock")):
            command.upgrade(alembic_config(database_url), revision)
        return
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PG_LOCK_ID})
            connection.commit()
            try:
                command.upgrade(alembic_config(database_url, connection), revision)
                connection.commit()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_LOCK_ID})
                connection.commit()
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def import_all_models() -> None:
    """Every module that declares tables, so Base.metadata is complete."""
    import dockyard.accounts.models
    import dockyard.accounts.self_service_models
    import dockyard.audit.models
    import dockyard.auth.models
    import dockyard.buckets.event_models
    import dockyard.buckets.models
    import dockyard.collections.models
    import dockyard.db.server_state
    import dockyard.discussions.models
    import dockyard.gating.models
    import dockyard.jobs.models
    import dockyard.lfs.models
    import dockyard.oauth.models
    import dockyard.quotas.models
    import dockyard.repos.intents
    import dockyard.repos.models
    import dockyard.scanning.models
    import dockyard.search.models
    import dockyard.viewer.models
    import dockyard.webhooks.models
    import dockyard.xet.models  # noqa: F401
