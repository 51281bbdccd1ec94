"""The web surface's routes, in the order they must match: fixed pages before the
``/{namespace}/{name}`` catch-alls of the repo pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from dockyard.web import errors
from dockyard.web.pages import accounts, home

STATIC_PREFIX = "/-/static"

# Every page module; a registry test checks each module under pages/ is listed here.
PAGES = (accounts, home)


def install_web(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX, StaticFiles(packages=[("dockyard.web", "static")]), name="static")
    for module in PAGES:
        app.include_router(module.router)
    app.state.error_pages = (errors.wants_page, errors.error_page)
