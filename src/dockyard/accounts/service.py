"""Creating and finding accounts, memberships and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dockyard.accounts.models import ORG, USER, AccessToken, Account, Membership, WebSession
from dockyard.accounts.passwords import hash_password
from dockyard.accounts.tokens import FINE_GRAINED, ROLES, generate_token, hash_token, token_hint
from dockyard.audit.service import record
from dockyard.auth.cache import bump_epoch
from dockyard.auth.scopes import Scope, dump_scopes
from dockyard.db.base import utcnow
from dockyard.errors import AccountDisabledError, AccountNotFoundError, BadRequestError, ConflictError, NotFoundError
from dockyard.identifiers import validate_account_name

ORG_ROLES = ("read", "write", "admin")
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: AccessToken
    value: str


def find_account(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name_lower == name.lower()))


def get_account(session: Session, name: str) -> Account:
    account = find_account(session, name)
    if account is None:
        raise AccountNotFoundError(f"No user or organization named {name!r}")
    return account


def get_user(session: Session, name: str) -> Account:
    account = get_account(session, name)
    if account.kind != USER:
        raise AccountNotFoundError(f"{name!r} is an organization, not a user")
    return account


def _create_account(session: Session, *, name: str, kind: str, fullname: str | None) -> Account:
    validate_account_name(name)
    if find_account(session, name) is not None:
        raise ConflictError(f"The name {name!r} is already taken")
    account = Account(name=name, name_lower=name.lower(), kind=kind, fullname=fullname or name)
    session.add(account)
    session.flush()
    return account


def create_user(
    session: Session,
    name: str,
    *,
    fullname: str | None = None,
    email: str | None = None,
    password: str | None = None,
    is_admin: bool = False,
) -> Account:
    user = _create_account(session, name=name, kind=USER, fullname=fullname)
    user.email = email
    user.is_admin = is_admin
    user.password_hash = hash_password(password) if password else None
    return user


def create_org(session: Session, name: str, *, owner: Account, fullname: str | None = None) -> Account:
    org = _create_account(session, name=name, kind=ORG, fullname=fullname)
    session.add(Membership(org_id=org.id, user_id=owner.id, role="admin"))
    return org


def set_default_visibility(session: Session, org: Account, *, private: bool, actor: str | None = None) -> None:
    """The visibility an organisation's new repos get when ``create_repo`` omits ``private``."""
    if org.kind != ORG:
        raise BadRequestError(f"{org.name!r} is not an organization")
    if org.default_repo_private != private:
        details = {"private": private}
        record(session, "org.default_visibility_changed", actor=actor, target=org.name, details=details)
    org.default_repo_private = private
    session.flush()


def set_membership(session: Session, org: Account, user: Account, role: str, *, actor: str | None = None) -> Membership:
    if role not in ORG_ROLES:
        raise BadRequestError(f"Invalid role {role!r}; expected one of {', '.join(ORG_ROLES)}")
    if org.kind != ORG:
        raise BadRequestError(f"{org.name!r} is not an organization")
    membership = session.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id))
    bump_epoch(session)
    if membership is None:
        membership = Membership(org_id=org.id, user_id=user.id, role=role)
        session.add(membership)
        record(session, "member.added", actor=actor, target=org.name, details={"user": user.name, "role": role})
    elif membership.role != role:
        details = {"user": user.name, "from": membership.role, "to": role}
        record(session, "member.role_changed", actor=actor, target=org.name, details=details)
        membership.role = role
    session.flush()
    return membership


def remove_membership(session: Session, org: Account, user: Account, *, actor: str | None = None) -> None:
    membership = session.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id))
    if membership is None:
        raise NotFoundError(f"{user.name} is not a member of {org.name}")
    admins = session.scalars(select(Membership).where(Membership.org_id == org.id, Membership.role == "admin")).all()
    if membership.role == "admin" and len(admins) == 1:
        raise BadRequestError(f"{user.name} is the last admin of {org.name}")
    session.delete(membership)
    bump_epoch(session)
    record(session, "member.removed", actor=actor, target=org.name, details={"user": user.name})


def memberships_of(session: Session, user: Account) -> list[Membership]:
    return list(session.scalars(select(Membership).where(Membership.user_id == user.id)))


def org_role(session: Session, org_id: int, user_id: int) -> str | None:
    return session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))


def issue_token(
    session: Session,
    user: Account,
    *,
    role: str,
    display_name: str = "",
    value: str | None = None,
    scopes: list[Scope] | None = None,
) -> IssuedToken:
    if user.disabled_at is not None:
        raise AccountDisabledError()
    if role not in (*ROLES, FINE_GRAINED):
        raise BadRequestError(f"Invalid token role {role!r}; expected read, write or fineGrained")
    if (role == FINE_GRAINED) != bool(scopes):
        raise BadRequestError("A fineGrained token needs at least one scope, and only it takes scopes")
    if value is not None and len(value) < 16:
        raise BadRequestError("An imported token must be at least 16 characters long")
    value = value or generate_token()
    digest = hash_token(value)
    if session.scalar(select(AccessToken.id).where(AccessToken.token_hash == digest)) is not None:
        raise ConflictError("This token value is already registered")
    token = AccessToken(
        user_id=user.id,
        role=role,
        display_name=display_name or f"{role} token",
        token_hash=digest,
        token_hint=token_hint(value),
        scopes=dump_scopes(scopes) if scopes else None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        "token.created",
        actor=user.name,
        target=token.display_name,
        token_id=token.id,
        details={"role": role, "scopes": [f"{s.entity_type}:{s.name}:{s.level}" for s in scopes or []]},
    )
    return IssuedToken(token=token, value=value)


def list_tokens(session: Session, user: Account) -> list[AccessToken]:
    return list(session.scalars(select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id)))


def revoke_token(session: Session, user: Account, token_id: int) -> AccessToken:
    token = session.get(AccessToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFoundError(f"{user.name} has no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        bump_epoch(session)
        record(session, "token.revoked", actor=user.name, target=token.display_name, token_id=token.id)
    return token


def disable_user(session: Session, user: Account, *, actor: str | None = None) -> None:
    """Offboard a user at once, on every API process: every token revoked, every browser session
    ended, sign-in and new tokens refused until :func:`enable_user`. Repos, memberships and
    history stay (an organisation's admins decide what to do with them)."""
    if user.kind != USER:
        raise BadRequestError(f"{user.name} is an organisation, not a user")
    now = utcnow()
    user.disabled_at = user.disabled_at or now
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None)).values(revoked_at=now)
    )
    bump_epoch(session)  # cached callers and grants of those tokens die with the epoch
    record(session, "user.disabled", actor=actor, target=user.name)


def enable_user(session: Session, user: Account, *, actor: str | None = None) -> None:
    """Let a disabled user sign in again; the revoked tokens stay revoked (new ones are needed)."""
    if user.disabled_at is not None:
        user.disabled_at = None
        record(session, "user.enabled", actor=actor, target=user.name)


def needs_touch(token: AccessToken) -> bool:
    return touch_due(token.last_used_at)


def touch_due(last_used_at: datetime | None) -> bool:
    """Whether a token last used at ``last_used_at`` should have that time written again."""
    return last_used_at is None or last_used_at < utcnow() - _LAST_USED_RESOLUTION


def find_token(session: Session, value: str) -> AccessToken | None:
    token = session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(value)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def touch_token(session: Session, token_id: int) -> None:
    """Record use, at most once a minute per token, so hot paths don't write on every request."""
    now = utcnow()
    session.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id)
        .where((AccessToken.last_used_at.is_(None)) | (AccessToken.last_used_at < now - _LAST_USED_RESOLUTION))
        .values(last_used_at=now)
    )
