"""Bad input gets the Hub's status and error code, and nothing is written."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.support.accounts import Identities
from tests.support.server import LiveServer


@pytest.fixture
def repo(api: HfApi, repo_name: str) -> str:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    return repo_id


def _commit(server: LiveServer, token: str, repo: str, lines: list[object] | bytes) -> httpx.Response:
    body = lines if isinstance(lines, bytes) else b"\n".join(json.dumps(line).encode() for line in lines)
    return httpx.post(
        f"{server.url}/api/models/{repo}/commit/main",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )


def _header(summary: str = "x") -> dict[str, object]:
    return {"key": "header", "value": {"summary": summary}}


def _file(path: str, content: bytes = b"x") -> dict[str, object]:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
    }


def test_clients_raise_the_right_exceptions(api: HfApi, repo: str) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo, revision="missing-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo, "missing.txt")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/does-not-exist", "config.json")


def test_every_error_carries_code_and_message(server: LiveServer, repo: str) -> None:
    missing = httpx.head(f"{server.url}/{repo}/resolve/main/missing.txt")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "EntryNotFound"
    assert missing.headers["x-repo-commit"]  # lets the client cache the absence
    no_repo = httpx.get(f"{server.url}/api/models/alice/nope-{repo[-6:]}")
    assert (no_repo.status_code, no_repo.headers["x-error-code"]) == (404, "RepoNotFound")
    assert no_repo.headers["x-error-message"]


@pytest.mark.parametrize("name", ["-bad", "bad-", "a--b", "a..b", "x" * 97, "has space", "name.git", "é"])
def test_invalid_repo_names_are_refused(api: HfApi, server: LiveServer, ids: Identities, name: str) -> None:
    response = httpx.post(
        f"{server.url}/api/repos/create",
        json={"name": name, "organization": "alice"},
        headers={"Authorization": f"Bearer {ids.alice}"},
    )
    assert response.status_code == 400
    assert response.headers["x-error-code"] == "BadRequest"


@pytest.mark.parametrize("path", ["../escape.txt", "/abs.txt", "a/../../b", ".git/config", "a//b", "dir/./x"])
def test_paths_that_escape_the_repo_are_refused(
    api: HfApi, server: LiveServer, ids: Identities, repo: str, path: str
) -> None:
    before = api.model_info(repo).sha
    response = _commit(server, ids.alice, repo, [_header(), _file(path)])
    assert response.status_code == 422, response.text  # the Hub's status for a bad path
    assert api.model_info(repo).sha == before


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"key": "header", "value": {"summary": "x"}}\n{"key": "file", "value": ',
        b'{"key": "file", "value": {"path": "a.txt", "content": "eA==", "encoding": "base64"}}',
        b'{"key": "header", "value": {"summary": "x"}}\n{"key": "mystery", "value": {"path": "a"}}',
        b'{"key": "header", "value": {"summary": "x"}}\n'
        b'{"key": "file", "value": {"path": "a", "content": "***", "encoding": "base64"}}',
        b'{"key": "header", "value": {"summary": ""}}',
    ],
    ids=["garbage", "truncated", "no-header", "unknown-op", "bad-base64", "empty-summary"],
)
def test_malformed_commit_payloads_write_nothing(
    api: HfApi, server: LiveServer, ids: Identities, repo: str, body: bytes
) -> None:
    before = api.model_info(repo).sha
    response = _commit(server, ids.alice, repo, body)
    assert response.status_code == 400, response.text
    assert response.headers["x-error-message"]
    assert api.model_info(repo).sha == before


def test_lfs_file_never_uploaded_is_refused(api: HfApi, server: LiveServer, ids: Identities, repo: str) -> None:
    before = api.model_info(repo).sha
    oid = hashlib.sha256(b"phantom").hexdigest()
    response = _commit(
        server,
        ids.alice,
        repo,
        [_header(), {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": 7}}],
    )
    assert response.status_code == 400
    assert api.model_info(repo).sha == before


def test_lfs_upload_with_wrong_content_or_size_is_refused(
    api: HfApi, server: LiveServer, ids: Identities, repo: str
) -> None:
    """Wherever the bytes go (through Dockyard, or straight to object storage with a presigned
    URL), content that is not what the batch announced is never accepted nor referenced."""
    content = b"the real bytes"
    oid = hashlib.sha256(content).hexdigest()
    auth = {"Authorization": f"Bearer {ids.alice}"}
    batch = httpx.post(
        f"{server.url}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(content)}]},
        headers={**auth, "Accept": "application/vnd.git-lfs+json"},
    )
    actions = batch.json()["objects"][0]["actions"]
    upload, verify = actions["upload"]["href"], actions["verify"]["href"]
    through_dockyard = upload.startswith(server.url)

    wrong_bytes = httpx.put(upload, content=b"other bytes!!!")  # same length, other content
    if through_dockyard:
        assert wrong_bytes.status_code == 400
        assert httpx.put(upload, content=b"short").status_code == 400
        assert httpx.put(upload[:-3] + "abc", content=content).status_code == 401
    else:  # the storage took the bytes into private staging; the verify step must refuse them
        assert httpx.put(upload, content=b"short").status_code >= 400  # the length is signed
    assert httpx.post(verify, json={"oid": oid, "size": len(content)}, headers=auth).status_code in (400, 404)
    refused = _commit(
        server,
        ids.alice,
        repo,
        [_header(), {"key": "lfsFile", "value": {"path": "w.bin", "oid": oid, "size": len(content)}}],
    )
    assert refused.status_code == 400

    assert httpx.put(upload, content=content).status_code == 200
    assert httpx.post(verify, json={"oid": oid, "size": len(content)}, headers=auth).status_code == 200
    accepted = _commit(
        server,
        ids.alice,
        repo,
        [_header(), {"key": "lfsFile", "value": {"path": "w.bin", "oid": oid, "size": len(content)}}],
    )
    assert accepted.status_code == 200
    with open(api.hf_hub_download(repo, "w.bin", force_download=True), "rb") as handle:
        assert handle.read() == content


def test_oversized_commit_body_is_refused(server: LiveServer, ids: Identities, repo: str) -> None:
    response = httpx.post(
        f"{server.url}/api/models/{repo}/preupload/main",
        content=b"x" * (17 * 1024 * 1024),
        headers={"Authorization": f"Bearer {ids.alice}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_deleting_missing_file_is_entry_not_found(api: HfApi, repo: str) -> None:
    with pytest.raises(EntryNotFoundError):
        api.delete_file("nothing-here.txt", repo)


def test_commit_to_a_tag_is_refused(api: HfApi, repo: str) -> None:
    api.create_tag(repo, tag="frozen")
    with pytest.raises(HfHubHTTPError) as error:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo, revision="frozen")
    assert error.value.response.status_code == 400
