"""The hot-route middleware claims an info path only when no route the router tries first would."""

from __future__ import annotations

from starlette.routing import Match

from dockyard.api import info, parquet, refs
from dockyard.api.hot_routes import _shadowed


def test_an_info_shaped_path_that_an_earlier_route_takes_is_left_to_the_router() -> None:
    earlier = (*refs.router.routes, *parquet.router.routes)
    # "/api/datasets/x/parquet" is also "/api/{type}/{repo}" with repo "x/parquet": the router's
    # earlier parquet route wins there, so the middleware must not answer it as info.
    assert any(
        route.matches({"type": "http", "path": "/api/datasets/x/parquet", "method": "GET"})[0] is Match.FULL
        for route in info.HOT_ROUTES
    )
    assert _shadowed(earlier, "/api/datasets/x/parquet")
    assert not _shadowed(earlier, "/api/datasets/alice/x")
    assert not _shadowed(earlier, "/api/models/alice/x/revision/main")


def test_a_route_without_a_path_pattern_shadows_everything() -> None:
    class Opaque:  # as FastAPI's included-router entries: the router decides
        pass

    assert _shadowed((Opaque(),), "/api/models/alice/x")  # type: ignore[arg-type]
