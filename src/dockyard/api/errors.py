"""The one place that turns errors into responses with the Hub's X-Error-Code/X-Error-Message."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from dockyard.api.request_id import current_request_id
from dockyard.errors import DockyardError, header_safe

log = logging.getLogger(__name__)


def error_response(
    status: int,
    message: str,
    code: str | None,
    headers: dict[str, str] | None = None,
    *,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    all_headers = {"X-Error-Message": header_safe(message)}
    if code:
        all_headers["X-Error-Code"] = code
    all_headers.update(headers or {})
    return JSONResponse({"error": message, **(extra or {})}, status_code=status, headers=all_headers)


# Pages for browsers (the web surface installs it); every other caller gets the Hub's JSON errors.
PageRenderer = Callable[[Request, int, str, dict[str, str] | None], Response]
PageWanted = Callable[[Request], bool]


def _answer(request: Request, status: int, message: str, code: str | None, headers: dict[str, str] | None) -> Response:
    pages: tuple[PageWanted, PageRenderer] | None = getattr(request.app.state, "error_pages", None)
    if pages is not None and pages[0](request):
        return pages[1](request, status, message, headers)
    return error_response(status, message, code, headers)


async def _dockyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DockyardError)
    if exc.status >= 500:
        log.error("%s %s failed (request %s): %s", request.method, request.url.path, current_request_id(), exc.message)
    return _answer(request, exc.status, exc.message, exc.code, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = "; ".join(
        f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg')}" for error in exc.errors()
    )
    return error_response(400, f"Invalid request: {details}", "BadRequest")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail) if exc.detail else "Error"
    return _answer(request, exc.status_code, message, None, dict(exc.headers or {}))


def install_error_handlers(app: FastAPI, *, pages: tuple[PageWanted, PageRenderer] | None = None) -> None:
    """``pages``: (does this request want a page?, render the error page) for browsers."""
    app.state.error_pages = pages
    app.add_exception_handler(DockyardError, _dockyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
