"""Cross-site request forgery: every form carries a token the attacker's page cannot read.

Signed-in forms echo the session's CSRF secret; the forms used before sign-in (log in, join)
echo a random cookie set with the page (double submit). The front door
(:func:`dockyard.web.security.cross_site_refusal`) refuses cross-site state-changing requests
before they reach a route, so the token is the second lock, not the only one."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.errors import ForbiddenError
from dockyard.request_bodies import read_form
from dockyard.request_context import hub_of, mark_csrf_verified, session_of

ANONYMOUS_COOKIE = "dockyard_csrf"
FORM_FIELD = "_csrf"


def cookie_is_secure(request: Request) -> bool:
    """Secure cookies behind HTTPS (the configured public URL, or the request's own scheme)."""
    public = hub_of(request).settings.public_url or ""
    return public.startswith("https://") or request.url.scheme == "https"


def set_anonymous_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        ANONYMOUS_COOKIE, value, httponly=True, samesite="lax", secure=cookie_is_secure(request), path="/"
    )


async def verified_form(request: Request) -> FormData:
    """The request's form, once its CSRF token matched the session (or the anonymous cookie).

    Forms sent before sign-in (log in, join, reset) are small: their body is capped at
    ``max_anonymous_body`` and may carry no files, so nobody can make the server buffer megabytes
    without an account."""
    expected, signed_in = await run_in_threadpool(_expected_token, request)
    if signed_in:
        form = await request.form()
    else:
        form = await read_form(request, hub_of(request).settings.max_anonymous_body)
    sent = form.get(FORM_FIELD)
    sent_text = sent if isinstance(sent, str) else ""
    if not expected or not hmac.compare_digest(sent_text, expected):
        raise ForbiddenError("This form has expired or did not come from this site: reload the page and retry")
    mark_csrf_verified(request)
    return form


def _expected_token(request: Request) -> tuple[str, bool]:
    """The token the form must echo, and whether the request comes from a signed-in session."""
    with hub_of(request).db.read() as session:
        row = session_of(request, session)
        if row is not None:
            return row.csrf_secret, True
        return request.cookies.get(ANONYMOUS_COOKIE, ""), False


VerifiedForm = Annotated[FormData, Depends(verified_form)]
