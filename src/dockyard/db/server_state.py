"""Server-wide values every process must agree on (the signing secret), kept in the database
so that several API processes and workers share them without extra configuration."""

from __future__ import annotations

import secrets

from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base
from dockyard.db.database import Database

SECRET_KEY = "secret_key"


class ServerState(Base):
    __tablename__ = "server_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def get_or_create_secret(db: Database) -> bytes:
    """The signing secret; the first process to ask creates it, the others read the same value."""
    with db.read() as session:
        value = session.scalar(select(ServerState.value).where(ServerState.key == SECRET_KEY))
    if value is None:
        try:
            with db.write() as session:
                session.add(ServerState(key=SECRET_KEY, value=secrets.token_hex(32)))
        except IntegrityError:
            pass
        with db.read() as session:
            value = session.scalar(select(ServerState.value).where(ServerState.key == SECRET_KEY))
    assert value is not None
    return bytes.fromhex(value)
