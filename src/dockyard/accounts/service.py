"""Creating and finding accounts, memberships and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dockyard.accounts.models import ORG, USER, AccessToken, Account, Membership
from dockyard.accounts.passwords import hash_password
from dockyard.accounts.tokens import ROLES, generate_token, hash_token, token_hint
from dockyard.db.base import utcnow
from dockyard.errors import AccountNotFoundError, BadRequestError, ConflictError
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


def set_membership(session: Session, org: Account, user: Account, role: str) -> Membership:
    if role not in ORG_ROLES:
        raise BadRequestError(f"Invalid role {role!r}; expected one of {', '.join(ORG_ROLES)}")
    if org.kind != ORG:
        raise BadRequestError(f"{org.name!r} is not an organization")
    membership = session.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id))
    if membership is None:
        membership = Membership(org_id=org.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def memberships_of(session: Session, user: Account) -> list[Membership]:
    return list(session.scalars(select(Membership).where(Membership.user_id == user.id)))


def org_role(session: Session, org_id: int, user_id: int) -> str | None:
    return session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))


def issue_token(
    session: Session, user: Account, *, role: str, display_name: str = "", value: str | None = None
) -> IssuedToken:
    if role not in ROLES:
        raise BadRequestError(f"Invalid token role {role!r}; expected read or write")
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
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, value=value)


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
