"""``X-Request-Id`` on every response, errors and git smart HTTP included.

huggingface_hub appends the id to every error it raises (``(Request ID: …)``), so a user's report
names the request an operator can find in the logs. The id is the caller's own ``X-Request-Id``
when it is sane, else the ``X-Amzn-Trace-Id`` huggingface_hub puts on every request (so the
client's debug log and ours name the same request), else a fresh one. A "sane" id is short
printable ASCII without spaces: it is echoed into a header and written to logs, so it must not
split either.

This middleware is the outermost one: a 413 from the body limit, a 404 from routing and an
unhandled exception (answered here with a 500, then re-raised for the server to log) all carry it.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
_INCOMING = (b"x-request-id", b"x-amzn-trace-id")
_SANE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:;=+/\-]{0,127}")  # whole value: fullmatch
_current: ContextVar[str | None] = ContextVar("dockyard_request_id", default=None)
log = logging.getLogger(__name__)


def current_request_id() -> str | None:
    """The id of the request this code runs for (None outside a request), for log lines."""
    return _current.get()


def choose_request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's id if it is sane (``X-Request-Id`` first), else a new one."""
    found = dict((name, value) for name, value in headers if name in _INCOMING)
    for name in _INCOMING:
        value = found.get(name)
        if value is not None and _SANE.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request's id for its whole life and adds it to the response's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = choose_request_id(list(scope.get("headers", ())))
        token = _current.set(request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if not started:  # Starlette's own 500 would come from outside, without the id
                log.error("request %s failed: %r", request_id, exc)  # the server logs the traceback
                await _internal_error(request_id)(scope, receive, send)
            raise
        finally:
            _current.reset(token)


def _internal_error(request_id: str) -> JSONResponse:
    message = "Internal Error"
    return JSONResponse({"error": message}, status_code=500, headers={HEADER: request_id, "X-Error-Message": message})
