"""A per-process cache of the lookups every request makes (its token, the repo it names, org
roles), valid for one *security epoch*.

Every change that can narrow someone's access (a revoked token, a repo made private, moved or
deleted, a membership or access request changed) bumps the epoch in the database in the same
transaction; each request reads the epoch (one primary-key query) and drops the cache when it
moved. So the cache never serves a decision older than the last committed change, in any of
several API processes, and the hot path (HEAD /resolve) costs one query instead of four.

Cached values are plain column dicts; every request gets fresh detached ORM objects built from
them, so no object is ever shared between threads.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from dockyard.db.database import Database
from dockyard.db.server_state import ServerState

EPOCH_KEY = "security_epoch"
_MAX_ENTRIES = 10_000


def bump_epoch(session: Session) -> None:
    """Call in the transaction of any change that may reduce someone's access."""
    moved = session.execute(update(ServerState).where(ServerState.key == EPOCH_KEY).values(value=_next_value(session)))
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(ServerState(key=EPOCH_KEY, value="1"))
        except IntegrityError:
            session.execute(update(ServerState).where(ServerState.key == EPOCH_KEY).values(value=_next_value(session)))


def _next_value(session: Session) -> str:
    current = session.scalar(select(ServerState.value).where(ServerState.key == EPOCH_KEY))
    return str(int(current or "0") + 1)


_EPOCH_SQL = "SELECT value FROM server_state WHERE key = :key"
_EPOCH_QUERY = text(_EPOCH_SQL)


def read_epoch(session: Session) -> str:
    """Every request runs this: a Core statement on the session's connection, a third of the cost
    of the same query through the ORM."""
    return session.connection().execute(_EPOCH_QUERY, {"key": EPOCH_KEY}).scalar() or "0"


def read_epoch_quick(db: Database, *, wait: bool = True) -> str:
    """The epoch without a session, for HEAD /resolve (see :mod:`dockyard.db.quick_read`)."""
    row = db.quick.first(_EPOCH_SQL, {"key": EPOCH_KEY}, wait=wait)
    return str(row[0]) if row is not None and row[0] is not None else "0"


def columns_of(obj: Any) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {attr.key: getattr(obj, attr.key) for attr in mapper.column_attrs}


def detached(cls: type[Any], columns: dict[str, Any]) -> Any:
    """A fresh detached instance (as if loaded by a closed session) from cached columns.

    Built without the instrumented ``__init__`` (values go straight in as loaded state): four of
    these per request, at a quarter of the constructor's cost."""
    obj = inspect(cls).class_manager.new_instance()
    obj.__dict__.update(columns)
    make_transient_to_detached(obj)
    return obj


class SecurityCache:
    """Entries are stored for one epoch. A lookup that missed reads the epoch (:func:`read_epoch`)
    *before* it reads the values, and stores them with :meth:`put` under that epoch: if the
    epoch moved meanwhile (a revocation committed, another request emptied the cache), the values
    may predate the change and are not stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: str | None = None
        self._entries: dict[tuple[Any, ...], Any] = {}

    def validate(self, session: Session) -> str:
        """Drop everything if the epoch moved since the cache was filled; returns the epoch."""
        return self.validate_epoch(read_epoch(session))

    def validate_epoch(self, epoch: str) -> str:
        """:meth:`validate` with an epoch the caller has just read."""
        with self._lock:
            if epoch != self._epoch:
                self._entries.clear()
                self._epoch = epoch
        return epoch

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: tuple[Any, ...], value: Any, epoch: str) -> bool:
        """Store ``value``, read after ``epoch`` was read, unless the epoch has moved since."""
        with self._lock:
            if epoch != self._epoch:
                return False
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value
            return True

    def discard(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            self._entries.pop(key, None)
