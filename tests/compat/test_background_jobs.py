"""Background jobs really run: every declared job is registered by the composition root in both
deployment shapes (jobs in the server process, and ``dockyard worker`` beside it), and the
popularity columns move as soon as a repo is downloaded, as a new user would try it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.support.backends import Backend, free_port
from tests.support.jobs import declared_jobs
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until

# Jobs inside the server process, or left to a `dockyard worker` process started beside it.
SHAPES = [{"DOCKYARD_JOBS": "inprocess"}, {"DOCKYARD_JOBS": "external"}]
_WORKER_LINE = re.compile(r"job worker (\S+): kinds=(\S*) periodic=(\S*)")


@pytest.fixture(params=SHAPES, ids=["in-process", "external-worker"])
def shaped_server(request: pytest.FixtureRequest, tmp_path: Path, backend: Backend) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "data", free_port(), request.param, backend=backend, processes=1)
    try:
        yield live
    finally:
        live.stop()


def _worker_lines(server: LiveServer) -> list[tuple[str, set[str], set[str]]]:
    assert server.log_path is not None
    text = server.log_path.read_text(errors="replace")
    return [
        (m[1], set(filter(None, m[2].split(","))), set(filter(None, m[3].split(","))))
        for m in _WORKER_LINE.finditer(text)
    ]


def test_every_declared_job_is_registered_in_each_shape(shaped_server: LiveServer) -> None:
    declared = declared_jobs()
    assert (shaped_server.worker is not None) == (shaped_server.env["DOCKYARD_JOBS"] == "external")
    assert wait_until(lambda: len(_worker_lines(shaped_server)) == 1, timeout=30)
    ((_, kinds, periodic),) = _worker_lines(shaped_server)
    assert kinds == set(declared)
    assert periodic == {name for name, kind in declared.items() if kind.every is not None}
    assert {"repos.rollup_popularity", "repos.reconcile", "maintenance.gc"} <= periodic


def test_downloads_put_a_repo_first_at_once(api: HfApi, repo_name: str, cache_dir: Path) -> None:
    quiet, popular = f"alice/{repo_name}-quiet", f"alice/{repo_name}-popular"
    for repo_id in (quiet, popular):
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id=repo_id)
    for _ in range(3):
        hf_hub_download(popular, "config.json", cache_dir=cache_dir, force_download=True)

    def first(sort: str) -> str:
        return next(iter(api.list_models(search=repo_name, sort=sort))).id

    def counts() -> tuple[int | None, float | None]:
        info = api.model_info(popular, expand=["downloads", "trendingScore"])
        return info.downloads, info.trending_score

    # Counts are written behind, about once a second (HEAD /resolve stays free of writes): wait for them.
    assert wait_until(lambda: counts() == (3, 3))
    assert first("downloads") == popular
    assert first("trendingScore") == popular
