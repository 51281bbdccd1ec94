"""A server killed at the worst moment leaves every repo at its old state, and loses nothing.

Each test starts its own server with ``DOCKYARD_CRASH_AT`` set, so the process really exits
(``os._exit``) at that step; then a normal server on the same data answers.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from dockyard import faults
from tests.support.server import LiveServer, Restart


def _died(server: LiveServer) -> bool:
    assert server.process is not None
    return server.process.wait(timeout=60) == 70


_UPLOAD = "from huggingface_hub import HfApi; HfApi().upload_file(path_or_fileobj={}, path_in_repo={!r}, repo_id={!r})"


def _upload_until_crash(
    server: LiveServer, token: str, source: object, path: str, repo_id: str, env: dict[str, str] | None = None
) -> None:
    """Upload with a real client in its own process; once the server crashed, stop the client
    (its retries would otherwise wait out their backoff against a closed port)."""
    code = _UPLOAD.format(repr(source), path, repo_id)
    client_env = dict(os.environ, HF_ENDPOINT=server.url, HF_TOKEN=token, **(env or {}))
    client = subprocess.Popen(
        [sys.executable, "-c", code], env=client_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert _died(server), "the server did not reach the crash point"
    finally:
        client.kill()
        client.wait()


def test_crash_between_commit_objects_and_branch_update(crashable: tuple[Restart, str]) -> None:
    restart, token = crashable
    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    api.create_repo("alice/crash-commit")
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id="alice/crash-commit")
    sha = api.model_info("alice/crash-commit").sha

    server = restart(faults.COMMIT_OBJECTS_WRITTEN)
    _upload_until_crash(server, token, b"v2", "a.txt", "alice/crash-commit")

    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    assert api.model_info("alice/crash-commit").sha == sha
    assert api.list_repo_commits("alice/crash-commit")[0].title == "Upload a.txt with huggingface_hub"
    path = hf_hub_download("alice/crash-commit", "a.txt", endpoint=server.url, token=token, force_download=True)
    assert Path(path).read_bytes() == b"v1"
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id="alice/crash-commit")  # works again


def test_crash_during_lfs_upload_leaves_nothing_visible(
    crashable: tuple[Restart, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    restart, token = crashable
    server = restart(None)
    HfApi(endpoint=server.url, token=token).create_repo("alice/crash-lfs")
    content = os.urandom(1_000_000)

    source = tmp_path / "w.bin"
    source.write_bytes(content)
    server = restart(faults.LFS_STAGED)
    _upload_until_crash(server, token, str(source), "w.bin", "alice/crash-lfs", {"HF_HUB_DISABLE_XET": "1"})

    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    assert api.list_repo_files("alice/crash-lfs") == [".gitattributes"]
    assert server.blob_files("lfs") == []
    oid = hashlib.sha256(content).hexdigest()
    batch = httpx.post(
        f"{server.url}/alice/crash-lfs.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": oid, "size": len(content)}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert batch.json()["objects"][0]["error"]["code"] == 404
    api.upload_file(path_or_fileobj=io.BytesIO(content), path_in_repo="w.bin", repo_id="alice/crash-lfs")
    assert "w.bin" in api.list_repo_files("alice/crash-lfs")


def test_crash_before_xet_files_are_registered(crashable: tuple[Restart, str], tmp_path: Path) -> None:
    restart, token = crashable
    server = restart(None)
    HfApi(endpoint=server.url, token=token).create_repo("alice/crash-xet")
    source = tmp_path / "model.safetensors"
    source.write_bytes(os.urandom(1_500_000))

    server = restart(faults.XET_SHARD_VERIFIED)
    _upload_until_crash(server, token, str(source), "model.safetensors", "alice/crash-xet")

    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    assert api.list_repo_files("alice/crash-xet") == [".gitattributes"]
    usage = httpx.get(f"{server.url}/api/models/alice/crash-xet/storage", headers={"Authorization": f"Bearer {token}"})
    assert usage.json()["files"] == 0  # no file registered, so nothing can point at missing chunks
    api.upload_file(path_or_fileobj=source, path_in_repo="model.safetensors", repo_id="alice/crash-xet")
    path = hf_hub_download(
        "alice/crash-xet", "model.safetensors", endpoint=server.url, token=token, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == source.read_bytes()
