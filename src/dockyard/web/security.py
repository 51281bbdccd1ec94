"""Headers and checks that keep user content from acting on the hub's origin.

* Every HTML page gets a strict Content-Security-Policy: scripts, styles, fonts and images come
  from this origin only, and no inline script runs (a card that slips past the sanitiser still
  cannot execute anything).
* A state-changing request that carries the session cookie but comes from another site (the
  browser says so in ``Origin``/``Sec-Fetch-Site``) is refused before it reaches a route.

:class:`~dockyard.front_door.FrontDoorMiddleware` applies both to every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from dockyard.request_context import SAFE_METHODS, SESSION_COOKIE


def content_security_policy(storage_origin: str | None = None) -> str:
    """The policy of every page. ``storage_origin``: where presigned blob URLs point (S3), so
    that images shown from /resolve/ (a redirect there) and browser uploads may reach it."""
    extra = f" {storage_origin}" if storage_origin else ""
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; "
        f"font-src 'self'; connect-src 'self'{extra}; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def storage_origin(presigned_url: str | None) -> str | None:
    """The scheme://host[:port] of a presigned URL (None for stores that serve through the hub)."""
    if not presigned_url:
        return None
    parts = urlsplit(presigned_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def page_headers(storage_origin: str | None = None) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every HTML answer carries (unless it set its own): the policy, no sniffing, no
    referrer to other sites, no framing."""
    return (
        (b"content-security-policy", content_security_policy(storage_origin).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    )


def add_page_headers(
    headers: list[tuple[bytes, bytes]], content_type: bytes, page: tuple[tuple[bytes, bytes], ...]
) -> None:
    """Append to an answer's ``headers`` the page headers it lacks, if it is HTML."""
    if content_type.startswith(b"text/html"):
        present = {name.lower() for name, _ in headers}
        headers.extend(header for header in page if header[0] not in present)


def cross_site_refusal(method: str, headers: Mapping[bytes, bytes]) -> JSONResponse | None:
    """The 403 for a state-changing request that carries our cookie from another site, else None."""
    if method in SAFE_METHODS or not _is_cross_site(headers):
        return None
    message = "Cross-site requests with a session cookie are refused"
    return JSONResponse({"error": message}, status_code=403, headers={"X-Error-Message": message})


def _is_cross_site(headers: Mapping[bytes, bytes]) -> bool:
    """Only requests that carry our session cookie matter: token-authenticated clients (the
    libraries, git) send no cookie and no Origin."""
    cookie = headers.get(b"cookie", b"")
    if SESSION_COOKIE.encode() + b"=" not in cookie:
        return False
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in (b"same-origin", b"none")
    origin = headers.get(b"origin")
    if origin is None or origin == b"null":
        return origin == b"null"
    host = headers.get(b"host", b"").decode("latin-1")
    return urlsplit(origin.decode("latin-1")).netloc != host
