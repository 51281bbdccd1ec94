"""Slowing down credential guessing: after too many failed token checks from one client within a
window, that client gets 429 (with Retry-After) for the rest of the window, whatever it sends.

The counters live in the database so every API process enforces the same limit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from dockyard.auth.models import AuthFailure
from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.errors import RateLimitedError

WINDOW = timedelta(minutes=5)
MAX_FAILURES = 30


def check(db: Database, client: str | None) -> None:
    """Refuse a client that is over the limit (one primary-key read)."""
    if client is None:
        return
    with db.read() as session:
        row = session.get(AuthFailure, client)
        if row is None or row.count < MAX_FAILURES:
            return
        remaining = row.window_start + WINDOW - utcnow()
    if remaining.total_seconds() > 0:
        retry = str(int(remaining.total_seconds()) + 1)
        raise RateLimitedError(
            "Too many failed authentication attempts; retry later",
            headers={"Retry-After": retry, "RateLimit": f'"auth";r=0;t={retry}'},
        )


def note_failure(db: Database, client: str | None) -> None:
    if client is None:
        return
    now = utcnow()
    with db.write() as session:
        row = session.get(AuthFailure, client)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(AuthFailure(client=client, window_start=now, count=1))
                return
            except IntegrityError:
                row = session.get_one(AuthFailure, client)
        if row.window_start + WINDOW < now:
            row.window_start, row.count = now, 1
        else:
            session.execute(update(AuthFailure).where(AuthFailure.client == client).values(count=AuthFailure.count + 1))
