"""Request-scoped helpers shared by the route modules."""

from __future__ import annotations

from fastapi import Request

from dockyard.accounts import service as accounts
from dockyard.auth import throttle
from dockyard.auth.identity import Caller, authenticate, token_from_authorization
from dockyard.errors import UnauthorizedError
from dockyard.hub import Hub


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def caller_of(request: Request) -> Caller:
    """Authenticate the request once and remember the result on it."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    hub = hub_of(request)
    token = token_from_authorization(request.headers.get("authorization"))
    if token is None:
        caller = Caller()
    else:
        client = request.client.host if request.client else None
        throttle.check(hub.db, client)
        try:
            with hub.db.read() as session:
                caller = authenticate(session, token)
        except UnauthorizedError:
            throttle.note_failure(hub.db, client)
            raise
        if caller.token is not None and accounts.needs_touch(caller.token):
            with hub.db.write() as session:
                accounts.touch_token(session, caller.token.id)
    request.state.caller = caller
    return caller


def base_url(request: Request) -> str:
    """Absolute URL prefix for links we hand out (commit URLs, upload URLs, pagination)."""
    configured = hub_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")
