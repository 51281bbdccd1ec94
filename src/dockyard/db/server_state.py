"""Server-wide values every process must agree on (the signing keys), kept in the database
so that several API processes and workers share them without extra configuration.

Two keys live here: the current one (signs) and the previous one (still verifies, so URLs and
tokens handed out before a rotation keep working until they expire). ``dockyard secret rotate``
moves the current key to previous and creates a new current one; ``dockyard secret
drop-previous`` retires the old one. Processes read the keys at start-up: restart them after a
rotation.

The embedded SQLite file holds these keys (and token hashes), so it is made readable by its
owner only (0600) before a key is ever written to it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from dockyard.db.base import Base
from dockyard.db.database import Database

SECRET_KEY = "secret_key"
PREVIOUS_SECRET_KEY = "secret_key_previous"
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


class ServerState(Base):
    __tablename__ = "server_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def restrict_sqlite_files(db: Database) -> None:
    """chmod 0600 the SQLite database and its WAL/SHM companions (SQLite creates those with the
    main file's mode, so later ones inherit it). No-op for server databases."""
    path = db.engine.url.database if db.is_sqlite else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    for suffix in _SQLITE_SUFFIXES:
        candidate = Path(path + suffix)
        if candidate.exists():
            os.chmod(candidate, 0o600)


def _read(session: Session, key: str) -> str | None:
    return session.scalar(select(ServerState.value).where(ServerState.key == key))


def get_signing_keys(db: Database) -> list[bytes]:
    """The signing keys, newest first; the first process to ask creates the current one."""
    restrict_sqlite_files(db)
    with db.read() as session:
        current, previous = _read(session, SECRET_KEY), _read(session, PREVIOUS_SECRET_KEY)
    if current is None:
        try:
            with db.write() as session:
                session.add(ServerState(key=SECRET_KEY, value=secrets.token_hex(32)))
        except IntegrityError:
            pass
        with db.read() as session:
            current, previous = _read(session, SECRET_KEY), _read(session, PREVIOUS_SECRET_KEY)
    assert current is not None
    return [bytes.fromhex(current)] + ([bytes.fromhex(previous)] if previous else [])


def rotate_secret(db: Database) -> None:
    """A new current key; the old current key becomes the previous one (and keeps verifying)."""
    get_signing_keys(db)
    with db.write() as session:
        current = session.get_one(ServerState, SECRET_KEY)
        previous = session.get(ServerState, PREVIOUS_SECRET_KEY)
        if previous is None:
            session.add(ServerState(key=PREVIOUS_SECRET_KEY, value=current.value))
        else:
            previous.value = current.value
        current.value = secrets.token_hex(32)


def drop_previous_secret(db: Database) -> bool:
    """Stop accepting the previous key (once what it signed has expired); True if one was kept."""
    with db.write() as session:
        result = session.execute(delete(ServerState).where(ServerState.key == PREVIOUS_SECRET_KEY))
    return bool(getattr(result, "rowcount", 0))
