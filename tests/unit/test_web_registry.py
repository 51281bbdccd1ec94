"""The web surface is complete: every page module is routed, in the composition root's app."""

from __future__ import annotations

import pkgutil

import dockyard.web.pages as pages_package
from dockyard.app import create_app
from dockyard.db.migrate import upgrade
from dockyard.settings import Settings
from dockyard.web.router import PAGES


def test_every_page_module_is_listed_in_the_router() -> None:
    modules = {info.name for info in pkgutil.iter_modules(pages_package.__path__)}
    listed = {module.__name__.rsplit(".", 1)[-1] for module in PAGES}
    assert modules == listed


def test_the_app_includes_every_page_router_after_the_api(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url())
    app = create_app(settings)
    # FastAPI keeps included routers as a whole (``original_router``), in inclusion order.
    included = [route.original_router for route in app.routes if hasattr(route, "original_router")]
    positions = [next(i for i, router in enumerate(included) if router is module.router) for module in PAGES]
    assert positions == sorted(positions), "pages are matched in PAGES order"
    assert positions[0] == len(included) - len(PAGES), "pages come after every API router"
