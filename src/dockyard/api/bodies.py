"""Reading request bodies with a size limit enforced while they stream in."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from dockyard.errors import BadRequestError, PayloadTooLargeError


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds ``limit`` (declared or actual)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"Request body is larger than {limit} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise PayloadTooLargeError(f"Request body is larger than {limit} bytes")
    return bytes(data)


async def json_body(request: Request, limit: int) -> Any:
    body = await read_limited(request, limit)
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequestError("Body must be valid JSON") from None
