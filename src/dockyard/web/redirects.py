"""Where to send a browser after a form: only ever a path on this site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.responses import RedirectResponse


def safe_next(target: str | None, default: str = "/") -> str:
    """``next=`` parameters come from the URL: refuse anything that leaves the site
    (``//evil``, ``https://evil``, ``/\\evil``) to avoid an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def see_other(target: str) -> RedirectResponse:
    """The answer to a successful form post (POST-redirect-GET)."""
    return RedirectResponse(target, status_code=303)


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"
