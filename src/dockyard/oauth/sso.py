"""Dockyard as an OpenID Connect client of the organisation's own provider (SSO log-in).

The provider is configured by settings (``sso_issuer``, ``sso_client_id``...). The flow is the
authorization-code flow with PKCE S256, a ``state`` and a ``nonce``; the id_token's signature
(from the provider's JWKS), issuer, audience, expiry and nonce are all checked before its
``preferred_username`` (or the configured claim) names the Dockyard user. The provider is trusted
for every username it vouches for: configure only your organisation's own provider."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.accounts.models import USER, Account
from dockyard.audit.service import record
from dockyard.errors import BadRequestError, ForbiddenError, UnauthorizedError
from dockyard.settings import Settings

_TIMEOUT = 10.0
_METADATA_TTL = 300.0
_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwk_clients: dict[str, jwt.PyJWKClient] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class SsoStart:
    """Where to send the browser, and what to remember (in a signed cookie) until it returns."""

    url: str
    state: dict[str, str]


def configured(settings: Settings) -> bool:
    return bool(settings.sso_issuer and settings.sso_client_id)


def metadata(settings: Settings) -> dict[str, Any]:
    """The provider's discovery document (cached a few minutes per process)."""
    issuer = (settings.sso_issuer or "").rstrip("/")
    with _lock:
        cached = _metadata_cache.get(issuer)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=_TIMEOUT)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise BadRequestError(f"The SSO provider could not be reached: {type(exc).__name__}") from None
    with _lock:
        _metadata_cache[issuer] = (time.monotonic() + _METADATA_TTL, document)
    return document


def start(settings: Settings, redirect_uri: str, next_path: str) -> SsoStart:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": verifier,
        "next": next_path,
    }
    query = {
        "response_type": "code",
        "client_id": settings.sso_client_id or "",
        "redirect_uri": redirect_uri,
        "scope": "openid profile email",
        "state": state["state"],
        "nonce": state["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return SsoStart(url=f"{metadata(settings)['authorization_endpoint']}?{urlencode(query)}", state=state)


def finish(settings: Settings, redirect_uri: str, code: str, remembered: dict[str, Any]) -> dict[str, Any]:
    """Exchange the code and return the id_token's verified claims."""
    document = metadata(settings)
    try:
        response = httpx.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": remembered["verifier"],
            },
            auth=(settings.sso_client_id or "", settings.sso_client_secret or ""),
            timeout=_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise BadRequestError(f"The SSO provider could not be reached: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise UnauthorizedError("The SSO provider refused the log-in")
    raw = response.json().get("id_token")
    if not isinstance(raw, str):
        raise UnauthorizedError("The SSO provider sent no id_token")
    return _verified_claims(settings, document, raw, remembered["nonce"])


def _verified_claims(settings: Settings, document: dict[str, Any], raw: str, nonce: str) -> dict[str, Any]:
    jwks_uri = document["jwks_uri"]
    with _lock:
        client = _jwk_clients.setdefault(jwks_uri, jwt.PyJWKClient(jwks_uri, timeout=int(_TIMEOUT)))
    try:
        key = client.get_signing_key_from_jwt(raw)
        claims: dict[str, Any] = jwt.decode(
            raw,
            key.key,
            algorithms=["RS256"],
            audience=settings.sso_client_id,
            issuer=document["issuer"],
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise UnauthorizedError(f"The SSO id_token is not valid: {type(exc).__name__}") from None
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise UnauthorizedError("The SSO id_token does not answer this log-in (nonce)")
    return claims


def account_for(session: Session, settings: Settings, claims: dict[str, Any]) -> Account:
    """The Dockyard user the provider vouched for, created on first log-in when allowed."""
    username = claims.get(settings.sso_username_claim)
    if not isinstance(username, str) or not username:
        raise UnauthorizedError(f"The SSO id_token has no {settings.sso_username_claim} claim")
    user = accounts.find_account(session, username)
    if user is not None and user.kind != USER:
        raise ForbiddenError(f"{username} is an organisation: it cannot log in")
    if user is None:
        if not settings.sso_auto_create:
            raise ForbiddenError(f"There is no Dockyard user {username}: ask an admin to create it")
        name = claims.get("name")
        email = claims.get("email")
        user = accounts.create_user(
            session,
            username,
            fullname=name if isinstance(name, str) else None,
            email=email if isinstance(email, str) else None,
        )
        session.flush()
        record(session, "user.created_by_sso", actor=username, target=username, details={"issuer": settings.sso_issuer})
    return user
