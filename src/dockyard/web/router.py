"""The web surface's routes, in the order they must match: fixed pages before the
``/{namespace}/{name}`` catch-alls of the repo pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from dockyard.web import errors
from dockyard.web.pages import (
    accounts,
    admin,
    buckets,
    collections,
    community,
    create,
    edit,
    files,
    history,
    home,
    lists,
    oauth,
    org_settings,
    profiles,
    repo,
    repo_settings,
    search,
    sso,
    user_settings,
)

STATIC_PREFIX = "/-/static"

# Every page module, in match order: fixed paths first, then the repo sub-pages
# (/{repo}/tree/..., /{repo}/discussions, ...), then the repo pages themselves, and the
# one-segment profile pages last. A registry test checks each module under pages/ is listed.
PAGES = (
    accounts,
    oauth,
    sso,
    home,
    lists,
    search,
    collections,
    buckets,
    admin,
    create,
    user_settings,
    org_settings,
    files,
    history,
    community,
    edit,
    repo_settings,
    repo,
    profiles,
)


def install_web(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX, StaticFiles(packages=[("dockyard.web", "static")]), name="static")
    for module in PAGES:
        app.include_router(module.router)
    app.state.error_pages = (errors.wants_page, errors.error_page)
