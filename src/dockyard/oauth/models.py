"""OAuth apps and what they are handed: authorization codes and access tokens.

Client secrets, codes and access tokens are long random values, stored only as sha256 digests
(like API tokens): a copy of the database lets no one act as an app or a user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


class OAuthApp(Base):
    """An app that offers "Sign in with Dockyard", owned by a user or an organisation.

    Public apps (no secret: single-page or native apps) must use PKCE; confidential ones
    authenticate at the token endpoint with their secret."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    redirect_uris: Mapped[str] = mapped_column(Text)  # one per line, matched exactly
    homepage: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(96), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[Account] = relationship(lazy="joined")

    @property
    def confidential(self) -> bool:
        return self.secret_hash is not None

    @property
    def redirect_uri_list(self) -> list[str]:
        return [line for line in self.redirect_uris.splitlines() if line]


class OAuthCode(Base):
    """An authorization code: single use, short-lived, bound to the app, the redirect URI and
    (with PKCE) the client's code challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[Account] = relationship(lazy="joined")


class OAuthToken(Base):
    """An access token handed to an app: it reads the user's profile at /oauth/userinfo."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_codes.id", ondelete="SET NULL"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[Account] = relationship(lazy="joined")
