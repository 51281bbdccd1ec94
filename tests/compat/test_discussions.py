"""Discussions and pull requests through the real client, the ``hf`` CLI and raw HTTP: events in
the Hub's shapes, drafts at the default branch's head, commits as events, a real three-way merge
(with a conflict), and who may take part."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError

from tests.support.accounts import Identities
from tests.support.server import LiveServer

HF = str(Path(os.environ.get("VIRTUAL_ENV", "/work/main/.venv")) / "bin" / "hf")


def _url(server: LiveServer, repo: str, suffix: str = "") -> str:
    return f"{server.url}/api/models/{repo}/discussions{suffix}"


def _post(server: LiveServer, repo: str, suffix: str, token: str | None, body: object = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(_url(server, repo, suffix), json=body, headers=headers)


def _get(server: LiveServer, repo: str, suffix: str, token: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(_url(server, repo, suffix), params=params, headers=headers)


@pytest.fixture
def repo(ids: Identities) -> str:
    name = f"alice/d-{uuid.uuid4().hex[:8]}"
    HfApi(token=ids.alice).create_repo(name)
    HfApi(token=ids.alice).upload_file(path_or_fileobj=b"base\n", path_in_repo="a.txt", repo_id=name)
    return name


def test_discussion_lifecycle_with_the_client(server: LiveServer, ids: Identities, repo: str) -> None:
    bob, alice = HfApi(token=ids.bob), HfApi(token=ids.alice)
    opened = bob.create_discussion(repo, "Typo in the card", description="Line 3 says teh.")
    assert (opened.num, opened.status, opened.author, opened.is_pull_request) == (1, "open", "bob", False)
    assert [e.type for e in opened.events] == ["comment"]
    assert opened.events[0].content == "Line 3 says teh."
    comment = bob.comment_discussion(repo, opened.num, "Still there in v2.")
    renamed = alice.rename_discussion(repo, opened.num, "Typo: teh")
    assert (renamed.old_title, renamed.new_title) == ("Typo in the card", "Typo: teh")
    edited = bob.edit_discussion_comment(repo, opened.num, comment.id, "Still there in v3.")
    assert edited.edited
    assert edited.content == "Still there in v3."
    assert edited.number_of_edits == 2  # the client counts every version in the history
    assert [h["raw"] for h in edited.edit_history] == ["Still there in v3.", "Still there in v2."]
    closed = bob.change_discussion_status(repo, opened.num, "closed", comment="Fixed")
    assert closed.new_status == "closed"
    reopened = alice.change_discussion_status(repo, opened.num, "open")
    details = bob.get_discussion_details(repo, opened.num)
    assert details.title == "Typo: teh"
    assert details.status == "open"
    assert [e.type for e in details.events] == [
        "comment", "comment", "title-change", "comment", "status-change", "status-change",
    ]  # fmt: skip
    assert details.events[-1].id == reopened.id
    assert details.events[1].content == "Still there in v3."


def test_an_event_reads_back_identical_to_the_action_answer(server: LiveServer, ids: Identities, repo: str) -> None:
    num = _post(server, repo, "", ids.bob, {"title": "Question", "description": "Why?"}).json()["num"]
    answers = [
        _post(server, repo, f"/{num}/comment", ids.bob, {"comment": "ping"}).json()["newMessage"],
        _post(server, repo, f"/{num}/title", ids.bob, {"title": "Question?"}).json()["newTitle"],
        _post(server, repo, f"/{num}/status", ids.alice, {"status": "closed"}).json()["newStatus"],
    ]
    events = _get(server, repo, f"/{num}", ids.bob, diff="1").json()["events"]
    for answer in answers:
        read_back = next(event for event in events if event["id"] == answer["id"])
        assert json.dumps(read_back, sort_keys=True) == json.dumps(answer, sort_keys=True)
    assert set(answers[0]) == {"id", "type", "createdAt", "author", "data"}
    assert answers[0]["author"] == {"name": "bob"}
    assert answers[0]["data"]["latest"]["raw"] == "ping"
    assert answers[2]["data"] == {"status": "closed"}


def test_hidden_comments_keep_their_text_from_non_writers(server: LiveServer, ids: Identities, repo: str) -> None:
    num = HfApi(token=ids.bob).create_discussion(repo, "Spam?").num
    said = HfApi(token=ids.bob).comment_discussion(repo, num, "buy cheap tokens")
    refused = _post(server, repo, f"/{num}/comment/{said.id}/hide", ids.bob)
    assert refused.status_code == 403
    with pytest.warns(UserWarning, match="Hiding a comment is irreversible"):
        hidden = HfApi(token=ids.alice).hide_discussion_comment(repo, num, said.id)
    assert hidden.hidden
    as_bob = HfApi(token=ids.bob).get_discussion_details(repo, num).events[-1]
    as_alice = HfApi(token=ids.alice).get_discussion_details(repo, num).events[-1]
    assert as_bob.hidden
    assert as_bob.content == ""
    assert "buy cheap" not in json.dumps(as_bob._event)
    assert as_alice.content == "buy cheap tokens"
    anonymous = _get(server, repo, f"/{num}", None, diff="1")
    assert anonymous.status_code == 200
    assert "buy cheap" not in anonymous.text


def test_listing_pages_and_filters(server: LiveServer, ids: Identities, repo: str) -> None:
    for i in range(51):
        assert _post(server, repo, "", ids.bob, {"title": f"d{i}", "description": "x"}).status_code == 200
    pr = HfApi(token=ids.alice).create_pull_request(repo, "A proposal")
    first = _get(server, repo, "", ids.bob).json()
    assert (first["count"], first["start"], len(first["discussions"])) == (52, 0, 50)
    assert first["discussions"][0]["num"] == pr.num  # newest first
    second = _get(server, repo, "", ids.bob, p="1").json()
    assert (second["start"], [d["num"] for d in second["discussions"]]) == (50, [2, 1])
    listed = list(HfApi(token=ids.bob).get_repo_discussions(repo))
    assert len(listed) == 52
    assert listed[0].status == "draft"
    prs = list(HfApi().get_repo_discussions(repo, discussion_type="pull_request", discussion_status="open"))
    assert [d.num for d in prs] == [pr.num]  # open includes drafts
    assert list(HfApi().get_repo_discussions(repo, author="alice")) == prs
    assert list(HfApi().get_repo_discussions(repo, discussion_status="closed")) == []


def test_a_pull_request_from_draft_to_merged(server: LiveServer, ids: Identities, repo: str) -> None:
    alice, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    head = alice.model_info(repo).sha
    pr = bob.create_pull_request(repo, "Add b.txt")
    assert (pr.status, pr.target_branch, pr.conflicting_files, pr.diff) == ("draft", "refs/heads/main", [], "")
    assert {
        ref.ref: ref.target_commit for ref in alice.list_repo_refs(repo, include_pull_requests=True).pull_requests
    } == {pr.git_reference: head}
    bob.upload_file(path_or_fileobj=b"from bob\n", path_in_repo="b.txt", repo_id=repo, revision=pr.git_reference)
    details = bob.get_discussion_details(repo, pr.num)
    commit = details.events[-1]
    assert commit.type == "commit"
    assert commit.summary == "Upload b.txt with huggingface_hub"
    assert commit.oid == alice.list_repo_refs(repo, include_pull_requests=True).pull_requests[0].target_commit
    assert "+from bob" in (details.diff or "")
    assert "b/b.txt" in (details.diff or "")
    with pytest.raises(HfHubHTTPError) as refused:
        bob.merge_pull_request(repo, pr.num)
    assert refused.value.response.status_code == 403
    bob.change_discussion_status(repo, pr.num, "open")  # the author publishes the draft
    alice.merge_pull_request(repo, pr.num, comment="Thanks!")
    merged = alice.get_discussion_details(repo, pr.num)
    assert merged.status == "merged"
    assert merged.merge_commit_oid == alice.model_info(repo).sha
    assert [e.type for e in merged.events][-2:] == ["comment", "status-change"]
    assert alice.hf_hub_download(repo, "b.txt")
    assert alice.file_exists(repo, "a.txt")
    assert any(c.commit_id == merged.merge_commit_oid for c in alice.list_repo_commits(repo))


def test_merge_is_three_way_and_lists_conflicts(server: LiveServer, ids: Identities, repo: str) -> None:
    alice, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    clash = bob.create_commit(
        repo, [CommitOperationAdd("a.txt", b"bob's line\n")], commit_message="Rewrite a", create_pr=True
    )
    clean = bob.create_commit(
        repo, [CommitOperationAdd("c.txt", b"new file\n")], commit_message="Add c", create_pr=True
    )
    alice.upload_file(path_or_fileobj=b"alice's line\n", path_in_repo="a.txt", repo_id=repo)
    alice.upload_file(path_or_fileobj=b"later\n", path_in_repo="d.txt", repo_id=repo)
    clash_num, clean_num = int(clash.pr_num or 0), int(clean.pr_num or 0)
    assert alice.get_discussion_details(repo, clash_num).conflicting_files == ["a.txt"]
    with pytest.raises(HfHubHTTPError) as conflict:
        alice.merge_pull_request(repo, clash_num)
    assert conflict.value.response.status_code == 409
    assert "a.txt" in str(conflict.value)
    assert alice.get_discussion_details(repo, clash_num).status == "open"
    assert alice.get_discussion_details(repo, clean_num).conflicting_files == []
    alice.merge_pull_request(repo, clean_num)
    files = {f: alice.hf_hub_download(repo, f) for f in ("a.txt", "c.txt", "d.txt")}
    assert Path(files["a.txt"]).read_bytes() == b"alice's line\n"  # the base's newer change is kept
    assert Path(files["c.txt"]).read_bytes() == b"new file\n"


def test_upload_folder_opens_a_pull_request(tmp_path: Path, ids: Identities, repo: str) -> None:
    bob = HfApi(token=ids.bob)
    (tmp_path / "weights.txt").write_bytes(b"w" * 10)
    (tmp_path / "config.json").write_bytes(b"{}")
    info = bob.upload_folder(folder_path=tmp_path, repo_id=repo, create_pr=True, commit_message="Weights")
    assert info.pr_num is not None
    assert info.pr_revision == f"refs/pr/{info.pr_num}"
    details = bob.get_discussion_details(repo, info.pr_num)
    assert details.is_pull_request
    assert [e.type for e in details.events][-1] == "commit"
    assert set(bob.list_repo_files(repo, revision=info.pr_revision)) >= {"weights.txt", "config.json"}
    assert not bob.file_exists(repo, "weights.txt")


def test_a_pull_request_starts_at_a_branch(server: LiveServer, ids: Identities, repo: str) -> None:
    alice = HfApi(token=ids.alice)
    sha = alice.model_info(repo).sha
    assert sha is not None
    with pytest.raises(RevisionNotFoundError):
        alice.create_commit(repo, [CommitOperationAdd("x.txt", b"x")], commit_message="x", revision=sha, create_pr=True)
    assert alice.list_repo_refs(repo, include_pull_requests=True).pull_requests == []


def test_super_squash_accepts_full_special_refs(ids: Identities, repo: str) -> None:
    alice = HfApi(token=ids.alice)
    pr = alice.create_commit(repo, [CommitOperationAdd("p.txt", b"1")], commit_message="p1", create_pr=True)
    ref = f"refs/pr/{pr.pr_num}"
    alice.upload_file(path_or_fileobj=b"2", path_in_repo="q.txt", repo_id=repo, revision=ref)
    alice.super_squash_history(repo, branch=ref, commit_message="squashed")
    assert [c.title for c in alice.list_repo_commits(repo, revision=ref)] == ["squashed"]
    assert set(alice.list_repo_files(repo, revision=ref)) >= {"a.txt", "p.txt", "q.txt"}


def test_who_may_take_part(server: LiveServer, ids: Identities, repo: str) -> None:
    anonymous = _post(server, repo, "", None, {"title": "hi", "description": "x"})
    assert anonymous.status_code == 401
    read_token = _post(server, repo, "", ids.alice_read, {"title": "hi", "description": "x"})
    assert read_token.status_code == 403
    num = HfApi(token=ids.alice).create_pull_request(repo, "Alice's PR").num
    assert _post(server, repo, f"/{num}/comment", ids.bob, {"comment": "LGTM"}).status_code == 200
    assert _post(server, repo, f"/{num}/title", ids.bob, {"title": "mine"}).status_code == 403
    assert _post(server, repo, f"/{num}/status", ids.bob, {"status": "closed"}).status_code == 403
    assert _post(server, repo, f"/{num}/comment", None, {"comment": "anon"}).status_code == 401
    assert _post(server, repo, "/999/comment", ids.bob, {"comment": "x"}).status_code == 404
    assert _post(server, repo, f"/{num}/status", ids.alice, {"status": "merged"}).status_code == 400
    assert _post(server, repo, "", ids.bob, {"title": ["x"]}).status_code == 400
    garbage = httpx.post(_url(server, repo), content=b"{", headers={"Authorization": f"Bearer {ids.bob}"})
    assert garbage.status_code == 400


def test_a_gated_repo_admits_only_granted_users(server: LiveServer, ids: Identities, repo: str) -> None:
    alice = HfApi(token=ids.alice)
    num = alice.create_pull_request(repo, "Internal").num
    alice.upload_file(path_or_fileobj=b"secret diff\n", path_in_repo="s.txt", repo_id=repo, revision=f"refs/pr/{num}")
    alice.update_repo_settings(repo, gated="manual")
    refused = _post(server, repo, f"/{num}/comment", ids.bob, {"comment": "let me in"})
    assert refused.status_code == 403
    assert refused.headers["x-error-code"] == "GatedRepo"
    assert _post(server, repo, "", ids.bob, {"title": "t", "description": "d"}).status_code == 403
    seen = _get(server, repo, f"/{num}", ids.bob, diff="1")
    assert seen.status_code == 200
    assert seen.json()["diff"] is None
    assert "secret diff" not in seen.text
    granted = httpx.post(
        f"{server.url}/api/models/{repo}/user-access-request/grant",
        json={"user": "bob"},
        headers={"Authorization": f"Bearer {ids.alice}"},
    )
    assert granted.status_code == 200, granted.text
    assert _post(server, repo, f"/{num}/comment", ids.bob, {"comment": "thanks"}).status_code == 200
    assert "+secret diff" in _get(server, repo, f"/{num}", ids.bob, diff="1").json()["diff"]


def test_private_repo_discussions_are_hidden(server: LiveServer, ids: Identities) -> None:
    repo = f"alice/p-{uuid.uuid4().hex[:8]}"
    HfApi(token=ids.alice).create_repo(repo, private=True)
    num = HfApi(token=ids.alice).create_discussion(repo, "Private thoughts").num
    for token in (None, ids.bob):
        assert _get(server, repo, "", token).status_code in (401, 404)
        assert _get(server, repo, f"/{num}", token).status_code in (401, 404)
        assert _post(server, repo, f"/{num}/comment", token, {"comment": "x"}).status_code in (401, 404)
        assert "Private thoughts" not in _get(server, repo, f"/{num}", token).text


def _hf(server: LiveServer, token: str, *args: str) -> str:
    env = dict(os.environ, HF_ENDPOINT=server.url, HF_TOKEN=token)
    done = subprocess.run([HF, "discussions", *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_the_hf_cli(server: LiveServer, ids: Identities, repo: str) -> None:
    _hf(server, ids.bob, "create", repo, "--title", "CLI discussion", "--body", "from the shell")
    _hf(server, ids.bob, "create", repo, "--title", "CLI PR", "--pull-request")
    HfApi(token=ids.bob).upload_file(
        path_or_fileobj=b"cli\n", path_in_repo="cli.txt", repo_id=repo, revision="refs/pr/2"
    )
    listed = _hf(server, ids.bob, "list", repo, "--format", "json")
    assert "CLI discussion" in listed
    assert "CLI PR" in listed
    _hf(server, ids.bob, "comment", repo, "1", "--body", "a comment")
    _hf(server, ids.bob, "rename", repo, "1", "Renamed in the shell")
    _hf(server, ids.bob, "close", repo, "1", "--yes")
    assert HfApi().get_discussion_details(repo, 1).status == "closed"
    _hf(server, ids.bob, "reopen", repo, "1", "--yes")
    info = _hf(server, ids.bob, "info", repo, "1", "--format", "json")
    assert "Renamed in the shell" in info
    assert "a comment" in info
    assert "+cli" in _hf(server, ids.bob, "diff", repo, "2")
    _hf(server, ids.bob, "reopen", repo, "2", "--yes")  # publish the draft
    _hf(server, ids.alice, "merge", repo, "2", "--yes")
    details = HfApi().get_discussion_details(repo, 2)
    assert details.status == "merged"
    assert HfApi().file_exists(repo, "cli.txt")
