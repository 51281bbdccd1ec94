"""HEAD /resolve's caches are invalidated by the database, not by one process's memory.

Two API processes on one database and one repos folder (as ``serve --workers 2`` or two hosts
behind a proxy): every change made through one, or by the CLI (a third process), is answered by
the other on its very next request, after that other process had cached the old state. Download
counts taken by one process land in the database within about a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.backends import Backend
from tests.support.server import LiveServer
from tests.support.two_servers import Pair, two_servers
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Pair]:
    """Started once for the module: each test makes its own repo (and token)."""
    with two_servers(tmp_path_factory.mktemp("resolve-cache") / "data", backend) as both:
        yield both


def _head(server: LiveServer, repo_id: str, path: str, token: str | None, revision: str = "main") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["X-HF-Download-Counter"] = "1"
    return httpx.head(f"{server.url}/{repo_id}/resolve/{revision}/{path}", headers=headers)


def _new_repo(pair: Pair, **files: bytes) -> tuple[HfApi, str]:
    from huggingface_hub import CommitOperationAdd

    api = HfApi(endpoint=pair.writer.url, token=pair.ids.alice)
    repo_id = f"alice/cache-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    operations = [CommitOperationAdd(name, data) for name, data in files.items()]
    api.create_commit(repo_id, operations, commit_message="files")
    return api, repo_id


def _warm(pair: Pair, repo_id: str, path: str, token: str | None) -> httpx.Response:
    """Two answers from the reader: the second comes from its caches."""
    _head(pair.reader, repo_id, path, token)
    response = _head(pair.reader, repo_id, path, token)
    assert response.status_code == 200
    return response


def test_a_repo_made_private_through_one_process_is_hidden_by_the_other_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair, **{"config.json": b"{}"})
    _warm(pair, repo_id, "config.json", pair.ids.bob)
    _warm(pair, repo_id, "config.json", None)

    api.update_repo_settings(repo_id, private=True)

    assert _head(pair.reader, repo_id, "config.json", pair.ids.bob).status_code == 404
    assert _head(pair.reader, repo_id, "config.json", None).status_code in (401, 404)
    assert _head(pair.reader, repo_id, "config.json", pair.ids.alice).status_code == 200

    api.update_repo_settings(repo_id, private=False)
    assert _head(pair.reader, repo_id, "config.json", pair.ids.bob).status_code == 200


def test_a_branch_moved_through_one_process_is_answered_by_the_other_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair, **{"a.txt": b"one"})
    before = _warm(pair, repo_id, "a.txt", pair.ids.bob)

    commit = api.upload_file(path_or_fileobj=b"two!", path_in_repo="a.txt", repo_id=repo_id)

    after = _head(pair.reader, repo_id, "a.txt", pair.ids.bob)
    assert after.headers["X-Repo-Commit"] == commit.oid != before.headers["X-Repo-Commit"]
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["Content-Length"] == "4"

    api.create_branch(repo_id, branch="dev")
    assert _warm(pair, repo_id, "a.txt", pair.ids.bob).status_code == 200
    assert _head(pair.reader, repo_id, "a.txt", pair.ids.bob, revision="dev").status_code == 200
    api.delete_branch(repo_id, branch="dev")
    assert _head(pair.reader, repo_id, "a.txt", pair.ids.bob, revision="dev").status_code == 404


def test_a_token_revoked_by_another_process_is_refused_at_once(pair: Pair) -> None:
    _, repo_id = _new_repo(pair, **{"a.txt": b"one"})
    created = pair.writer.cli("token", "create", "bob", "--role", "read", "--name", "cache-probe")
    value = created.stdout.strip().splitlines()[-1]
    _warm(pair, repo_id, "a.txt", value)
    line = next(r for r in pair.writer.cli("token", "list", "bob").stdout.splitlines() if "cache-probe" in r)

    pair.writer.cli("token", "revoke", "bob", line.split("\t")[0])  # the CLI: a third process

    assert _head(pair.reader, repo_id, "a.txt", value).status_code == 401


def test_a_deleted_repo_is_gone_from_the_other_process_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair, **{"a.txt": b"one"})
    _warm(pair, repo_id, "a.txt", pair.ids.bob)

    api.delete_repo(repo_id)

    assert _head(pair.reader, repo_id, "a.txt", pair.ids.bob).status_code == 404


def test_downloads_counted_by_one_process_land_within_a_second_or_two(pair: Pair) -> None:
    api, repo_id = _new_repo(pair, **{"config.json": b"{}", "tokenizer.json": b"{}"})
    for _ in range(5):
        assert _head(pair.reader, repo_id, "config.json", pair.ids.bob).status_code == 200
    assert _head(pair.reader, repo_id, "tokenizer.json", pair.ids.bob).status_code == 200  # not a counted file

    def counted() -> bool:
        return api.model_info(repo_id).downloads == 5

    assert wait_until(counted, timeout=5.0)


def test_gating_turned_on_through_one_process_is_enforced_by_the_other_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair, **{"config.json": b"{}"})
    _warm(pair, repo_id, "config.json", pair.ids.bob)

    api.update_repo_settings(repo_id, gated="manual")

    assert _head(pair.reader, repo_id, "config.json", pair.ids.bob).status_code == 403
    api.grant_access(repo_id, "bob")
    assert _head(pair.reader, repo_id, "config.json", pair.ids.bob).status_code == 200
