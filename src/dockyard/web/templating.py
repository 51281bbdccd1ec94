"""Rendering pages: one Jinja2 environment (autoescaping on), and the context every page gets."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from dockyard.web import csrf
from dockyard.web.viewer import Viewer, viewer_of

TEMPLATES = Environment(
    loader=PackageLoader("dockyard.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request, template: str, *, status: int = 200, viewer: Viewer | None = None, **context: Any
) -> HTMLResponse:
    """A page with the viewer, the CSRF token its forms carry, and the page's own context."""
    viewer = viewer or viewer_of(request)
    anonymous_csrf = None
    if viewer.session is None:
        anonymous_csrf = request.cookies.get(csrf.ANONYMOUS_COOKIE) or secrets.token_urlsafe(32)
    token = viewer.session.csrf_secret if viewer.session is not None else anonymous_csrf
    html = TEMPLATES.get_template(template).render(
        request=request, viewer=viewer, csrf_token=token, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    if anonymous_csrf is not None and request.cookies.get(csrf.ANONYMOUS_COOKIE) != anonymous_csrf:
        csrf.set_anonymous_cookie(request, response, anonymous_csrf)
    return response
