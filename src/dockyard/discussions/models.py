"""Discussion events: every comment, title or status change and PR commit, in order.

``data`` holds the event's Hub-shaped payload (a comment's ``latest``, ``history``, ``edited``,
``hidden``; a title change's ``from``/``to``; a status; a commit's ``subject``/``oid``), so an
event reads back exactly as the action that created it answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


class DiscussionEvent(Base):
    __tablename__ = "discussion_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(24), unique=True)  # the Hub's 24-hex event id
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(24))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    author: Mapped[Account | None] = relationship(lazy="joined")
