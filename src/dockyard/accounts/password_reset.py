"""Password-reset links made by an admin on the command line (an air-gapped site sends no mail):
one use, one hour, stored as the sha256 of their secret."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dockyard.accounts import sessions
from dockyard.accounts.models import USER, Account
from dockyard.accounts.passwords import hash_password
from dockyard.accounts.self_service_models import PasswordReset
from dockyard.accounts.signup import check_password
from dockyard.accounts.tokens import hash_token
from dockyard.audit.service import record
from dockyard.db.base import utcnow
from dockyard.errors import BadRequestError, NotFoundError

RESET_LIFETIME = timedelta(hours=1)


def create_reset(session: Session, user: Account, *, actor: str | None = None) -> str:
    """A fresh reset secret for ``user`` (earlier unused links stop working)."""
    if user.kind != USER:
        raise BadRequestError(f"{user.name!r} is an organization, not a user")
    now = utcnow()
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=hash_token(secret), expires_at=now + RESET_LIFETIME))
    session.flush()
    record(session, "password.reset_link_created", actor=actor, target=user.name)
    return secret


def find_reset(session: Session, secret: str) -> PasswordReset | None:
    """The live reset a link names: unused and not expired."""
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(secret)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def reset_password(session: Session, secret: str, new_password: str, confirm: str) -> Account:
    """Set the new password, spend the link and sign the user out everywhere."""
    row = find_reset(session, secret)
    if row is None:
        raise NotFoundError("This reset link has expired or was already used")
    check_password(new_password, confirm)
    row.used_at = utcnow()
    user = row.user
    user.password_hash = hash_password(new_password)
    sessions.revoke_all_sessions(session, user)
    record(session, "password.reset", actor=user.name, target=user.name)
    return user
