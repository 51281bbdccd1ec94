"""Periodic jobs: declared next to their bodies (``@job(..., every=...)``), enqueued by whichever
worker notices first; a fresh installation runs each one as soon as its first worker starts.

The last enqueue time lives in the database and is advanced with a compare-and-set, so with
several workers each periodic job is still enqueued once per interval.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.db.server_state import ServerState
from dockyard.jobs.queue import enqueue
from dockyard.jobs.registry import JOBS, JobKind, JobRegistry


def enqueue_due(db: Database, registry: JobRegistry = JOBS) -> list[str]:
    """Enqueue every periodic job whose interval has passed; returns their kinds."""
    started = []
    for item in registry.periodic():
        if _claim(db, item):
            started.append(item.name)
    return started


def _claim(db: Database, item: JobKind) -> bool:
    assert item.every is not None
    key = f"periodic:{item.name}"
    now = utcnow()
    with db.write() as session:
        last = session.scalar(select(ServerState.value).where(ServerState.key == key))
        if last is not None and datetime.fromisoformat(last) > now - item.every:
            return False
        if last is None:
            session.add(ServerState(key=key, value=now.isoformat()))
        else:
            moved = session.execute(
                update(ServerState)
                .where(ServerState.key == key, ServerState.value == last)
                .values(value=now.isoformat())
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
        enqueue(session, item.name, {})
    return True
