"""What a request carries, for every HTTP surface (the API and git smart HTTP): its hub, its
authenticated caller, and the public base URL of the links handed out."""

from __future__ import annotations

from contextlib import nullcontext

from fastapi import Request
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.accounts.tokens import hash_token
from dockyard.auth import throttle
from dockyard.auth.cache import columns_of, read_epoch
from dockyard.auth.identity import Caller, authenticate, caller_from_columns, token_from_authorization
from dockyard.errors import UnauthorizedError
from dockyard.hub import Hub


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def caller_of(request: Request, session: Session | None = None) -> Caller:
    """Authenticate the request once and remember the result on it (within ``session`` if given)."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    hub = hub_of(request)
    token = token_from_authorization(request.headers.get("authorization"))
    client = request.client.host if request.client else None
    with nullcontext(session) if session is not None else hub.db.read() as current:
        hub.security_cache.validate(current)  # every request sees the latest access changes
        caller = Caller(cache=hub.security_cache) if token is None else _authenticated(hub, current, token, client)
    if caller.token is not None and accounts.needs_touch(caller.token):
        with hub.db.write() as session:
            accounts.touch_token(session, caller.token.id)
        hub.security_cache.discard(("token", hash_token(token or "")))
    request.state.caller = caller
    return caller


def _authenticated(hub: Hub, session: Session, token: str, client: str | None) -> Caller:
    """Tokens already verified in this epoch come from the cache; others from the database,
    behind the failed-attempt throttle."""
    key = ("token", hash_token(token))
    cached = hub.security_cache.get(key)
    if cached is not None:
        return caller_from_columns(*cached, cache=hub.security_cache)
    throttle.check(hub.db, client)
    epoch = read_epoch(session)  # before the token is read: a revocation after it is noticed at put
    try:
        caller = authenticate(session, token)
    except UnauthorizedError:
        throttle.note_failure(hub.db, client)
        raise
    assert caller.token is not None
    assert caller.user is not None
    hub.security_cache.put(key, (columns_of(caller.token), columns_of(caller.user)), epoch)
    caller.cache = hub.security_cache
    return caller


def base_url(request: Request) -> str:
    """Absolute URL prefix for links we hand out (commit URLs, upload URLs, pagination)."""
    configured = hub_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")
