"""Garbage collection frees content no commit references, and keeps everything else intact.

GC with no grace period would race the other tests' uploads, so these tests get a server of
their own.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.support.accounts import create_identities
from tests.support.backends import Backend, free_port
from tests.support.server import LiveServer, start_server


@pytest.fixture
def own_server(tmp_path: Path, backend: Backend) -> Iterator[tuple[LiveServer, str]]:
    live = start_server(tmp_path / "data", free_port(), backend=backend)
    try:
        yield live, create_identities(live.data_dir, live.env).alice
    finally:
        live.stop()


def _usage(server: LiveServer, token: str, repo_id: str) -> dict[str, int]:
    return httpx.get(f"{server.url}/api/models/{repo_id}/storage", headers={"Authorization": f"Bearer {token}"}).json()


def _gc(server: LiveServer) -> dict[str, int]:
    return json.loads(server.cli("gc", "--grace-seconds", "0").stdout)


def test_deleted_and_squashed_content_is_freed(own_server: tuple[LiveServer, str], tmp_path: Path) -> None:
    server, token = own_server
    api = HfApi(endpoint=server.url, token=token)
    repo_id = "alice/gc-model"
    api.create_repo(repo_id)
    kept, dropped = os.urandom(2_000_000), os.urandom(3_000_000)
    (tmp_path / "kept.bin").write_bytes(kept)
    (tmp_path / "dropped.bin").write_bytes(dropped)
    api.upload_file(path_or_fileobj=tmp_path / "kept.bin", path_in_repo="kept.bin", repo_id=repo_id)
    api.upload_file(path_or_fileobj=tmp_path / "dropped.bin", path_in_repo="dropped.bin", repo_id=repo_id)
    api.create_branch(repo_id, branch="old")

    nothing = _gc(server)  # everything is referenced: nothing goes
    assert (nothing["objects_removed"], nothing["xorbs_removed"]) == (0, 0)

    api.delete_file("dropped.bin", repo_id)
    still_on_branch = _gc(server)  # branch "old" still references dropped.bin
    assert still_on_branch["xorbs_removed"] == 0

    api.delete_branch(repo_id, branch="old")
    api.super_squash_history(repo_id)  # no history left that points at dropped.bin
    before = _usage(server, token, repo_id)
    report = _gc(server)

    assert report["objects_removed"] == 1
    assert report["xorbs_removed"] >= 1
    assert report["bytes_freed"] >= len(dropped)
    after = _usage(server, token, repo_id)
    assert after["logicalBytes"] == len(kept) < before["logicalBytes"]
    path = hf_hub_download(repo_id, "kept.bin", endpoint=server.url, token=token, cache_dir=tmp_path / "cache")
    assert hashlib.sha256(Path(path).read_bytes()).digest() == hashlib.sha256(kept).digest()


def test_deleting_a_repo_frees_its_lfs_content(
    own_server: tuple[LiveServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, token = own_server
    api = HfApi(endpoint=server.url, token=token)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api.create_repo("alice/gc-lfs")
    (tmp_path / "w.bin").write_bytes(os.urandom(500_000))
    api.upload_file(path_or_fileobj=tmp_path / "w.bin", path_in_repo="w.bin", repo_id="alice/gc-lfs")
    assert server.blob_files("lfs")

    api.delete_repo("alice/gc-lfs")
    report = _gc(server)

    assert report["objects_removed"] == 1
    assert server.blob_files("lfs") == []


def test_recent_unreferenced_uploads_survive_the_grace_period(
    own_server: tuple[LiveServer, str], tmp_path: Path
) -> None:
    """An upload whose commit has not happened yet is unreferenced, but young: it must stay."""
    server, token = own_server
    api = HfApi(endpoint=server.url, token=token)
    api.create_repo("alice/gc-inflight")
    (tmp_path / "a.bin").write_bytes(os.urandom(1_000_000))
    api.upload_file(path_or_fileobj=tmp_path / "a.bin", path_in_repo="a.bin", repo_id="alice/gc-inflight")
    api.delete_file("a.bin", "alice/gc-inflight")
    api.super_squash_history("alice/gc-inflight")

    report = json.loads(server.cli("gc", "--grace-seconds", "3600").stdout)

    assert (report["objects_removed"], report["xorbs_removed"]) == (0, 0)


def test_a_deleted_datasets_search_index_is_freed(own_server: tuple[LiveServer, str]) -> None:
    """The viewer's search index is stored content too: it goes with its dataset."""
    from tests.support.waiting import wait_until

    server, token = own_server
    api, repo_id = HfApi(endpoint=server.url, token=token), "alice/gc-viewer"
    api.create_repo(repo_id, repo_type="dataset")
    csv = b"text,n\na harbour at dawn,1\ngales in the night,2\n"
    api.upload_file(path_or_fileobj=csv, path_in_repo="data.csv", repo_id=repo_id, repo_type="dataset")
    sha = api.dataset_info(repo_id).sha

    def indexed() -> bool:
        report = json.loads(server.cli("viewer", "status", repo_id, "--revision", str(sha)).stdout)
        return bool(report["steps"]["search-index"]["status"] == "ok")

    assert wait_until(indexed, timeout=120, poll=0.5)
    assert len(server.blob_files("viewer/search")) == 1
    assert _gc(server)["search_indexes_removed"] == 0  # still named by its dataset's results

    api.delete_repo(repo_id, repo_type="dataset")
    report = _gc(server)

    assert report["search_indexes_removed"] == 1
    assert server.blob_files("viewer/search") == []
