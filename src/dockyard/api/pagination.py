"""The ``Link: <…>; rel="next"`` header of every paged listing (the Hub's cursor pagination):
the same query, with the cursor of the next page and, for listings capped by ``limit``, what
remains of it."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from dockyard.request_context import base_url


def next_link(request: Request, cursor: int | str, *, remaining: int | None = None) -> str:
    replaced = ("cursor", "limit") if remaining is not None else ("cursor",)
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in replaced]
    params.append(("cursor", str(cursor)))
    if remaining is not None:
        params.append(("limit", str(remaining)))
    return f'<{base_url(request)}{request.scope["path"]}?{urlencode(params)}>; rel="next"'
