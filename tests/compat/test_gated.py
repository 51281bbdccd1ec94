"""Gated repos with the real client: metadata stays readable, files need an accepted request."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import GatedRepoError

from tests.support.accounts import Identities
from tests.support.server import LiveServer

CARD = """---
license: other
extra_gated_prompt: You agree to use this model for research only.
extra_gated_fields:
  Company: text
  I agree to the terms: checkbox
---
# Gated model
"""


@pytest.fixture
def gated_repo(ids: Identities, repo_name: str, tmp_path: Path) -> str:
    owner = HfApi(token=ids.alice)
    repo_id = f"acme/{repo_name}"
    owner.create_repo(repo_id)
    owner.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    (tmp_path / "w.safetensors").write_bytes(os.urandom(200_000))
    owner.upload_file(path_or_fileobj=tmp_path / "w.safetensors", path_in_repo="model.safetensors", repo_id=repo_id)
    owner.update_repo_settings(repo_id, gated="manual")
    return repo_id


def _ask(server: LiveServer, token: str, repo_id: str, fields: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/models/{repo_id}/ask-access", json=fields, headers={"Authorization": f"Bearer {token}"}
    )


def test_manual_gate_request_accept_reject_cancel(
    gated_repo: str, ids: Identities, server: LiveServer, cache_dir: Path
) -> None:
    owner, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    assert bob.model_info(gated_repo).gated == "manual"  # metadata stays readable
    assert "model.safetensors" in bob.list_repo_files(gated_repo)
    with pytest.raises(GatedRepoError) as error:
        bob.hf_hub_download(gated_repo, "model.safetensors", cache_dir=cache_dir)
    assert error.value.response.status_code == 403
    with pytest.raises(GatedRepoError) as anonymous:
        hf_hub_download(gated_repo, "model.safetensors", token=False, cache_dir=cache_dir)
    assert anonymous.value.response.status_code == 401

    assert _ask(server, ids.bob, gated_repo, {"Company": ""}).status_code == 400  # required fields
    asked = _ask(server, ids.bob, gated_repo, {"Company": "Bob Labs", "I agree to the terms": True})
    assert asked.json() == {"status": "pending"}
    pending = owner.list_pending_access_requests(gated_repo)
    assert [(r.username, r.fields["Company"]) for r in pending] == [("bob", "Bob Labs")]
    with pytest.raises(GatedRepoError):
        bob.hf_hub_download(gated_repo, "model.safetensors", cache_dir=cache_dir)

    owner.accept_access_request(gated_repo, "bob")
    assert [r.username for r in owner.list_accepted_access_requests(gated_repo)] == ["bob"]
    assert Path(bob.hf_hub_download(gated_repo, "model.safetensors", cache_dir=cache_dir)).stat().st_size == 200_000

    owner.reject_access_request(gated_repo, "bob", rejection_reason="Not for commercial use")
    with pytest.raises(GatedRepoError):
        bob.hf_hub_download(gated_repo, "model.safetensors", cache_dir=cache_dir / "again")
    owner.cancel_access_request(gated_repo, "bob")
    assert [r.username for r in owner.list_pending_access_requests(gated_repo)] == ["bob"]

    with pytest.raises(Exception) as not_owner:  # noqa: PT011 - an outsider cannot manage requests
        bob.accept_access_request(gated_repo, "bob")
    assert getattr(not_owner.value, "response", None) is not None
    assert not_owner.value.response.status_code == 403


def test_grant_access_and_auto_gate(gated_repo: str, ids: Identities, server: LiveServer, cache_dir: Path) -> None:
    owner, carol_outsider = HfApi(token=ids.alice), HfApi(token=ids.dave)
    owner.grant_access(gated_repo, "bob")
    assert Path(snapshot_download(gated_repo, token=ids.bob, cache_dir=cache_dir), "model.safetensors").exists()

    owner.update_repo_settings(gated_repo, gated="auto")
    repo_as_other = f"alice/{gated_repo.split('/')[1]}-auto"
    owner.create_repo(repo_as_other)
    owner.upload_file(path_or_fileobj=b"x", path_in_repo="f.txt", repo_id=repo_as_other)
    owner.update_repo_settings(repo_as_other, gated="auto")
    with pytest.raises(GatedRepoError):
        carol_outsider.hf_hub_download(repo_as_other, "f.txt", cache_dir=cache_dir)
    assert _ask(server, ids.dave, repo_as_other, {}).json() == {"status": "accepted"}
    assert Path(carol_outsider.hf_hub_download(repo_as_other, "f.txt", cache_dir=cache_dir)).read_bytes() == b"x"


def test_members_read_gated_content_without_asking(gated_repo: str, ids: Identities, cache_dir: Path) -> None:
    carol = HfApi(token=ids.carol)  # read member of acme
    assert Path(carol.hf_hub_download(gated_repo, "README.md", cache_dir=cache_dir)).read_text() == CARD


def test_gate_applies_to_lfs_and_xet_paths(gated_repo: str, ids: Identities, server: LiveServer) -> None:
    oid = HfApi(token=ids.alice).get_paths_info(gated_repo, ["model.safetensors"])[0].lfs.sha256
    batch = httpx.post(
        f"{server.url}/{gated_repo}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": oid, "size": 200_000}]},
        headers={"Authorization": f"Bearer {ids.bob}"},
    )
    assert batch.status_code == 403
    token = httpx.get(
        f"{server.url}/api/models/{gated_repo}/xet-read-token/main", headers={"Authorization": f"Bearer {ids.bob}"}
    )
    assert token.status_code == 403
    assert token.headers["x-error-code"] == "GatedRepo"
    plain = httpx.get(f"{server.url}/{gated_repo}/resolve/main/model.safetensors")
    assert (plain.status_code, plain.headers["x-error-code"]) == (401, "GatedRepo")
