"""Headers and checks that keep user content from acting on the hub's origin.

* Every HTML page gets a strict Content-Security-Policy: scripts, styles, fonts and images come
  from this origin only, and no inline script runs (a card that slips past the sanitiser still
  cannot execute anything).
* A state-changing request that carries the session cookie but comes from another site (the
  browser says so in ``Origin``/``Sec-Fetch-Site``) is refused before it reaches a route.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class WebSecurityMiddleware:
    def __init__(self, app: ASGIApp, storage_origin: str | None = None) -> None:
        self.app = app
        self.page_headers = (
            (b"content-security-policy", content_security_policy(storage_origin).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope.get("headers", ())}
        if scope["method"] not in SAFE_METHODS and _is_cross_site(headers):
            refusal = JSONResponse(
                {"error": "Cross-site requests with a session cookie are refused"},
                status_code=403,
                headers={"X-Error-Message": "Cross-site requests with a session cookie are refused"},
            )
            await refusal(scope, receive, send)
            return

        async def send_with_page_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = list(message.get("headers", ()))
                content_type = next((v for k, v in response_headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    present = {k.lower() for k, _ in response_headers}
                    response_headers.extend(h for h in self.page_headers if h[0] not in present)
                    message = {**message, "headers": response_headers}
            await send(message)

        await self.app(scope, receive, send_with_page_headers)


def _is_cross_site(headers: dict[bytes, bytes]) -> bool:
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
