"""Engine and unit-of-work helpers.

Reads and writes use different transaction modes on SQLite: a write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing half-way through with
"database is locked" when a read transaction tries to upgrade. PostgreSQL needs none of this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from dockyard.db.quick_read import QuickReader

_WRITE_OPTION = "dockyard_write"
_SNAPSHOT_OPTION = "dockyard_snapshot"


class Database:
    """Owns the engine; hands out sessions for reading and for writing."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = _make_engine(url, echo=echo)
        # Read sessions never write: no autoflush, so touching a loaded object cannot start a write.
        self._read = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False)
        self._snapshot = sessionmaker(
            self.engine.execution_options(**{_SNAPSHOT_OPTION: True}), expire_on_commit=False, autoflush=False
        )
        self.quick = QuickReader(self.engine)  # one-row reads of the hot path, without a session

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; closing it ends the transaction without expiring what was loaded."""
        with self._read() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read session whose queries all see one consistent state (backups, exports)."""
        with self._snapshot() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: commits when the block succeeds, rolls back on any exception."""
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.quick.close()
        self.engine.dispose()


def _make_engine(url: str, *, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        # As many connections as the server's thread pool has threads, so requests never queue for one.
        engine = create_engine(
            url, echo=echo, pool_size=20, max_overflow=30, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # WAL + FULL: an acknowledged commit survives power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(_WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get(_SNAPSHOT_OPTION, False):
            connection.exec_driver_sql("BEGIN")
        # Plain reads run each statement on its own (autocommit): in WAL mode a lone SELECT sees
        # the latest commit, like READ COMMITTED on PostgreSQL, without a BEGIN/ROLLBACK round trip.
