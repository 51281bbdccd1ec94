"""Issue 9, refs and history: what an attacker with a write token (or a crash) could do to refs.

Each test drives a live server with the real client or real git, as the attacker would.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError
from sqlalchemy import select

from dockyard.cli.common import open_hub
from dockyard.hub import Hub
from dockyard.repos.models import Discussion, Repo
from tests.support.accounts import Identities, create_identities
from tests.support.backends import free_port
from tests.support.git import GitClient, repo_url
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until


@contextmanager
def _hub(server: LiveServer) -> Iterator[Hub]:
    """The server's own state, for setting up what has no API yet (closing a PR) and for finding a
    repository's folder on disk."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in server.env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(server.data_dir)
        try:
            yield hub
        finally:
            hub.db.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _git_dir(server: LiveServer, repo_id: str) -> Path:
    with _hub(server) as hub, hub.db.read() as session:
        uid = session.scalar(select(Repo.uid).where(Repo.full_id == repo_id))
        assert uid is not None
        return hub.git.path(uid)


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    assert error.value.response is not None
    return error.value.response.status_code


def _new_repo(server: LiveServer, token: str, name: str) -> tuple[HfApi, str, str]:
    api = HfApi(endpoint=server.url, token=token)
    repo_id = api.create_repo(name).repo_id
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id=repo_id).oid
    return api, repo_id, first


# -- attack 6: commits to someone else's pull request ----------------------------------------------------
def test_only_the_author_or_a_writer_commits_to_an_open_pull_request(
    server: LiveServer, ids: Identities, repo_name: str
) -> None:
    alice, repo_id, _ = _new_repo(server, ids.alice, repo_name)
    bob = HfApi(endpoint=server.url, token=ids.bob)
    carol = HfApi(endpoint=server.url, token=ids.carol)
    pr = bob.create_commit(
        repo_id, [_add("proposal.txt", b"bob's idea")], commit_message="Bob's proposal", create_pr=True
    )
    revision = f"refs/pr/{pr.pr_num}"

    with pytest.raises(HfHubHTTPError) as hijack:
        carol.upload_file(
            path_or_fileobj=b"carol was here", path_in_repo="proposal.txt", repo_id=repo_id, revision=revision
        )
    assert _status(hijack) == 403
    assert _read(server, repo_id, revision, "proposal.txt") == b"bob's idea"
    bob.upload_file(path_or_fileobj=b"bob v2", path_in_repo="proposal.txt", repo_id=repo_id, revision=revision)
    alice.upload_file(path_or_fileobj=b"alice's fix", path_in_repo="fix.txt", repo_id=repo_id, revision=revision)

    with _hub(server) as hub, hub.db.write() as session:
        repo = session.scalar(select(Repo).where(Repo.full_id == repo_id))
        assert repo is not None
        pull = session.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == pr.pr_num))
        assert pull is not None
        pull.status = "closed"
    head = alice.list_repo_refs(repo_id, include_pull_requests=True).pull_requests[0].target_commit
    for api in (bob, alice):
        with pytest.raises(HfHubHTTPError) as closed:
            api.upload_file(path_or_fileobj=b"late", path_in_repo="late.txt", repo_id=repo_id, revision=revision)
        assert _status(closed) == 403
    assert alice.list_repo_refs(repo_id, include_pull_requests=True).pull_requests[0].target_commit == head


def _add(path: str, data: bytes):  # type: ignore[no-untyped-def]
    from huggingface_hub import CommitOperationAdd

    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=data)


def _read(server: LiveServer, repo_id: str, revision: str, path: str) -> bytes:
    quoted = revision.replace("/", "%2F")
    return httpx.get(f"{server.url}/{repo_id}/resolve/{quoted}/{path}", follow_redirects=True).content


# -- attack 13: names a filesystem takes for .git -----------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [".GIT/config", ".Git/hooks/post-checkout", ".git./config", "GIT~1/config", ".git::$INDEX_ALLOCATION/config",
     ".git\u200c/config", "sub/.g\u200dit/hooks/pre-commit", ".git /config"],
)  # fmt: skip
def test_paths_that_become_dotgit_on_a_checkout_are_refused(
    server: LiveServer, ids: Identities, repo_name: str, path: str
) -> None:
    api, repo_id, head = _new_repo(server, ids.alice, repo_name)
    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=b"[core]\n\thooksPath = /tmp/evil\n", path_in_repo=path, repo_id=repo_id)
    assert _status(refused) == 422
    assert "reserved" in str(refused.value)
    assert api.repo_info(repo_id).sha == head


# -- attack 12: deleted history stays readable ---------------------------------------------------------------
def _fetch_by_sha(
    tmp_path: Path, server: LiveServer, token: str, repo_id: str, sha: str
) -> subprocess.CompletedProcess[str]:
    client = GitClient.create(tmp_path / f"home-{uuid.uuid4().hex[:6]}")
    work = tmp_path / f"fetch-{uuid.uuid4().hex[:6]}"
    client.run("init", "-q", str(work))
    return client.run("fetch", "-q", repo_url(server.url, repo_id, token=token), sha, cwd=work, check=False)


def _history_is_gone(api: HfApi, server: LiveServer, repo_id: str, sha: str) -> None:
    for revision in (sha, sha[:7]):
        with pytest.raises(RevisionNotFoundError):
            api.model_info(repo_id, revision=revision)
        with pytest.raises(RevisionNotFoundError):
            api.list_repo_tree(repo_id, revision=revision).__next__()
        answer = httpx.get(f"{server.url}/{repo_id}/resolve/{revision}/secret.txt", headers=_auth(api))
        assert answer.status_code == 404
        assert answer.headers.get("x-error-code") == "RevisionNotFound"
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "secret.txt", revision=sha, token=api.token, endpoint=server.url)


def _auth(api: HfApi) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


def test_super_squashed_history_answers_404_and_cannot_be_fetched(
    server: LiveServer, ids: Identities, repo_name: str, tmp_path: Path
) -> None:
    api, repo_id, _ = _new_repo(server, ids.alice, repo_name)
    leaked = api.upload_file(path_or_fileobj=b"API_KEY=hunter2", path_in_repo="secret.txt", repo_id=repo_id).oid
    api.delete_file("secret.txt", repo_id)
    assert api.model_info(repo_id, revision=leaked).sha == leaked  # still history, still readable
    assert _fetch_by_sha(tmp_path, server, ids.alice, repo_id, leaked).returncode == 0

    api.super_squash_history(repo_id)
    _history_is_gone(api, server, repo_id, leaked)
    assert wait_until(
        lambda: _fetch_by_sha(tmp_path, server, ids.alice, repo_id, leaked).returncode != 0, timeout=60, poll=0.5
    ), "the squashed commit can still be fetched by sha"
    clone = tmp_path / "clone"
    GitClient.create(tmp_path / "home").run("clone", "-q", repo_url(server.url, repo_id, token=ids.alice), str(clone))
    assert (clone / "a.txt").read_bytes() == b"v1"


def test_a_deleted_branch_answers_404_and_cannot_be_fetched(
    server: LiveServer, ids: Identities, repo_name: str, tmp_path: Path
) -> None:
    api, repo_id, _ = _new_repo(server, ids.alice, repo_name)
    api.create_branch(repo_id, branch="wip")
    leaked = api.upload_file(
        path_or_fileobj=b"API_KEY=hunter2", path_in_repo="secret.txt", repo_id=repo_id, revision="wip"
    ).oid
    assert _fetch_by_sha(tmp_path, server, ids.alice, repo_id, leaked).returncode == 0
    api.delete_branch(repo_id, branch="wip")
    _history_is_gone(api, server, repo_id, leaked)
    assert wait_until(
        lambda: _fetch_by_sha(tmp_path, server, ids.alice, repo_id, leaked).returncode != 0, timeout=60, poll=0.5
    ), "the deleted branch's commit can still be fetched by sha"


# -- crash safety: a stale ref lock wedges a branch forever ------------------------------------------------
def test_a_lock_left_by_a_dead_writer_is_removed_at_start_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    live = start_server(data_dir, port, processes=1)
    try:
        tokens = create_identities(live.data_dir, live.env)
        _, repo_id, _ = _new_repo(live, tokens.alice, "wedged")
        state = {k: v for k, v in live.env.items() if k.startswith("DOCKYARD_")}
    finally:
        live.stop()
    lock = _git_dir(live, repo_id) / "refs" / "heads" / "main.lock"
    lock.write_text("")  # what a kill -9 between taking the lock and moving the ref leaves behind
    live = start_server(data_dir, port, processes=1, state_env=state)
    try:
        api = HfApi(endpoint=live.url, token=tokens.alice)
        commit = api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=repo_id)
        assert api.repo_info(repo_id).sha == commit.oid
        assert not lock.exists()
    finally:
        live.stop()


def test_an_old_lock_is_broken_where_processes_share_the_repos(
    server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api, repo_id, _ = _new_repo(server, ids.alice, repo_name)
    lock = _git_dir(server, repo_id) / "refs" / "heads" / "main.lock"
    lock.write_text("")
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    commit = api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=repo_id)
    assert api.repo_info(repo_id).sha == commit.oid
    api.create_branch(repo_id, branch="dev")  # branch operations take the same lock
    api.delete_branch(repo_id, branch="dev")


def test_a_live_writers_lock_is_waited_for_not_reported_busy(
    server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api, repo_id, _ = _new_repo(server, ids.alice, repo_name)
    lock = _git_dir(server, repo_id) / "refs" / "heads" / "main.lock"
    lock.write_text("")  # a writer is moving the branch right now and will be done in a second
    writer_done = threading.Timer(1.0, lock.unlink)
    writer_done.start()
    try:
        commit = api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=repo_id)
    finally:
        writer_done.join()
    assert api.repo_info(repo_id).sha == commit.oid
