"""The composition root's lifespan: start-up objects are frozen out of the garbage collector while
the app serves (no ~100 ms full collections in the request tail), and given back when it stops."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from dockyard.app import create_app
from dockyard.db.migrate import upgrade
from dockyard.settings import Settings


def test_serving_freezes_startup_objects_and_stopping_releases_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url())
    app = create_app(settings)
    frozen: list[int] = []

    async def serve_once() -> None:
        async with app.router.lifespan_context(app):
            frozen.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    asyncio.run(serve_once())
    assert frozen[0] > 10_000  # the app, its routes and the libraries' objects
    assert gc.get_freeze_count() == 0
