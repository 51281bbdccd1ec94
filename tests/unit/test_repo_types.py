"""Every repo type is served by every surface: the route tables and info fields are derived from
``RepoType``, so a new type that lacks one of them fails here, not in a user's client."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from dockyard.api import lfs, resolve
from dockyard.api.repo_info import DEFAULT_INFO, DEFAULT_LIST, FIELDS
from dockyard.git_http import routes as git_http
from dockyard.identifiers import RepoType
from dockyard.url_convertors import RepoTypeConvertor


def _paths(router: object) -> list[str]:
    return [route.path for route in router.routes if isinstance(route, Route)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", list(RepoType))
def test_every_type_has_routes_info_fields_and_a_prefix(kind: RepoType) -> None:
    assert kind.plural in RepoTypeConvertor.regex.split("|")
    assert f"{kind.route_prefix}/{{repo_id:repo}}/resolve/{{revision}}/{{path:path}}" in _paths(resolve.router)
    assert f"{kind.route_prefix}/{{repo_id:repo}}/info/refs" in _paths(git_http.router)
    assert f"{kind.route_prefix}/{{repo_id:repo}}.git/info/lfs/objects/batch" in _paths(lfs.router)
    assert set(DEFAULT_INFO[kind]) <= set(FIELDS[kind])
    assert set(DEFAULT_LIST[kind]) <= set(FIELDS[kind])


def test_prefixed_types_are_routed_before_models() -> None:
    """``/kernels/x/resolve/...`` must not be read as the single-segment model ``kernels/x``."""
    order = RepoType.routing_order()
    assert order[-1] is RepoType.MODEL
    assert set(order) == set(RepoType)
    prefixes = tuple(f"{kind.route_prefix}/{{repo_id:repo}}" for kind in order[:-1])
    for router in (resolve.router, git_http.router, lfs.router):
        paths = _paths(router)
        models = [i for i, path in enumerate(paths) if path.startswith("/{repo_id:repo}")]
        prefixed = [i for i, path in enumerate(paths) if path.startswith(prefixes)]
        assert max(prefixed) < min(models)


def test_kernel_urls() -> None:
    kernel = RepoType.parse("kernel")
    assert (kernel.plural, kernel.url_prefix, kernel.route_prefix) == ("kernels", "kernels/", "/kernels")
    assert RepoType.from_plural("kernels") is kernel
    assert RepoType.MODEL.url_prefix == ""
