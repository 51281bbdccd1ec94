"""Log in through the organisation's OpenID Connect provider: ``/login/sso`` sends the browser
there, ``/login/sso/callback`` brings it back signed in (rules in :mod:`dockyard.oauth.sso`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.routing import APIRouter
from starlette.responses import RedirectResponse, Response

from dockyard.accounts import sessions
from dockyard.errors import NotFoundError, UnauthorizedError
from dockyard.oauth import sso
from dockyard.request_context import base_url, hub_of
from dockyard.web.csrf import cookie_is_secure
from dockyard.web.pages.accounts import start_session_cookie
from dockyard.web.redirects import safe_next, see_other

router = APIRouter(include_in_schema=False)

STATE_COOKIE = "dockyard_sso"
_STATE_TTL = 600
_PURPOSE = "sso-login"


@router.get("/login/sso")
def sso_start(request: Request, next: str = "/") -> Response:
    hub = hub_of(request)
    if not sso.configured(hub.settings):
        raise NotFoundError("SSO log-in is not configured on this hub")
    started = sso.start(hub.settings, _callback_url(request), safe_next(next))
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        hub.signer.sign(_PURPOSE, started.state, ttl=_STATE_TTL),
        max_age=_STATE_TTL,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
        secure=cookie_is_secure(request),
        path="/login/sso",
    )
    return response


@router.get("/login/sso/callback")
def sso_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    hub = hub_of(request)
    if not sso.configured(hub.settings):
        raise NotFoundError("SSO log-in is not configured on this hub")
    remembered = _remembered(request, state)
    if error or not code:
        raise UnauthorizedError(f"The SSO provider did not sign you in ({error[:60] or 'no code'})")
    claims = sso.finish(hub.settings, _callback_url(request), code, remembered)
    client = request.client.host if request.client else None
    with hub.db.write() as session:
        user = sso.account_for(session, hub.settings, claims)
        opened = sessions.open_session(session, user, user_agent=request.headers.get("user-agent", ""), ip=client)
    response = see_other(safe_next(str(remembered.get("next", "/"))))
    response.delete_cookie(STATE_COOKIE, path="/login/sso")
    start_session_cookie(request, response, opened.cookie_value)
    return response


def _remembered(request: Request, state: str) -> dict[str, Any]:
    """What /login/sso stored for this browser; the ``state`` echoed by the provider must match
    it, so a log-in started elsewhere (login CSRF) cannot finish here."""
    cookie = request.cookies.get(STATE_COOKIE, "")
    claims = hub_of(request).signer.verify(_PURPOSE, cookie) if cookie else None
    if not claims or not state or claims.get("state") != state:
        raise UnauthorizedError("This SSO log-in expired or was started in another browser: log in again")
    return claims


def _callback_url(request: Request) -> str:
    return f"{base_url(request)}/login/sso/callback"
