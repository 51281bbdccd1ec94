"""Small reads for the hottest paths (HEAD /resolve, repo info), without a pooled session per request.

Checking a connection out of SQLAlchemy's pool and returning it (with its reset-on-return
rollback) costs ~50 µs; the query itself ~4 µs on SQLite. On SQLite each thread therefore keeps
its own plain ``sqlite3`` connection, in autocommit mode and ``query_only``: every statement is
its own read transaction and sees the latest committed state of the file, written by any process.
Other databases (a network round trip per query anyway) go through the engine's pool.

A caller on the event loop passes ``wait=False``: its connection has no busy timeout, and a
database that is locked at that instant (a WAL reader is almost never blocked: only while a crashed
writer's log is recovered) raises :class:`~dockyard.errors.WouldBlockError` instead of waiting.

Only plain, portable SQL with ``:name`` parameters goes through here.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, text

from dockyard.errors import WouldBlockError

_BUSY_TIMEOUT_MS = 30_000


class QuickReader:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._path = _sqlite_file(engine)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []

    @property
    def local(self) -> bool:
        """Whether reads go to a local SQLite file (microseconds, no network round trip)."""
        return self._path is not None

    def first(self, sql: str, params: dict[str, Any], *, wait: bool = True) -> tuple[Any, ...] | None:
        """The first row of ``sql`` (a tuple), or None."""
        if self._path is None:
            if not wait:
                raise WouldBlockError("a network database")
            with self._engine.connect() as connection:
                row = connection.execute(text(sql), params).first()
            return tuple(row) if row is not None else None
        result: tuple[Any, ...] | None = self._execute(sql, params, wait).fetchone()
        return result

    def all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of ``sql`` (tuples): a few rows at most, such as one repo's tags."""
        if self._path is None:
            with self._engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), params)]
        return list(self._execute(sql, params, wait=True).fetchall())

    def _execute(self, sql: str, params: dict[str, Any], wait: bool) -> sqlite3.Cursor:
        if wait:
            return self._connection("waiting", _BUSY_TIMEOUT_MS).execute(sql, params)
        try:
            return self._connection("not_waiting", 0).execute(sql, params)
        except sqlite3.OperationalError as error:  # SQLITE_BUSY / SQLITE_LOCKED at this instant
            raise WouldBlockError(str(error)) from error

    def _connection(self, slot: str, busy_timeout_ms: int) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, slot, None)
        if connection is None:
            assert self._path is not None
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            connection.execute("PRAGMA query_only=1")  # a read path: it can never write
            with self._lock:
                self._opened.append(connection)
            setattr(self._local, slot, connection)
        return connection

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()


def _sqlite_file(engine: Engine) -> str | None:
    """The database file when the engine is SQLite on a file (an in-memory database is private to
    each connection, so it must go through the pool)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return url.database
