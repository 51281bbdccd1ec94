"""Backup while the hub runs, wipe, restore: refs, content and what clients see are identical."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.support.accounts import create_identities
from tests.support.backends import Backend, free_port
from tests.support.server import LiveServer, server_env, start_server


def _refs(server: LiveServer) -> dict[str, dict[str, str]]:
    found = {}
    for path in (server.data_dir / "repos").glob("*/*.git"):
        repo = pygit2.Repository(str(path))
        found[path.name] = {name: str(repo.references[name].target) for name in repo.references}
    return found


def _blob_digests(server: LiveServer) -> dict[str, str]:
    return {
        p.relative_to(server.blob_root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for prefix in ("lfs", "xet")
        for p in server.blob_files(prefix)
    }


def test_backup_wipe_restore(tmp_path: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    original = start_server(tmp_path / "original", free_port(), backend=backend)
    try:
        token = create_identities(original.data_dir, original.env).alice
        api = HfApi(endpoint=original.url, token=token)
        api.create_repo("acme/model", private=True)
        (tmp_path / "w.safetensors").write_bytes(os.urandom(1_200_000))
        api.upload_file(path_or_fileobj=tmp_path / "w.safetensors", path_in_repo="w.safetensors", repo_id="acme/model")
        api.upload_file(path_or_fileobj=b"# card\n", path_in_repo="README.md", repo_id="acme/model")
        api.create_tag("acme/model", tag="v1", tag_message="first")
        api.create_branch("acme/model", branch="dev")
        api.upload_file(path_or_fileobj=b"pr", path_in_repo="pr.txt", repo_id="acme/model", create_pr=True)
        from huggingface_hub import constants

        with monkeypatch.context() as patch:
            patch.setattr(constants, "HF_HUB_DISABLE_XET", True)
            api.create_repo("alice/data", repo_type="dataset")
            api.upload_file(
                path_or_fileobj=os.urandom(300_000),
                path_in_repo="train.parquet",
                repo_id="alice/data",
                repo_type="dataset",
            )
        result = original.cli("backup", str(tmp_path / "backup"))  # while the server runs
        assert "backed up 2 repos" in result.stdout
        refs, blobs = _refs(original), _blob_digests(original)
    finally:
        original.stop()

    restored_dir = tmp_path / "restored"
    state = backend.state_env(restored_dir)
    subprocess.run(
        [sys.executable, "-m", "dockyard", "restore", str(tmp_path / "backup"), "--data-dir", str(restored_dir)],
        env=server_env(state), check=True, capture_output=True,
    )  # fmt: skip
    restored = start_server(restored_dir, free_port(), backend=backend, state_env=state)
    try:
        assert _refs(restored) == refs
        assert _blob_digests(restored) == blobs
        api = HfApi(endpoint=restored.url, token=token)  # tokens, users and orgs came back too
        assert api.model_info("acme/model").private is True
        assert {t.name for t in api.list_repo_refs("acme/model").tags} == {"v1"}
        path = hf_hub_download(
            "acme/model", "w.safetensors", endpoint=restored.url, token=token, cache_dir=tmp_path / "c"
        )
        assert Path(path).read_bytes() == (tmp_path / "w.safetensors").read_bytes()
        api.upload_file(path_or_fileobj=b"after", path_in_repo="after.txt", repo_id="acme/model")  # ids keep counting
        api.create_repo("alice/new-after-restore")
    finally:
        restored.stop()


def test_restore_refuses_a_non_empty_hub(tmp_path: Path, backend: Backend) -> None:
    server = start_server(tmp_path / "hub", free_port(), backend=backend)
    try:
        create_identities(server.data_dir, server.env)
        server.cli("backup", str(tmp_path / "backup"))
        result = server.cli("restore", str(tmp_path / "backup"), check=False)
        assert result.returncode == 1
        assert "not empty" in result.stderr
    finally:
        server.stop()
