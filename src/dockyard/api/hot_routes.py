"""Straight to the endpoint for the hub's hottest routes (HEAD/GET /resolve).

The application's router tries its routes in order and FastAPI keeps per-route bookkeeping in the
scope as it goes: about a third of a cached HEAD's CPU time. This middleware, innermost of ours
(after the path keeps its encoded slashes and the audit origin is set), tries only the few hot
routes; a full match is handled at once, with the application's own exception handlers, exactly as
the router would (only git smart HTTP routes come before these, and none of their paths can also
be a ``…/resolve/…`` path). Anything else continues to the router untouched. The routes come in
groups (:class:`HotRouteGroup`), all tried by this one middleware.

Repo info's routes are the router's *last* ``/api`` routes (their ``{repo_id:repo}`` catch-all
must lose to every specific route), so their group is given ``shadowing``: every route the
router tries before them. A path any of those matches (whatever the method) is left to the router,
which then decides exactly as without this middleware; the verdict per path is remembered (a
bounded LRU), so a hot path costs one dictionary lookup instead of a regex per route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache, partial
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send


class HotRouteGroup:
    """Routes tried together: ``marker`` is a substring every path they take has (others skip
    the matching), ``shadowing`` the routes the router would try before them."""

    def __init__(self, routes: Sequence[BaseRoute], *, marker: str, shadowing: Sequence[BaseRoute] = ()) -> None:
        # Each route with the literal start of its path (before its first parameter): testing it
        # costs less than the route's regex.
        self.routes = tuple((route, str(getattr(route, "path", "")).split("{", 1)[0]) for route in routes)
        self.marker = marker
        self.shadowed = lru_cache(maxsize=8192)(partial(_shadowed, tuple(shadowing)))

    def route_for(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The route that takes this request, with its part of the scope, or None."""
        path: str = scope["path"]
        if self.marker not in path or self.shadowed(path):
            return None
        for route, prefix in self.routes:
            if path.startswith(prefix):
                match, child = route.matches(scope)
                if match is Match.FULL:
                    return route, child
        return None


class HotRoutesMiddleware:
    def __init__(self, app: ASGIApp, *, groups: Sequence[HotRouteGroup], handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.groups = tuple(groups)
        self.handlers = handlers  # the application's (filled before the first request)
        self._split: tuple[dict[Any, Any], dict[int, Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for group in self.groups:
                found = group.route_for(scope)
                if found is not None:
                    route, child = found
                    scope = {**scope, **child, "starlette.exception_handlers": self._split_handlers()}
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _split_handlers(self) -> tuple[dict[Any, Any], dict[int, Any]]:
        """As Starlette's ExceptionMiddleware hands them to a route: by exception type, by status
        (split once: the application's handlers are all set before it serves)."""
        if self._split is None:
            by_type = {key: value for key, value in self.handlers.items() if not isinstance(key, int)}
            by_status = {key: value for key, value in self.handlers.items() if isinstance(key, int)}
            self._split = (by_type, by_status)
        return self._split


def _shadowed(earlier: tuple[BaseRoute, ...], path: str) -> bool:
    """Whether a route the router tries first could take ``path`` (a route without a path
    pattern is assumed to: the router then decides)."""
    for route in earlier:
        pattern = getattr(route, "path_regex", None)
        if pattern is None or pattern.match(path):
            return True
    return False
