"""``X-Request-Id`` on every response, errors and git smart HTTP included.

huggingface_hub appends the id to every error it raises (``(Request ID: …)``), so a user's report
names the request an operator can find in the logs. The id is the caller's own ``X-Request-Id``
when it is sane, else the ``X-Amzn-Trace-Id`` huggingface_hub puts on every request (so the
client's debug log and ours name the same request), else a fresh one. A "sane" id is short
printable ASCII without spaces: it is echoed into a header and written to logs, so it must not
split either.

:class:`~dockyard.front_door.FrontDoorMiddleware`, the outermost of ours, binds it and adds it
to every answer: a 413 from the body limit, a 404 from routing and an unhandled exception
(answered there with :func:`internal_error`, then re-raised for the server to log) all carry it.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar, Token

from starlette.responses import JSONResponse

HEADER = "X-Request-Id"
_INCOMING = (b"x-request-id", b"x-amzn-trace-id")
_SANE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:;=+/\-]{0,127}")  # whole value: fullmatch
_current: ContextVar[str | None] = ContextVar("dockyard_request_id", default=None)


class _FreshIds:
    """Ids unique across processes without a system call each: a random per-process prefix (drawn
    again in a forked child) and a counter. They need not be unguessable: an id only names a
    request to its own caller and in our logs. (A uuid4 per request, 2 µs here, was 5% of a cached
    HEAD /resolve in process.)"""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_fresh = _FreshIds()


def current_request_id() -> str | None:
    """The id of the request this code runs for (None outside a request), for log lines."""
    return _current.get()


def choose_request_id(headers: Mapping[bytes, bytes]) -> str:
    """The caller's id if it is sane (``X-Request-Id`` first), else a new one."""
    for name in _INCOMING:
        value = headers.get(name)
        if value is not None and _SANE.fullmatch(value):
            return value.decode("ascii")
    return _fresh.next()


def bind_request_id(request_id: str) -> Token[str | None]:
    """Make ``request_id`` the current one until :func:`unbind_request_id` (the front door does)."""
    return _current.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _current.reset(token)


def internal_error(request_id: str) -> JSONResponse:
    """The 500 sent when a request fails before its answer started (Starlette's own comes from
    outside every middleware, without the id)."""
    message = "Internal Error"
    return JSONResponse({"error": message}, status_code=500, headers={HEADER: request_id, "X-Error-Message": message})
