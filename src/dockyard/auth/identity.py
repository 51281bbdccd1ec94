"""The caller of a request: an account and the token (if any) it authenticated with."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dockyard.accounts import service as accounts
from dockyard.accounts.models import AccessToken, Account, WebSession
from dockyard.accounts.tokens import FINE_GRAINED, READ, WRITE
from dockyard.auth.cache import SecurityCache, detached, read_epoch
from dockyard.auth.scopes import Scope, load_scopes
from dockyard.errors import UnauthorizedError


@dataclass
class Caller:
    """Anonymous when ``user`` is None. ``role`` is the most a token lets its user do; a
    fine-grained token (role ``fineGrained``) is further limited to its ``scopes``."""

    user: Account | None = None
    token: AccessToken | None = None
    role: str | None = None
    scopes: list[Scope] | None = None
    cache: SecurityCache | None = None
    # Set when the caller signed in with a browser session cookie instead of a token: such a
    # caller acts with its user's full rights, like a write token.
    web_session: WebSession | None = None
    _org_roles: dict[int, str | None] = field(default_factory=dict)

    def token_allows(self, level: str, *, repo_type: str, owner: str, full_id: str) -> bool:
        """What the token itself permits, before the user's own rights are considered."""
        if self.user is None:
            return False
        if self.scopes is None:
            return level == "read" or self.role == WRITE
        return any(s.covers(repo_type, owner, full_id) and s.allows(level) for s in self.scopes)

    def token_allows_namespace(self, level: str, namespace: str) -> bool:
        if self.scopes is None:
            return self.user is not None and (level == "read" or self.role == WRITE)
        return any(
            s.entity_type in ("user", "org") and s.name.lower() == namespace.lower() and s.allows(level)
            for s in self.scopes
        )

    @property
    def is_anonymous(self) -> bool:
        return self.user is None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    def org_role(self, session: Session, org_id: int) -> str | None:
        if self.user is None:
            return None
        if org_id not in self._org_roles:
            key = ("org_role", self.user.id, org_id)
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is None:
                epoch = read_epoch(session)  # before the role is read (see SecurityCache.put)
                cached = (accounts.org_role(session, org_id, self.user.id),)
                if self.cache is not None:
                    self.cache.put(key, cached, epoch)
            self._org_roles[org_id] = cached[0]
        return self._org_roles[org_id]


ANONYMOUS_ROLE = None


def token_from_authorization(header: str | None) -> str | None:
    """Bearer tokens (the Hub clients) and Basic ``any-user:token`` (git, git-lfs)."""
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        return credentials or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UnauthorizedError() from None
        _, _, password = decoded.partition(":")
        return password or None
    raise UnauthorizedError()


def caller_from_columns(
    token_columns: dict[str, object], user_columns: dict[str, object], *, cache: SecurityCache | None
) -> Caller:
    """A caller rebuilt from cached rows: fresh detached objects, never shared between requests."""
    token = detached(AccessToken, token_columns)
    user = detached(Account, user_columns)
    set_committed_value(token, "user", user)
    if token.role == FINE_GRAINED:
        return Caller(user=user, token=token, role=FINE_GRAINED, scopes=load_scopes(token.scopes), cache=cache)
    return Caller(user=user, token=token, role=WRITE if token.role == WRITE else READ, cache=cache)


def caller_for_token_id(session: Session, token_id: int | None) -> Caller:
    """The caller a signed callback (the git pre-receive hook) acts for: the token the push was
    authenticated with, if it is still valid now; anonymous otherwise."""
    token = session.get(AccessToken, token_id) if token_id is not None else None
    if token is None or token.revoked_at is not None:
        return Caller()
    if token.role == FINE_GRAINED:
        return Caller(user=token.user, token=token, role=FINE_GRAINED, scopes=load_scopes(token.scopes))
    return Caller(user=token.user, token=token, role=WRITE if token.role == WRITE else READ)


def authenticate(session: Session, token_value: str | None) -> Caller:
    """Resolve a token to a caller; an unknown or revoked token is a 401, never anonymous."""
    if token_value is None:
        return Caller()
    token = accounts.find_token(session, token_value)
    if token is None:
        raise UnauthorizedError()
    if token.role == FINE_GRAINED:
        return Caller(user=token.user, token=token, role=FINE_GRAINED, scopes=load_scopes(token.scopes))
    role = WRITE if token.role == WRITE else READ
    return Caller(user=token.user, token=token, role=role)
