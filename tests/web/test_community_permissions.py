"""Who sees and does what in the Community tab: private repos' discussions are 404 to outsiders,
a gated PR's diff needs a grant, and only the people allowed see the merge, close, rename and hide
controls, while the same POSTs from anyone else are refused whatever the page showed."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of
from tests.web.matrix import VIEWERS, WebRepos


@dataclass(frozen=True)
class Thread:
    repo: str
    num: int  # a PR by bob on alice's public repo
    comment: str  # bob's first comment


@pytest.fixture(scope="module")
def thread(server: LiveServer, ids: Identities) -> Thread:
    from huggingface_hub import CommitOperationAdd, HfApi

    alice, bob = HfApi(endpoint=server.url, token=ids.alice), HfApi(endpoint=server.url, token=ids.bob)
    repo = f"alice/perm-{uuid.uuid4().hex[:8]}"
    alice.create_repo(repo)
    alice.upload_file(path_or_fileobj=b"v1\n", path_in_repo="a.txt", repo_id=repo)
    operation = CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"v2\n")
    pr = bob.create_commit(
        repo, operations=[operation], commit_message="Bump", create_pr=True, commit_description="please"
    )
    assert pr.pr_num is not None
    comment = bob.get_discussion_details(repo, pr.pr_num).events[0].id
    return Thread(repo, pr.pr_num, comment)


# (merge, close, rename, hide, comment form) each viewer sees on bob's PR in alice's repo.
_CONTROLS = {
    "anonymous": (False, False, False, False, False),
    "carol": (False, False, False, False, True),
    "bob": (False, True, True, False, True),
    "alice": (True, True, True, True, True),
}


@pytest.mark.parametrize("viewer", list(_CONTROLS))
def test_only_allowed_people_see_the_controls(browse: Browse, thread: Thread, viewer: str) -> None:
    html = browse(None if viewer == "anonymous" else viewer).get(f"/{thread.repo}/discussions/{thread.num}").text
    seen = (
        "Merge pull request</button>" in html,
        "Close pull request</button>" in html,
        ">Rename</summary>" in html,
        ">Hide</button>" in html,
        'name="comment"' in html,
    )
    assert seen == _CONTROLS[viewer]


def _post(browse: Browse, viewer: str, page: str, action: str, data: dict[str, str]) -> int:
    client = browse(viewer)
    token = csrf_of(client.get(page).text)
    return client.post(page + action, data={"_csrf": token, **data}).status_code


@pytest.mark.parametrize(
    ("viewer", "action", "data"),
    [
        ("carol", "/merge", {}),
        ("bob", "/merge", {}),  # the author, but not a writer
        ("carol", "/status", {"status": "closed"}),
        ("carol", "/title", {"title": "Hijacked"}),
        ("bob", "/comment/{comment}/hide", {}),
        ("carol", "/comment/{comment}/edit", {"content": "not mine"}),
    ],
)
def test_forbidden_actions_are_refused(
    browse: Browse, thread: Thread, viewer: str, action: str, data: dict[str, str]
) -> None:
    page = f"/{thread.repo}/discussions/{thread.num}"
    assert _post(browse, viewer, page, action.format(comment=thread.comment), data) == 403
    html = browse(None).get(page).text
    assert "Hijacked" not in html
    assert "not mine" not in html
    assert 'id="discussion-status">open<' in html or 'id="discussion-status">draft<' in html


def test_signed_out_and_forged_posts_are_refused(browse: Browse, thread: Thread) -> None:
    page = f"/{thread.repo}/discussions/{thread.num}"
    anonymous = browse(None)
    token = csrf_of(anonymous.get(page).text)
    assert anonymous.post(page + "/comment", data={"_csrf": token, "comment": "hi"}).status_code == 401
    alice = browse("alice")
    alice.get(page)
    assert alice.post(page + "/comment", data={"_csrf": "forged", "comment": "hi"}).status_code == 403
    assert alice.post(page + "/merge", data={}).status_code == 403


# The Community tab of the shared repos: visible as the repo is.
_LIST = {
    "public": dict.fromkeys(VIEWERS, 200),
    "private": dict.fromkeys(VIEWERS, 404) | {"alice": 200},
    "gated": dict.fromkeys(VIEWERS, 200),
    "org_private": {"anonymous": 404, "bob": 404, "carol": 200, "dave": 200, "alice": 200},
}
LIST_CASES = [(row, viewer, status) for row, by in _LIST.items() for viewer, status in by.items()]


@pytest.mark.parametrize(("row", "viewer", "status"), LIST_CASES, ids=[f"{r}-{v}" for r, v, _ in LIST_CASES])
def test_the_community_tab_follows_the_repo_visibility(
    browse: Browse, web_repos: WebRepos, row: str, viewer: str, status: int
) -> None:
    client = browse(None if viewer == "anonymous" else viewer)
    repo = getattr(web_repos, row)
    assert client.get(f"/{repo}/discussions").status_code == status
    assert client.get(f"/{repo}/discussions/new").status_code in ((303, 200) if status == 200 else (404,))


def test_private_discussions_are_404_to_outsiders(browse: Browse, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/private-talk-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, private=True)
    num = api.create_discussion(repo, title="Internal roadmap").num
    for viewer in (None, "bob", "carol"):
        response = browse(viewer).get(f"/{repo}/discussions/{num}")
        assert response.status_code == 404
        assert "Internal roadmap" not in response.text
    assert "Internal roadmap" in browse("alice").get(f"/{repo}/discussions/{num}").text


def test_a_gated_pull_request_shows_its_diff_only_after_a_grant(
    browse: Browse, server: LiveServer, ids: Identities
) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/gated-pr-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"old secret\n", path_in_repo="s.txt", repo_id=repo)
    operation = CommitOperationAdd(path_in_repo="s.txt", path_or_fileobj=b"new secret\n")
    num = api.create_commit(repo, operations=[operation], commit_message="Rotate", create_pr=True).pr_num
    api.update_repo_settings(repo, gated="manual")
    page = f"/{repo}/discussions/{num}"
    refused = browse("bob").get(page)
    assert refused.status_code == 200  # the conversation is public, as on the Hub
    assert "new secret" not in refused.text
    assert re.search(r"shown to people with access", refused.text)
    api.grant_access(repo, "bob")
    assert "new secret" in browse("bob").get(page).text
