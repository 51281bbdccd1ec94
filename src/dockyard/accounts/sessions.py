"""Browser sessions: server-side rows, so any API process can check any cookie and a user can
list and revoke their sign-ins."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account, WebSession
from dockyard.accounts.tokens import hash_token
from dockyard.audit.service import record
from dockyard.db.base import utcnow
from dockyard.errors import AccountDisabledError, NotFoundError

SESSION_LIFETIME = timedelta(days=30)
_LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session: WebSession
    cookie_value: str


def open_session(session: Session, user: Account, *, user_agent: str = "", ip: str | None = None) -> OpenedSession:
    """Every way of signing in (password, invitation, password reset, single sign-on) ends here,
    so a disabled account is refused here once for all of them."""
    if user.disabled_at is not None:
        raise AccountDisabledError()
    value = secrets.token_urlsafe(32)
    row = WebSession(
        user_id=user.id,
        token_hash=hash_token(value),
        csrf_secret=secrets.token_urlsafe(32),
        user_agent=user_agent[:300],
        ip=ip,
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    record(session, "session.opened", actor=user.name, target=user.name, details={"session": row.id})
    return OpenedSession(session=row, cookie_value=value)


def find_session(session: Session, cookie_value: str) -> WebSession | None:
    """The live session a cookie names; expired and revoked ones are None."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(cookie_value)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def needs_touch(row: WebSession) -> bool:
    return row.last_seen_at < utcnow() - _LAST_SEEN_RESOLUTION


def touch_session(session: Session, session_id: int) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow()))


def list_sessions(session: Session, user: Account) -> list[WebSession]:
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None), WebSession.expires_at > utcnow())
        .order_by(WebSession.last_seen_at.desc())
    )
    return list(rows)


def revoke_session(session: Session, user: Account, session_id: int) -> None:
    row = session.get(WebSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFoundError(f"{user.name} has no session {session_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(session, "session.revoked", actor=user.name, target=user.name, details={"session": row.id})


def revoke_all_sessions(session: Session, user: Account, *, keep: int | None = None) -> None:
    """Sign out everywhere (after a password change: every session but the current one)."""
    query = update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    session.execute(query.values(revoked_at=utcnow()))
