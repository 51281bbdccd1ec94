"""The bucket change log behind the live-follow feed: one row per file change, in the database so
every API process streams the same events. The row id is the feed's cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow

ADD, UPDATE, DELETE, RESET = "add", "update", "delete", "reset"


class BucketEvent(Base):
    """``bucket_id`` is not a foreign key: a deleted bucket's last event (``reset``) must outlive it.
    Ids never go back (SQLite AUTOINCREMENT), so a cursor handed out stays meaningful after pruning."""

    __tablename__ = "bucket_events"
    __table_args__ = (Index("ix_bucket_events_bucket_id", "bucket_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(1000), default="")
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    xet_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mtime: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
