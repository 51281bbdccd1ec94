"""Straight to the endpoint for the hub's hottest routes (HEAD/GET /resolve).

The application's router tries its routes in order and FastAPI keeps per-route bookkeeping in the
scope as it goes: about a third of a cached HEAD's CPU time. This middleware, innermost of ours
(after the path keeps its encoded slashes and the audit origin is set), tries only the few hot
routes; a full match is handled at once, with the application's own exception handlers, exactly as
the router would (only git smart HTTP routes come before these, and none of their paths can also
be a ``…/resolve/…`` path). Anything else continues to the router untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send


class HotRoutesMiddleware:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute], marker: str, handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.routes = tuple(routes)
        self.marker = marker  # a substring every hot path has; others skip the matching
        self.handlers = handlers  # the application's (filled before the first request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.marker in scope["path"]:
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope = {**scope, **child, "starlette.exception_handlers": self._split_handlers()}
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _split_handlers(self) -> tuple[dict[Any, Any], dict[int, Any]]:
        """As Starlette's ExceptionMiddleware hands them to a route: by exception type, by status."""
        by_type = {key: value for key, value in self.handlers.items() if not isinstance(key, int)}
        by_status = {key: value for key, value in self.handlers.items() if isinstance(key, int)}
        return by_type, by_status
