"""Tables for what people do for themselves in the browser: invite links, password-reset links and
uploaded avatars. Links are stored only as the sha256 of their secret, like access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


class Invite(Base):
    """A link that lets its holder join the site (``org_id`` None) or an organisation with ``role``."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=True)
    role: Mapped[str] = mapped_column(String(16), default="read")
    created_by: Mapped[str | None] = mapped_column(String(96), nullable=True)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    org: Mapped[Account | None] = relationship(lazy="joined")


class PasswordReset(Base):
    """A one-time link an admin hands to a user who forgot their password (no mail when air-gapped)."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[Account] = relationship(lazy="joined")


class Avatar(Base):
    """An uploaded profile picture, kept in the database so every API process can serve it."""

    __tablename__ = "avatars"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
