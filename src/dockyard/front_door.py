"""What every HTTP request goes through before routing, in one pass.

Each rule lives with its subject; this middleware only applies them, in this order:

1. the request's id (:mod:`dockyard.api.request_id`): bound for the request's life and added to
   every answer, a crash before the answer started included (a 500 with the id, then re-raised);
2. the cross-site refusal of a state-changing request that carries our cookie
   (:mod:`dockyard.web.security`);
3. the body limit (:mod:`dockyard.request_bodies`);
4. the audit origin (:mod:`dockyard.audit.service`): who called, for events recorded later;
5. the routing path with ``%2F`` kept inside its segment (:mod:`dockyard.api.routing`);
6. on the way out, the page headers of every HTML answer (:mod:`dockyard.web.security`).

They were five middlewares. Each layer a request crosses costs a coroutine call and, for most, a
wrapper around ``send`` or ``receive``; together they were 10-20% of a cached HEAD /resolve's
throughput (bench/README.md, "One front door"). Here the headers are read into one mapping once,
``send`` is wrapped once, and ``receive`` only when the request declares a body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.api.request_id import bind_request_id, choose_request_id, internal_error, unbind_request_id
from dockyard.api.routing import routing_path
from dockyard.audit.service import Origin, set_origin
from dockyard.request_bodies import limited_receive
from dockyard.web.security import add_page_headers, cross_site_refusal

log = logging.getLogger(__name__)
_REQUEST_ID = b"x-request-id"


class FrontDoorMiddleware:
    def __init__(self, app: ASGIApp, *, body_limit: int, page_headers: tuple[tuple[bytes, bytes], ...]) -> None:
        self.app = app
        self.body_limit = body_limit
        self.page_headers = page_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())  # one mapping for every step below
        request_id = choose_request_id(headers)
        marked_id = request_id.encode("latin-1")
        token = bind_request_id(request_id)
        started = False

        async def send_marked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": self._marked(message.get("headers") or (), marked_id)}
            await send(message)

        try:
            refusal = cross_site_refusal(scope["method"], headers)
            if refusal is not None:
                await refusal(scope, receive, send_marked)
                return
            receive = limited_receive(scope, receive, headers, self.body_limit)
            client = scope.get("client")
            agent = headers.get(b"user-agent")
            set_origin(Origin(ip=client[0] if client else None, user_agent=agent.decode("latin-1") if agent else None))
            scope["path"] = routing_path(scope)
            await self.app(scope, receive, send_marked)
        except Exception as exc:
            if not started:  # Starlette's own 500 would come from outside, without the id
                log.error("request %s failed: %r", request_id, exc)  # the server logs the traceback
                await internal_error(request_id)(scope, receive, send)
            raise
        finally:
            unbind_request_id(token)

    def _marked(self, headers: Iterable[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
        """The answer's headers with our request id (replacing any other) and, for HTML, the page headers."""
        marked: list[tuple[bytes, bytes]] = []
        content_type = b""
        for name, value in headers:
            lowered = name.lower()
            if lowered == _REQUEST_ID:
                continue
            if lowered == b"content-type":
                content_type = value
            marked.append((name, value))
        marked.append((_REQUEST_ID, request_id))
        add_page_headers(marked, content_type, self.page_headers)
        return marked
