"""Periodic jobs: declared next to their bodies, enqueued by whichever worker notices first.

The last enqueue time lives in the database and is advanced with a compare-and-set, so with
several workers each periodic job is still enqueued once per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.db.server_state import ServerState
from dockyard.jobs.queue import enqueue


@dataclass(frozen=True, slots=True)
class Periodic:
    kind: str
    every: timedelta


_PERIODIC: dict[str, Periodic] = {}


def periodic(kind: str, *, every: timedelta) -> None:
    """Run job ``kind`` (with an empty payload) every ``every``."""
    _PERIODIC[kind] = Periodic(kind=kind, every=every)


def enqueue_due(db: Database) -> list[str]:
    started = []
    for item in _PERIODIC.values():
        if _claim(db, item):
            started.append(item.kind)
    return started


def _claim(db: Database, item: Periodic) -> bool:
    key = f"periodic:{item.kind}"
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
        enqueue(session, item.kind, {})
    return True
