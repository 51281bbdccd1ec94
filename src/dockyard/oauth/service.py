"""OAuth apps and the authorization-code flow (RFC 6749 + PKCE RFC 7636 + OpenID Connect Core).

Rules kept here, not in the pages:
- a redirect URI must match one registered for the app: exactly, or, when the registered URI
  has no query, the same scheme, host, port and path with a query added, as
  ``huggingface_hub``'s ``attach_huggingface_oauth`` sends (``.../callback?_target_url=...``);
  that query may not pre-set the parameters this server answers with (``code``, ``state``...).
  The browser is never sent anywhere else, so an app cannot be used as an open redirect;
- public apps (no secret) must use PKCE S256; confidential apps may;
- a code is used once, within ten minutes; a second use revokes what the first one got;
- an access token reads the user's profile at /oauth/userinfo, and nothing else: it is not an
  API token (an app that needs the hub API asks the user for an access token).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.audit.service import record
from dockyard.db.base import utcnow
from dockyard.errors import BadRequestError, NotFoundError
from dockyard.oauth.models import OAuthApp, OAuthCode, OAuthToken
from dockyard.oauth.tokens import digest, new_secret, pkce_matches

SCOPES = ("openid", "profile", "email")
SCOPE_DESCRIPTIONS = {
    "openid": "Know who you are (your user id)",
    "profile": "Read your username, full name and profile picture",
    "email": "Read your email address",
}
CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME = timedelta(hours=8)
MAX_REDIRECT_URIS = 10
# The parameters this server adds to the redirect: a client-chosen query may not pre-set them.
_RESPONSE_PARAMS = frozenset({"code", "state", "error", "error_description", "iss"})
_FORBIDDEN_IN_URI = frozenset(" \t\r\n\"'<>;,\\`")


class OAuthError(Exception):
    """An RFC 6749 error: ``error`` is the protocol code (``invalid_grant``...)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class CodeReplayedError(OAuthError):
    def __init__(self, code_id: int) -> None:
        super().__init__("invalid_grant", "The code was already used")
        self.code_id = code_id


@dataclass(frozen=True, slots=True)
class CreatedApp:
    app: OAuthApp
    secret: str | None  # shown once, for confidential apps


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked /oauth/authorize request; ``redirect_uri`` is safe to send the browser to."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


@dataclass(frozen=True, slots=True)
class Grant:
    access_token: str
    scope: str
    user: Account
    nonce: str | None
    expires_in: int


# -- apps ------------------------------------------------------------------------------------------


def check_redirect_uri(uri: str) -> str:
    """A registrable redirect URI: absolute http(s), no fragment, no characters that could break
    out of a header or a CSP source list."""
    uri = uri.strip()
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment or "#" in uri:
        raise BadRequestError(f"Redirect URI must be an absolute http(s) URL without a fragment: {uri[:200]!r}")
    if parts.username is not None or parts.password is not None:
        raise BadRequestError(f"Redirect URI must not carry a user name or password: {uri[:200]!r}")
    if any(ch in _FORBIDDEN_IN_URI for ch in uri) or len(uri) > 1000:
        raise BadRequestError(f"Redirect URI has characters that are not allowed: {uri[:200]!r}")
    return uri


def create_app(
    session: Session,
    owner: Account,
    actor: Account,
    *,
    name: str,
    redirect_uris: list[str],
    homepage: str = "",
    confidential: bool = True,
) -> CreatedApp:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise BadRequestError("An app needs a name of 1 to 100 characters")
    uris = list(dict.fromkeys(check_redirect_uri(u) for u in redirect_uris if u.strip()))
    if not uris or len(uris) > MAX_REDIRECT_URIS:
        raise BadRequestError(f"An app needs 1 to {MAX_REDIRECT_URIS} redirect URIs")
    homepage = homepage.strip()
    if homepage and urlsplit(homepage).scheme not in ("http", "https"):
        raise BadRequestError("The homepage must be an http(s) URL")
    secret = new_secret("dyos_") if confidential else None
    app = OAuthApp(
        owner_id=owner.id,
        name=name,
        client_id=secrets.token_hex(16),
        secret_hash=digest(secret) if secret else None,
        redirect_uris="\n".join(uris),
        homepage=homepage[:500],
        created_by=actor.name,
    )
    session.add(app)
    session.flush()
    session.refresh(app)
    record(session, "oauth.app_created", actor=actor.name, target=owner.name, details={"client_id": app.client_id})
    return CreatedApp(app=app, secret=secret)


def managed_owner(session: Session, actor: Account, owner_name: str) -> Account:
    """The account whose apps ``actor`` may see and change: themselves, or an organisation they
    administer. Anything else is "not found", so the page does not tell which orgs exist."""
    owner = accounts.find_account(session, owner_name)
    if owner is None:
        raise NotFoundError(f"No account {owner_name}")
    if owner.id == actor.id:
        return owner
    if owner.is_org and accounts.org_role(session, owner.id, actor.id) == "admin":
        return owner
    raise NotFoundError(f"No account {owner_name}")


def admin_orgs(session: Session, user: Account) -> list[Account]:
    return [m.org for m in accounts.memberships_of(session, user) if m.role == "admin"]


def apps_of(session: Session, owner: Account) -> list[OAuthApp]:
    return list(session.scalars(select(OAuthApp).where(OAuthApp.owner_id == owner.id).order_by(OAuthApp.id)))


def find_app(session: Session, client_id: str) -> OAuthApp | None:
    return session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id)) if client_id else None


def delete_app(session: Session, actor: Account, client_id: str) -> OAuthApp:
    app = find_app(session, client_id)
    if app is None:
        raise NotFoundError("No such app")
    managed_owner(session, actor, app.owner.name)  # NotFound for apps of others
    session.delete(app)
    record(session, "oauth.app_deleted", actor=actor.name, target=app.owner.name, details={"client_id": client_id})
    return app


# -- authorization ----------------------------------------------------------------------------------


def redirect_allowed(app: OAuthApp, uri: str) -> bool:
    if not uri or "#" in uri:
        return False
    for registered in app.redirect_uri_list:
        if uri == registered:
            return True
        reg = urlsplit(registered)
        got = urlsplit(uri)
        same_target = (got.scheme, got.netloc, got.path) == (reg.scheme, reg.netloc, reg.path)
        if not reg.query and same_target and not got.fragment and not _RESPONSE_PARAMS & _keys(got.query):
            return True
    return False


def _keys(query: str) -> set[str]:
    return {name for name, _ in parse_qsl(query, keep_blank_values=True)}


def check_client(session: Session, client_id: str, redirect_uri: str) -> OAuthApp:
    """The first checks, whose failure must NOT redirect (the URI is not trusted yet)."""
    app = find_app(session, client_id)
    if app is None:
        raise OAuthError("invalid_client", "Unknown client_id: this app is not registered here")
    if not redirect_allowed(app, redirect_uri):
        raise OAuthError("invalid_request", "The redirect_uri is not one registered for this app")
    return app


def check_authorization(session: Session, params: dict[str, str]) -> AuthorizationRequest:
    """Check an authorize request. Errors raised after :func:`check_client` succeeded may be
    sent back to the app's redirect URI (``redirectable``)."""
    app = check_client(session, params.get("client_id", ""), params.get("redirect_uri", ""))
    if params.get("response_type") != "code":
        raise RedirectableError(app, params, "unsupported_response_type", "Only response_type=code is supported")
    scopes = tuple(dict.fromkeys(params.get("scope", "openid").split()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise RedirectableError(app, params, "invalid_scope", f"Unsupported scope: {' '.join(unknown)[:100]}")
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or ("plain" if challenge else None)
    if challenge is not None and (method != "S256" or not 43 <= len(challenge) <= 128):
        raise RedirectableError(app, params, "invalid_request", "PKCE needs code_challenge_method=S256")
    if challenge is None and not app.confidential:
        raise RedirectableError(app, params, "invalid_request", "Public clients must use PKCE (S256)")
    return AuthorizationRequest(
        app=app,
        redirect_uri=params["redirect_uri"],
        scopes=scopes,
        state=params.get("state") or None,
        nonce=(params.get("nonce") or None),
        code_challenge=challenge,
    )


class RedirectableError(OAuthError):
    def __init__(self, app: OAuthApp, params: dict[str, str], error: str, description: str) -> None:
        super().__init__(error, description)
        self.redirect_uri = params.get("redirect_uri", "")
        self.state = params.get("state") or None


def issue_code(session: Session, request: AuthorizationRequest, user: Account) -> str:
    code = new_secret("dyoc_")
    session.add(
        OAuthCode(
            code_hash=digest(code),
            app_id=request.app.id,
            user_id=user.id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            nonce=request.nonce[:255] if request.nonce else None,
            code_challenge=request.code_challenge,
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    record(session, "oauth.authorized", actor=user.name, target=user.name, details={"client_id": request.app.client_id})
    return code


# -- token endpoint ---------------------------------------------------------------------------------


def authenticate_client(session: Session, client_id: str, secret: str | None) -> OAuthApp:
    """The app calling the token endpoint: confidential apps prove it with their secret."""
    app = find_app(session, client_id)
    if app is None:
        raise OAuthError("invalid_client", "Client authentication failed", status=401)
    if app.secret_hash is not None:
        if not secret or not secrets.compare_digest(digest(secret), app.secret_hash):
            raise OAuthError("invalid_client", "Client authentication failed", status=401)
    elif secret:
        raise OAuthError("invalid_client", "This app is public: it has no secret", status=401)
    return app


def exchange_code(session: Session, app: OAuthApp, code: str, redirect_uri: str, verifier: str | None) -> Grant:
    row = session.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code))) if code else None
    if row is None or row.app_id != app.id:
        raise OAuthError("invalid_grant", "The code is unknown, or was issued to another app")
    if row.used_at is not None:
        raise CodeReplayedError(row.id)
    if row.expires_at <= utcnow():
        raise OAuthError("invalid_grant", "The code has expired")
    if redirect_uri != row.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if row.code_challenge is not None and not pkce_matches(verifier or "", row.code_challenge):
        raise OAuthError("invalid_grant", "The PKCE code_verifier does not match")
    if row.code_challenge is None and verifier:
        raise OAuthError("invalid_grant", "No code_challenge was sent with the authorization request")
    claimed = session.execute(
        update(OAuthCode).where(OAuthCode.id == row.id, OAuthCode.used_at.is_(None)).values(used_at=utcnow())
    )
    if not getattr(claimed, "rowcount", 0):  # a concurrent exchange won
        raise CodeReplayedError(row.id)
    value = new_secret("dyoa_")
    session.add(
        OAuthToken(
            token_hash=digest(value),
            app_id=app.id,
            code_id=row.id,
            user_id=row.user_id,
            scope=row.scope,
            expires_at=utcnow() + ACCESS_TOKEN_LIFETIME,
        )
    )
    lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds())
    return Grant(access_token=value, scope=row.scope, user=row.user, nonce=row.nonce, expires_in=lifetime)


def revoke_tokens_of_code(session: Session, code_id: int) -> None:
    """RFC 6749 §4.1.2: a replayed code revokes the tokens it produced (the code leaked). Called
    in its own transaction, since the exchange that noticed the replay fails and rolls back."""
    live = OAuthToken.revoked_at.is_(None)
    session.execute(update(OAuthToken).where(OAuthToken.code_id == code_id, live).values(revoked_at=utcnow()))


def token_owner(session: Session, value: str) -> OAuthToken | None:
    """The live access token ``value`` names (None when unknown, expired or revoked)."""
    row = session.scalar(select(OAuthToken).where(OAuthToken.token_hash == digest(value))) if value else None
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


# -- claims -----------------------------------------------------------------------------------------


def claims_of(user: Account, scope: str, base_url: str) -> dict[str, Any]:
    """The user's OpenID claims, limited to what the granted scopes cover."""
    granted = set(scope.split())
    claims: dict[str, Any] = {"sub": str(user.id)}
    if "profile" in granted:
        claims.update(
            name=user.fullname or user.name,
            preferred_username=user.name,
            profile=f"{base_url}/{user.name}",
            picture=f"{base_url}/-/static/img/logo.svg",
        )
    if "email" in granted and user.email:
        claims.update(email=user.email, email_verified=False)
    return claims
