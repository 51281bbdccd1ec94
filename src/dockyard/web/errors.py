"""Error pages for browsers: the same errors the API answers as JSON, as a page a person can read."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from dockyard.auth.identity import Caller
from dockyard.errors import DockyardError
from dockyard.web.templating import render
from dockyard.web.viewer import Viewer, viewer_of

# Paths whose callers are programs even when they accept HTML (clients, git, the CAS).
_MACHINE_PREFIXES = ("/api/", "/-/", "/oauth/", "/.well-known/")
_MACHINE_SEGMENTS = ("/resolve/", "/info/lfs/", "/info/refs", "/git-upload-pack", "/git-receive-pack")


def wants_page(request: Request) -> bool:
    """A browser navigating to a page (not a client, not a script fetching JSON)."""
    path = request.url.path
    if path.startswith(_MACHINE_PREFIXES) or any(segment in path for segment in _MACHINE_SEGMENTS):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    titles = {401: "Sign in required", 403: "Not allowed", 404: "Not found", 429: "Slow down"}
    try:
        viewer = viewer_of(request)
    except DockyardError:  # the error came from authentication itself: show the page anonymously
        viewer = Viewer(caller=Caller())
    title = titles.get(status, "Something went wrong")
    response = render(request, "error.html", status=status, viewer=viewer, title=title, message=message)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
