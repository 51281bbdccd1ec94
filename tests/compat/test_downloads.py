"""Downloads: hf_hub_download, snapshot_download, HEAD metadata, ranges, revisions, offline use."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RevisionNotFoundError

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.support.waiting import wait_until


@pytest.fixture
def model_repo(api: HfApi, repo_name: str, lfs_transfer: None) -> str:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id=repo_id)
    api.upload_file(
        path_or_fileobj=io.BytesIO(bytes(range(256)) * 4096),
        path_in_repo="model.safetensors",
        repo_id=repo_id,
    )
    api.upload_file(path_or_fileobj=b"docs", path_in_repo="docs/guide.md", repo_id=repo_id)
    return repo_id


def test_head_metadata_for_regular_and_lfs_files(model_repo: str, ids: Identities) -> None:
    sha = HfApi(token=ids.alice).model_info(model_repo).sha
    regular = get_hf_file_metadata(hf_hub_url(model_repo, "config.json"), token=ids.alice)
    assert regular.commit_hash == sha
    assert regular.size == len(b'{"model_type": "bert"}')
    assert regular.etag == HfApi(token=ids.alice).get_paths_info(model_repo, ["config.json"])[0].blob_id

    large = get_hf_file_metadata(hf_hub_url(model_repo, "model.safetensors"), token=ids.alice)
    content = bytes(range(256)) * 4096
    assert large.etag == hashlib.sha256(content).hexdigest()
    assert large.size == len(content)


def test_range_requests_return_206(model_repo: str, server: LiveServer, ids: Identities) -> None:
    headers = {"Authorization": f"Bearer {ids.alice}", "Range": "bytes=10-19"}
    for path, content in (
        ("model.safetensors", bytes(range(256)) * 4096),
        ("config.json", b'{"model_type": "bert"}'),
    ):
        # Storage that offers direct URLs answers with a redirect carrying the Range on; follow it.
        response = httpx.get(f"{server.url}/{model_repo}/resolve/main/{path}", headers=headers, follow_redirects=True)
        # Dockyard answers 206 itself; after a redirect the storage answers (rclone says 200 with the
        # right Content-Range and bytes, where S3 says 206), so the bytes and range are what we check.
        assert response.status_code == 206 or (response.history and response.status_code == 200)
        assert response.content == content[10:20]
        assert response.headers["content-range"] == f"bytes 10-19/{len(content)}"
    beyond = httpx.get(f"{server.url}/{model_repo}/resolve/main/config.json", headers={"Range": "bytes=999-"})
    assert beyond.status_code == 416


def test_snapshot_download_with_patterns(model_repo: str, cache_dir: Path) -> None:
    everything = Path(snapshot_download(model_repo, cache_dir=cache_dir))
    assert sorted(p.relative_to(everything).as_posix() for p in everything.rglob("*") if p.is_file()) == [
        ".gitattributes",
        "config.json",
        "docs/guide.md",
        "model.safetensors",
    ]
    only_json = Path(snapshot_download(model_repo, cache_dir=cache_dir / "json", allow_patterns=["*.json"]))
    assert [p.name for p in only_json.rglob("*") if p.is_file()] == ["config.json"]
    no_docs = Path(
        snapshot_download(model_repo, cache_dir=cache_dir / "nodocs", ignore_patterns=["docs/*", "*.safetensors"])
    )
    assert sorted(p.name for p in no_docs.rglob("*") if p.is_file()) == [".gitattributes", "config.json"]


def test_revisions_branch_tag_sha_short_sha_and_pr(api: HfApi, model_repo: str, cache_dir: Path) -> None:
    first = api.model_info(model_repo).sha
    api.create_tag(model_repo, tag="v1.0")
    api.create_branch(model_repo, branch="experiment")
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="version.txt", repo_id=model_repo)
    api.upload_file(path_or_fileobj=b"exp", path_in_repo="version.txt", repo_id=model_repo, revision="experiment")
    api.upload_file(path_or_fileobj=b"pr", path_in_repo="version.txt", repo_id=model_repo, create_pr=True)

    def read(revision: str) -> bytes:
        return Path(hf_hub_download(model_repo, "version.txt", revision=revision, cache_dir=cache_dir)).read_bytes()

    assert read("main") == b"v2"
    assert read("experiment") == b"exp"
    assert read("refs/pr/1") == b"pr"
    with pytest.raises(EntryNotFoundError):
        read("v1.0")
    with pytest.raises(EntryNotFoundError):
        read(first)
    assert api.model_info(model_repo, revision="v1.0").sha == first
    assert api.model_info(model_repo, revision=first[:7]).sha == first
    assert Path(hf_hub_download(model_repo, "config.json", revision=first[:10], cache_dir=cache_dir)).exists()
    with pytest.raises(RevisionNotFoundError):
        read("no-such-branch")


def test_offline_mode_serves_from_cache(model_repo: str, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    online = hf_hub_download(model_repo, "config.json", cache_dir=cache_dir)
    snapshot_download(model_repo, cache_dir=cache_dir)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hf_hub_download(model_repo, "config.json", cache_dir=cache_dir) == online
    assert Path(snapshot_download(model_repo, cache_dir=cache_dir), "model.safetensors").exists()
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download(model_repo, "never-downloaded.txt", cache_dir=cache_dir)


def test_dataset_and_space_downloads(api: HfApi, repo_name: str, cache_dir: Path) -> None:
    api.create_repo(f"alice/{repo_name}", repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n",
        path_in_repo="data/train.csv",
        repo_id=f"alice/{repo_name}",
        repo_type="dataset",
    )
    api.create_repo(f"alice/{repo_name}", repo_type="space", space_sdk="static")
    api.upload_file(
        path_or_fileobj=b"<h1>hi</h1>",
        path_in_repo="index.html",
        repo_id=f"alice/{repo_name}",
        repo_type="space",
    )

    csv = hf_hub_download(f"alice/{repo_name}", "data/train.csv", repo_type="dataset", cache_dir=cache_dir)
    html = hf_hub_download(f"alice/{repo_name}", "index.html", repo_type="space", cache_dir=cache_dir)
    assert Path(csv).read_bytes() == b"a,b\n1,2\n"
    assert Path(html).read_bytes() == b"<h1>hi</h1>"


def test_downloads_are_counted_once_per_client_download(api: HfApi, model_repo: str, cache_dir: Path) -> None:
    before = api.model_info(model_repo).downloads
    hf_hub_download(model_repo, "config.json", cache_dir=cache_dir)  # HEAD + GET: one download
    hf_hub_download(model_repo, "config.json", cache_dir=cache_dir)  # cached: HEAD only, one more
    hf_hub_download(model_repo, "model.safetensors", cache_dir=cache_dir)  # not the query file
    # Counts are written behind, about once a second (HEAD /resolve stays free of writes): wait for them.
    assert wait_until(lambda: api.model_info(model_repo).downloads >= before + 2)
    assert api.model_info(model_repo).downloads == before + 2
    assert [m.downloads for m in api.list_models(search=model_repo.split("/")[1], expand=["downloads"])] == [before + 2]


def test_large_file_streams_intact(
    api: HfApi, repo_name: str, lfs_transfer: None, tmp_path: Path, cache_dir: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(9 * 1024 * 1024 + 7))
    api.upload_file(path_or_fileobj=source, path_in_repo="weights.bin", repo_id=repo_id)
    downloaded = hf_hub_download(repo_id, "weights.bin", cache_dir=cache_dir)
    assert hashlib.sha256(Path(downloaded).read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
