"""Repo info's caches are invalidated by the database, not by one process's memory.

Two API processes on one database and one repos folder (as ``serve --workers 2`` or two hosts
behind a proxy). The reader answers each info twice first (the second from its caches: the
see-grant for the epoch, the rendered answer for the repo row); then a change is made through the
writer, the CLI (a third process) or straight in the database, and the reader's very next answer
must show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from sqlalchemy import update

from dockyard.db.database import Database
from dockyard.repos.models import Repo
from dockyard.settings import Settings
from tests.support.backends import Backend
from tests.support.server import LiveServer
from tests.support.two_servers import Pair, two_servers


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Pair]:
    """Started once for the module: each test makes its own repo (and token)."""
    with two_servers(tmp_path_factory.mktemp("info-cache") / "data", backend) as both:
        yield both


def _info(server: LiveServer, repo_id: str, token: str | None, suffix: str = "") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/api/models/{repo_id}{suffix}", headers=headers)


def _warm(pair: Pair, repo_id: str, token: str | None, suffix: str = "") -> dict[str, Any]:
    """Two answers from the reader, equal: the second comes from its caches."""
    first = _info(pair.reader, repo_id, token, suffix)
    second = _info(pair.reader, repo_id, token, suffix)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    data: dict[str, Any] = second.json()
    return data


def _new_repo(pair: Pair, readme: str = "---\nlicense: mit\n---\n# one\n") -> tuple[HfApi, str]:
    api = HfApi(endpoint=pair.writer.url, token=pair.ids.alice)
    repo_id = f"alice/info-cache-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    files = [CommitOperationAdd("README.md", readme.encode()), CommitOperationAdd("config.json", b"{}")]
    api.create_commit(repo_id, files, commit_message="files")
    return api, repo_id


def _database(server: LiveServer) -> Database:
    settings = Settings(data_dir=server.data_dir, database_url=server.env.get("DOCKYARD_DATABASE_URL"))
    return Database(settings.resolved_database_url())


def test_a_repo_made_private_through_one_process_is_hidden_by_the_other_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair)
    assert _warm(pair, repo_id, pair.ids.bob)["private"] is False
    _warm(pair, repo_id, None)
    _warm(pair, repo_id, pair.ids.alice)

    api.update_repo_settings(repo_id, private=True)

    assert _info(pair.reader, repo_id, pair.ids.bob).status_code == 404
    assert _info(pair.reader, repo_id, pair.ids.bob, "/revision/main").status_code == 404
    anonymous = _info(pair.reader, repo_id, None)
    assert anonymous.status_code == _info(pair.writer, repo_id, None).status_code  # as the full path answers
    assert anonymous.status_code in (401, 404)
    assert anonymous.headers["X-Error-Code"] == "RepoNotFound"
    assert _info(pair.reader, repo_id, pair.ids.alice).json()["private"] is True

    api.update_repo_settings(repo_id, private=False)
    assert _info(pair.reader, repo_id, pair.ids.bob).json()["private"] is False


def test_a_card_edited_through_one_process_is_answered_by_the_other_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair)
    before = _warm(pair, repo_id, pair.ids.bob)
    at_main = _warm(pair, repo_id, pair.ids.bob, "/revision/main")
    assert before["cardData"]["license"] == at_main["cardData"]["license"] == "mit"

    commit = api.upload_file(
        path_or_fileobj=b"---\nlicense: apache-2.0\n---\n# two\n", path_in_repo="README.md", repo_id=repo_id
    )

    for suffix in ("", "/revision/main"):
        after = _info(pair.reader, repo_id, pair.ids.bob, suffix).json()
        assert after["sha"] == commit.oid != before["sha"]
        assert after["cardData"]["license"] == "apache-2.0"
    # The older commit still answers as it was (its answer is immutable, and cached).
    old = _info(pair.reader, repo_id, pair.ids.bob, f"/revision/{before['sha']}").json()
    assert old["sha"] == before["sha"]
    assert old["cardData"]["license"] == "mit"


def test_a_like_through_one_process_is_counted_by_the_other_at_once(pair: Pair) -> None:
    _, repo_id = _new_repo(pair)
    assert _warm(pair, repo_id, pair.ids.alice)["likes"] == 0

    like = f"{pair.writer.url}/api/models/{repo_id}/like"
    bob = {"Authorization": f"Bearer {pair.ids.bob}"}

    assert httpx.post(like, headers=bob).status_code == 200
    assert _info(pair.reader, repo_id, pair.ids.alice).json()["likes"] == 1
    assert httpx.delete(like, headers=bob).status_code == 200
    assert _info(pair.reader, repo_id, pair.ids.alice).json()["likes"] == 0


def test_gating_turned_on_through_one_process_shows_in_the_other_and_info_stays_visible(pair: Pair) -> None:
    api, repo_id = _new_repo(pair)
    assert _warm(pair, repo_id, pair.ids.bob)["gated"] is False

    api.update_repo_settings(repo_id, gated="manual")

    response = _info(pair.reader, repo_id, pair.ids.bob)
    assert response.status_code == 200  # a gated repo's info is public; its files are not
    assert response.json()["gated"] == "manual"
    head = httpx.head(
        f"{pair.reader.url}/{repo_id}/resolve/main/config.json", headers={"Authorization": f"Bearer {pair.ids.bob}"}
    )
    assert head.status_code == 403


def test_a_token_revoked_by_another_process_is_refused_at_once(pair: Pair) -> None:
    _, repo_id = _new_repo(pair)
    created = pair.writer.cli("token", "create", "bob", "--role", "read", "--name", "info-cache-probe")
    value = created.stdout.strip().splitlines()[-1]
    _warm(pair, repo_id, value)
    line = next(r for r in pair.writer.cli("token", "list", "bob").stdout.splitlines() if "info-cache-probe" in r)

    pair.writer.cli("token", "revoke", "bob", line.split("\t")[0])  # the CLI: a third process

    assert _info(pair.reader, repo_id, value).status_code == 401
    assert _info(pair.reader, repo_id, value, "/revision/main").status_code == 401


def test_a_change_written_straight_into_the_database_is_answered_at_once(pair: Pair) -> None:
    """No API process is told: only the row changed (as the download counter's flush does it)."""
    _, repo_id = _new_repo(pair)
    assert _warm(pair, repo_id, pair.ids.bob)["downloads"] == 0
    db = _database(pair.writer)
    try:
        with db.write() as session:
            session.execute(update(Repo).where(Repo.full_id == repo_id).values(downloads=41))
    finally:
        db.dispose()

    assert _info(pair.reader, repo_id, pair.ids.bob).json()["downloads"] == 41


def test_a_deleted_repo_is_gone_from_the_other_process_at_once(pair: Pair) -> None:
    api, repo_id = _new_repo(pair)
    _warm(pair, repo_id, pair.ids.bob)

    api.delete_repo(repo_id)

    assert _info(pair.reader, repo_id, pair.ids.bob).status_code == 404


def test_expand_and_blobs_answers_are_cached_apart(pair: Pair) -> None:
    _, repo_id = _new_repo(pair)
    plain = _warm(pair, repo_id, pair.ids.bob)
    blobs = _warm(pair, repo_id, pair.ids.bob, "?blobs=true")
    expanded = _warm(pair, repo_id, pair.ids.bob, "?expand[]=likes&expand[]=sha")

    assert "size" not in plain["siblings"][0]
    assert "size" in blobs["siblings"][0]
    assert set(expanded) == {"_id", "id", "modelId", "likes", "sha"}
    assert _info(pair.reader, repo_id, pair.ids.bob, "?expand[]=nope").status_code == 400
