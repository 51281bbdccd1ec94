"""Per-request context that domains read without seeing the request: the audit origin."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.audit.service import Origin, set_origin


class RequestOriginMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            agent = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"user-agent"), None)
            set_origin(Origin(ip=client[0] if client else None, user_agent=agent))
        await self.app(scope, receive, send)
