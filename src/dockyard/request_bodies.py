"""Reading request bodies with a size limit enforced while they stream in.

Every body is capped, whoever reads it: :func:`limited_receive` (set by the front door) counts
the bytes of each request as the application receives them and refuses the request with 413 once
they pass the limit in force. That limit is ``settings.max_request_body`` unless the route set its own with
:func:`limit_body` (or :func:`read_limited`, which does) before reading: small for anonymous
routes, the announced size for uploads. So FastAPI's own body parsing (pydantic models, forms)
is capped too, and a chunked body without ``Content-Length`` is stopped after ``limit`` bytes,
never buffered whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope

from dockyard.errors import BadRequestError, PayloadTooLargeError

#: Where the limit of the request in flight lives in the ASGI scope (routes may change it).
LIMIT_KEY = "dockyard.body_limit"


class BodyTooLargeError(HTTPException):
    """413 raised from inside ``receive``.

    An HTTPException, not a DockyardError, because FastAPI turns any other exception raised while
    it parses a body into a 400; the handler in :mod:`dockyard.api.errors` still writes it with
    ``X-Error-Code: PayloadTooLarge``.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=PayloadTooLargeError.status,
            detail=f"Request body is larger than {limit} bytes",
            headers={"X-Error-Code": str(PayloadTooLargeError.code)},
        )


def limited_receive(scope: Scope, receive: Receive, headers: Mapping[bytes, bytes], default_limit: int) -> Receive:
    """``receive`` that refuses the body with 413 once it passes the limit in force (the scope's,
    which the route may change before reading). A request that declares no body (neither
    ``Content-Length`` nor ``Transfer-Encoding``: HTTP/1.1 then has none) keeps its ``receive``."""
    scope[LIMIT_KEY] = default_limit
    declared_text = headers.get(b"content-length")
    if declared_text is None and b"transfer-encoding" not in headers:
        return receive
    declared = int(declared_text) if declared_text is not None and declared_text.isdigit() else None
    received = 0
    started = False

    async def limited() -> Message:
        nonlocal received, started
        limit = scope[LIMIT_KEY]
        if not started:  # the route has chosen its limit by the time it reads
            started = True
            if declared is not None and declared > limit:
                raise BodyTooLargeError(limit)
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError(limit)
        return message

    return limited


def limit_body(request: Request, limit: int) -> None:
    """Set the body limit of this request (before reading it): the route knows best."""
    request.scope[LIMIT_KEY] = limit


async def limited_stream(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body as it arrives, refused with 413 as soon as it exceeds ``limit`` bytes."""
    limit_body(request, limit)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"Request body is larger than {limit} bytes")
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:  # also without the middleware (an app built without it)
            raise PayloadTooLargeError(f"Request body is larger than {limit} bytes")
        yield chunk


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds ``limit`` (declared or actual)."""
    data = bytearray()
    async for chunk in limited_stream(request, limit):
        data += chunk
    return bytes(data)


async def json_body(request: Request, limit: int) -> Any:
    """The body parsed as JSON, in a worker thread: a body of megabytes is CPU work that must not
    hold the event loop."""
    body = await read_limited(request, limit)
    return await run_in_threadpool(parse_json, body)


def parse_json(body: bytes) -> Any:
    """Untrusted JSON: any parse failure is a 400, including the ValueError of an integer of more
    than 4,300 digits and the RecursionError of deep nesting."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequestError("Body must be valid JSON") from None


async def json_or_form(request: Request, limit: int) -> dict[str, Any]:
    """A JSON object, or the text fields of a form (urlencoded or multipart), within ``limit`` bytes."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await json_body(request, limit)
        if not isinstance(body, dict):
            raise BadRequestError("Body must be a JSON object")
        return body
    form = await read_form(request, limit)
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def read_form(request: Request, limit: int) -> Any:
    """``request.form()`` with the body capped at ``limit`` bytes (files are refused: fields only)."""
    limit_body(request, limit)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"Request body is larger than {limit} bytes")
    return await request.form(max_files=0)
