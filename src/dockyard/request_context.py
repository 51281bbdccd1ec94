"""What a request carries, for every HTTP surface (the API, git smart HTTP and the web pages): its
hub, its authenticated caller, and the public base URL of the links handed out.

A caller authenticates with a token (``Authorization``) or, in a browser, with the session cookie.
A cookie is sent by the browser on its own, so a state-changing request authenticated by it must
also prove it came from one of our pages: the session's CSRF secret, echoed in the
``X-CSRF-Token`` header (scripts) or checked from the form by the web layer before it asks for
the caller (:func:`mark_csrf_verified`)."""

from __future__ import annotations

import hmac
from contextlib import nullcontext

from fastapi import Request
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.accounts import sessions as web_sessions
from dockyard.accounts.models import WebSession
from dockyard.accounts.tokens import WRITE, hash_token
from dockyard.auth import throttle
from dockyard.auth.cache import columns_of, read_epoch, read_epoch_quick
from dockyard.auth.identity import Caller, authenticate, caller_from_columns, token_from_authorization
from dockyard.errors import ForbiddenError, UnauthorizedError
from dockyard.hub import Hub


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


SESSION_COOKIE = "dockyard_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def mark_csrf_verified(request: Request) -> None:
    """The web layer checked this request's form token against its session."""
    request.state.csrf_verified = True


def caller_of(request: Request, session: Session | None = None) -> Caller:
    """Authenticate the request once and remember the result on it (within ``session`` if given)."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    hub = hub_of(request)
    token = token_from_authorization(request.headers.get("authorization"))
    client = request.client.host if request.client else None
    with nullcontext(session) if session is not None else hub.db.read() as current:
        # Every request sees the latest access changes: the epoch is read before anything it guards,
        # without a pooled connection, so a cached token costs the session no database round trip.
        hub.security_cache.validate_epoch(read_epoch_quick(hub.db))
        if token is not None:
            caller = _authenticated(hub, current, token, client)
        else:
            caller = _session_caller(request, hub, current)
    if caller.token is not None and accounts.needs_touch(caller.token):
        with hub.db.write() as session:
            accounts.touch_token(session, caller.token.id)
        hub.security_cache.discard(("token", hash_token(token or "")))
    if caller.web_session is not None and web_sessions.needs_touch(caller.web_session):
        with hub.db.write() as session:
            web_sessions.touch_session(session, caller.web_session.id)
    request.state.caller = caller
    return caller


def session_of(request: Request, session: Session) -> WebSession | None:
    """The live browser session the request's cookie names, if any."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return web_sessions.find_session(session, cookie) if cookie else None


def _session_caller(request: Request, hub: Hub, session: Session) -> Caller:
    row = session_of(request, session)
    if row is None:
        return Caller(cache=hub.security_cache)
    unverified = request.method not in SAFE_METHODS and not getattr(request.state, "csrf_verified", False)
    if unverified and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), row.csrf_secret):
        raise ForbiddenError("This request needs the page's CSRF token (X-CSRF-Token)")
    return Caller(user=row.user, role=WRITE, cache=hub.security_cache, web_session=row)


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
