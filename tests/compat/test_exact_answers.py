"""The Hub's exact answers: statuses, error codes and the final messages the real client raises.

Clients and scripts match on these strings, and ``hf_raise_for_status`` appends any server text
that its own message does not already contain, so a word of difference shows in every error.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import (
    BadRequestError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.support.accounts import Identities, issue_token
from tests.support.server import LiveServer

NOT_FOUND_HELP = (
    "\nPlease make sure you specified the correct `repo_id` and `repo_type`.\nIf you are trying to access a private"
    " or gated repo, make sure you are authenticated and your token has the required permissions.\nFor more"
    " details, see https://huggingface.co/docs/huggingface_hub/authentication"
)
STALE = "The branch was updated since you opened this page. Please refresh and try again."


def _message(error: pytest.ExceptionInfo[HfHubHTTPError]) -> str:
    """The client's final message, without the request id it inserts when the server sends one."""
    ids = r"\((?:Request ID|Amzn Trace ID|Amz CF ID): [^)]*\)"
    return re.sub(f" {ids}", "", re.sub(f"^{ids}\n+", "", str(error.value)))


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    assert error.value.response is not None
    return error.value.response.status_code


def _commit(server: LiveServer, token: str, repo_id: str, *lines: dict[str, object]) -> httpx.Response:
    body = [{"key": "header", "value": {"summary": "raw"}}, *lines]
    return httpx.post(
        f"{server.url}/api/models/{repo_id}/commit/main",
        content=b"\n".join(json.dumps(line).encode() for line in body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )


def _file(path: str) -> dict[str, object]:
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(b"x").decode(), "encoding": "base64"}}


@pytest.fixture
def repo(api: HfApi, repo_name: str) -> str:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    return repo_id


# -- Repository not found ------------------------------------------------------------------------
def test_a_missing_repo_says_exactly_repository_not_found(server: LiveServer, api: HfApi, repo_name: str) -> None:
    with pytest.raises(RepositoryNotFoundError) as error:
        api.model_info(f"alice/{repo_name}")
    url = f"{server.url}/api/models/alice/{repo_name}"
    assert _message(error) == f"404 Client Error.\n\nRepository Not Found for url: {url}.{NOT_FOUND_HELP}"
    assert error.value.server_message == "Repository not found"


def test_a_private_repo_answers_the_same_and_never_names_its_real_name(
    server: LiveServer, api: HfApi, ids: Identities, repo_name: str
) -> None:
    real = f"alice/Secret-{repo_name}"
    api.create_repo(real, private=True)
    asked = real.lower()
    with pytest.raises(RepositoryNotFoundError) as error:
        HfApi(token=ids.bob).model_info(asked)
    assert _message(error) == (
        f"404 Client Error.\n\nRepository Not Found for url: {server.url}/api/models/{asked}.{NOT_FOUND_HELP}"
    )
    assert real not in str(error.value)
    raw = httpx.get(f"{server.url}/api/models/{asked}/tree/main", headers={"Authorization": f"Bearer {ids.bob}"})
    assert (raw.status_code, raw.headers["x-error-code"], raw.headers["x-error-message"]) == (
        404,
        "RepoNotFound",
        "Repository not found",
    )
    assert raw.json() == {"error": "Repository not found"}


# -- messages in the Hub's words ---------------------------------------------------------------------
@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_moving_onto_an_existing_repo(api: HfApi, repo_name: str, repo_type: str) -> None:
    source, target = f"alice/{repo_name}", f"alice/{repo_name}-taken"
    for repo_id in (source, target):
        api.create_repo(repo_id, repo_type=repo_type, space_sdk="static" if repo_type == "space" else None)
    with pytest.raises(HfHubHTTPError) as error:
        api.move_repo(source, target, repo_type=repo_type)
    expected = f"A {repo_type} repository called {target} already exists"
    assert (_status(error), error.value.server_message) == (409, expected)
    assert _message(error).endswith(
        f"\n\n{expected}\nFor additional documentation please see"
        " https://hf.co/docs/hub/repositories-settings#renaming-or-transferring-a-repo."
    )


def test_creating_an_existing_branch(api: HfApi, repo: str) -> None:
    api.create_branch(repo, branch="dev")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_branch(repo, branch="dev")
    assert (_status(error), error.value.server_message) == (409, "Reference refs/heads/dev already exists")
    assert _message(error).endswith("\n\nReference refs/heads/dev already exists")
    api.create_branch(repo, branch="dev", exist_ok=True)  # the client's own handling still works


def test_deleting_the_default_branch(server: LiveServer, api: HfApi, repo: str) -> None:
    with pytest.raises(HfHubHTTPError) as error:
        api.delete_branch(repo, branch="main")
    assert (_status(error), error.value.server_message) == (403, "Cannot delete refs/heads/main")
    assert _message(error) == (
        "403 Forbidden: Cannot delete refs/heads/main.\n"
        f"Cannot access content at: {server.url}/api/models/{repo}/branch/main.\n"
        "Make sure your token has the correct permissions."
    )
    assert [b.name for b in api.list_repo_refs(repo).branches] == ["main"]


def test_a_commit_on_a_stale_parent(api: HfApi, repo: str) -> None:
    stale = api.model_info(repo).sha
    api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo)
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(
            repo,
            [CommitOperationAdd("two.txt", b"2")],
            commit_message="on an old head",
            parent_commit=stale,
        )
    assert (_status(error), error.value.server_message) == (412, STALE)
    assert _message(error).endswith(f"\n\n{STALE}")
    assert "two.txt" not in api.list_repo_files(repo)


# -- validation order ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bad..name", "ok-name"])
def test_the_revision_is_resolved_before_a_new_ref_name_is_checked(api: HfApi, repo: str, name: str) -> None:
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo, tag=name, revision="no-such-revision")
    with pytest.raises(RevisionNotFoundError):
        api.create_branch(repo, branch=name, revision="no-such-revision")
    assert api.list_repo_refs(repo).tags == []


def test_a_bad_name_on_a_known_revision_is_a_400(api: HfApi, repo: str) -> None:
    with pytest.raises(BadRequestError):
        api.create_tag(repo, tag="bad..name", revision="main")
    with pytest.raises(BadRequestError):
        api.create_branch(repo, branch="bad..name", revision="main")


# -- paths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["../escape.txt", "/abs.txt", "a/../../b", "dir/./x", "a//b", ".git/config", "x/.GIT/y", "a\\.git\\config"]
)
def test_paths_that_escape_the_repo_or_name_git_are_422(
    server: LiveServer, api: HfApi, ids: Identities, repo: str, path: str
) -> None:
    before = api.model_info(repo).sha
    response = _commit(server, ids.alice, repo, _file(path))
    assert response.status_code == 422, response.text
    assert api.model_info(repo).sha == before


def test_a_git_look_alike_through_the_client_is_422(api: HfApi, repo: str) -> None:
    with pytest.raises(HfHubHTTPError) as error:
        api.upload_file(path_or_fileobj=b"x", path_in_repo=".Git/config", repo_id=repo)
    assert _status(error) == 422
    assert "reserved" in _message(error)


def test_a_backslash_is_an_ordinary_filename_character(api: HfApi, repo: str) -> None:
    api.upload_file(path_or_fileobj=b"windows", path_in_repo="dir\\name.txt", repo_id=repo)
    assert "dir\\name.txt" in api.list_repo_files(repo)
    with open(api.hf_hub_download(repo, "dir\\name.txt"), "rb") as handle:
        assert handle.read() == b"windows"


def test_deleting_a_folder_with_delete_file(api: HfApi, repo: str) -> None:
    api.create_commit(
        repo,
        [CommitOperationAdd(f"dir/{name}", b"x") for name in ("a.txt", "sub/b.txt")]
        + [CommitOperationAdd("keep.txt", b"k")],
        commit_message="files",
    )
    api.delete_file("dir", repo)  # sends a `deletedFile` whose path is a folder
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "keep.txt"]


# -- organisations' default visibility -----------------------------------------------------------
def test_an_organisations_repos_are_private_unless_said_otherwise(server: LiveServer, ids: Identities) -> None:
    stamp = uuid.uuid4().hex[:8]
    org, owner = f"org-{stamp}", f"founder-{stamp}"  # a new owner: alice's orgs stay as other tests expect
    server.cli("user", "create", owner)
    server.cli("org", "create", org, "--owner", owner)
    api = HfApi(token=issue_token(server.data_dir, server.env, owner, "write"))
    api.create_repo(f"{org}/unsaid")
    api.create_repo(f"{org}/said-public", private=False)
    assert api.model_info(f"{org}/unsaid").private is True
    assert api.model_info(f"{org}/said-public").private is False
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=ids.bob).model_info(f"{org}/unsaid")

    changed = server.cli("org", "set-default-visibility", org, "public")
    assert "public" in changed.stdout
    api.create_repo(f"{org}/now-public")
    api.create_repo(f"{org}/said-private", private=True)
    assert api.model_info(f"{org}/now-public").private is False
    assert api.model_info(f"{org}/said-private").private is True
    assert server.cli("org", "set-default-visibility", org, "hidden", check=False).returncode != 0
    assert server.cli("org", "set-default-visibility", owner, "public", check=False).returncode != 0


def test_a_users_repos_stay_public_when_unsaid(api: HfApi, repo: str) -> None:
    assert api.model_info(repo).private is False


# -- gating --------------------------------------------------------------------------------------
@pytest.fixture
def gated(api: HfApi, repo: str) -> str:
    api.upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    return repo


def test_granting_access_to_a_user_who_has_it_is_a_400(api: HfApi, gated: str) -> None:
    api.grant_access(gated, "bob")
    with pytest.raises(BadRequestError) as error:
        api.grant_access(gated, "bob")
    assert _status(error) == 400
    with pytest.raises(BadRequestError):
        api.grant_access(gated, "alice")  # the owner has access without a grant
    assert [r.username for r in api.list_accepted_access_requests(gated)] == ["bob"]


def test_accepting_an_accepted_request_is_a_404(server: LiveServer, api: HfApi, ids: Identities, gated: str) -> None:
    asked = httpx.post(f"{server.url}/api/models/{gated}/ask-access", headers={"Authorization": f"Bearer {ids.bob}"})
    assert asked.json() == {"status": "pending"}
    api.accept_access_request(gated, "bob")
    with pytest.raises(HfHubHTTPError) as error:
        api.accept_access_request(gated, "bob")
    assert _status(error) == 404
    assert [r.username for r in api.list_accepted_access_requests(gated)] == ["bob"]


def test_auth_check_on_a_gated_repo(api: HfApi, ids: Identities, gated: str) -> None:
    api.auth_check(gated)  # the owner has access
    with pytest.raises(GatedRepoError) as signed_in:
        HfApi(token=ids.bob).auth_check(gated)
    assert _status(signed_in) == 403
    with pytest.raises(GatedRepoError) as anonymous:
        HfApi(token=False).auth_check(gated)
    assert _status(anonymous) == 401
    api.grant_access(gated, "bob")
    HfApi(token=ids.bob).auth_check(gated)
