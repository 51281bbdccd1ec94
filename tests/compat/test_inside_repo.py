"""Inside a repo: trees, paths info, refs, history, branches, tags and squashing."""

from __future__ import annotations

import io

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, RepoFile, RepoFolder
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RevisionNotFoundError


@pytest.fixture
def repo(api: HfApi, repo_name: str, lfs_transfer: None) -> str:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("README.md", b"# Model\n"),
            CommitOperationAdd("weights/model.safetensors", io.BytesIO(b"\x00" * 2048)),
            CommitOperationAdd("weights/extra/notes.txt", b"notes"),
        ],
        commit_message="Add files",
    )
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="README.md", repo_id=repo_id, commit_message="Update card")
    return repo_id


def test_tree_listing_recursive_and_expanded(api: HfApi, repo: str) -> None:
    top = {e.path: e for e in api.list_repo_tree(repo)}
    assert set(top) == {".gitattributes", "README.md", "weights"}
    assert isinstance(top["weights"], RepoFolder)

    nested = {e.path: e for e in api.list_repo_tree(repo, path_in_repo="weights", recursive=True, expand=True)}
    assert set(nested) == {"weights/model.safetensors", "weights/extra", "weights/extra/notes.txt"}
    weights = nested["weights/model.safetensors"]
    assert isinstance(weights, RepoFile)
    assert weights.lfs is not None
    assert weights.size == 2048
    assert weights.last_commit is not None
    assert weights.last_commit.title == "Add files"
    readme = next(e for e in api.list_repo_tree(repo, expand=True) if e.path == "README.md")
    assert readme.last_commit.title == "Update card"

    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo, path_in_repo="missing"))


def test_tree_pagination_follows_link_headers(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        operations=[CommitOperationAdd(f"f/{i:03d}.txt", str(i).encode()) for i in range(120)],
        commit_message="many",
    )
    expanded = list(api.list_repo_tree(repo_id, path_in_repo="f", expand=True))  # 50 per page when expanded
    assert [e.path for e in expanded] == [f"f/{i:03d}.txt" for i in range(120)]


def test_paths_info_and_existence_checks(api: HfApi, repo: str) -> None:
    infos = api.get_paths_info(repo, ["README.md", "weights", "missing.txt"])
    assert [(type(i).__name__, i.path) for i in infos] == [
        ("RepoFile", "README.md"),
        ("RepoFolder", "weights"),
    ]
    assert api.file_exists(repo, "weights/extra/notes.txt")
    assert not api.file_exists(repo, "weights/extra/other.txt")
    assert api.revision_exists(repo, "main")
    assert not api.revision_exists(repo, "nope")
    assert api.repo_exists(repo)


def test_branches_and_tags(api: HfApi, repo: str) -> None:
    main_sha = api.model_info(repo).sha
    api.create_branch(repo, branch="feature/x")
    api.create_branch(repo, branch="feature/x", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as error:
        api.create_branch(repo, branch="feature/x")
    assert error.value.response.status_code == 409
    api.create_tag(repo, tag="v1", tag_message="release 1")
    api.create_tag(repo, tag="v1-light", revision="feature/x")

    refs = api.list_repo_refs(repo)
    assert {b.name: b.target_commit for b in refs.branches} == {"main": main_sha, "feature/x": main_sha}
    assert {t.name for t in refs.tags} == {"v1", "v1-light"}
    assert all(t.target_commit == main_sha for t in refs.tags)
    assert refs.converts == []

    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo, revision="feature/x")
    assert "x.txt" in api.list_repo_files(repo, revision="feature/x")
    assert "x.txt" not in api.list_repo_files(repo)

    api.delete_branch(repo, branch="feature/x")
    api.delete_tag(repo, tag="v1-light")
    refs = api.list_repo_refs(repo)
    assert [b.name for b in refs.branches] == ["main"]
    assert [t.name for t in refs.tags] == ["v1"]
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(repo, revision="feature/x")


def test_commit_history_and_squash(api: HfApi, repo: str) -> None:
    titles = [c.title for c in api.list_repo_commits(repo)]
    assert titles == ["Update card", "Add files", "initial commit"]
    files = api.list_repo_files(repo)

    api.super_squash_history(repo, commit_message="Squashed")

    commits = api.list_repo_commits(repo)
    assert [c.title for c in commits] == ["Squashed"]
    assert api.list_repo_files(repo) == files
    assert api.model_info(repo).sha == commits[0].commit_id


def test_commit_history_is_paginated(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    for index in range(55):
        api.upload_file(
            path_or_fileobj=str(index).encode(),
            path_in_repo="counter.txt",
            repo_id=repo_id,
            commit_message=f"count {index}",
        )
    titles = [c.title for c in api.list_repo_commits(repo_id)]
    assert len(titles) == 56
    assert titles[0] == "count 54"
    assert titles[-1] == "initial commit"
