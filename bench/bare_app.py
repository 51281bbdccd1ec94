"""The reference for resolve_head.py: a bare Starlette app answering fixed responses.

``BARE_APP_RESPONSES`` names a JSON file mapping a URL path to ``[status, headers, body]`` (the very
headers and body Dockyard answered for that path, captured by the bench), so the reference pays for
the same header bytes on the wire and differs from Dockyard only in what Dockyard computes.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_SKIPPED = {"date", "server", "transfer-encoding"}  # uvicorn adds its own


def _load() -> dict[str, tuple[int, dict[str, str], bytes]]:
    with open(os.environ["BARE_APP_RESPONSES"]) as handle:
        raw = json.load(handle)
    return {
        path: (status, {k: v for k, v in headers.items() if k.lower() not in _SKIPPED}, body.encode())
        for path, (status, headers, body) in raw.items()
    }


RESPONSES = _load()


async def answer(request: Request) -> Response:
    status, headers, body = RESPONSES[request.url.path]
    # A HEAD entry keeps Dockyard's Content-Length (the file's size); a GET entry has none.
    return Response(body if request.method == "GET" else b"", status_code=status, headers=headers)


app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "HEAD"])])
