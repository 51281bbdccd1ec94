"""The git layer: trees built in memory, refs moved with compare-and-swap, history queries."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from dockyard.errors import BadRequestError, EntryNotFoundError, RevisionNotFoundError
from dockyard.identifiers import RepoType
from dockyard.lfs.pointer import LfsPointer
from dockyard.repos.git_repo import (
    BRANCH_PREFIX,
    DeleteFolder,
    DeletePath,
    FileEntry,
    GitRepo,
    PutBlob,
    RefMovedError,
)
from dockyard.repos.git_storage import GitStorage
from dockyard.repos.gitattributes import default_gitattributes

MAIN = BRANCH_PREFIX + "main"
AUTHOR = pygit2.Signature("alice", "alice@example.org")


def _commit(git: GitRepo, parent: str | None, *operations, message: str = "change") -> str:  # type: ignore[no-untyped-def]
    tree = git.build_tree(parent, operations)
    commit = git.create_commit(tree_id=tree, parents=[parent] if parent else [], author=AUTHOR, message=message)
    git.update_ref(MAIN, commit, expected_old=parent, message=message)
    return commit


@pytest.fixture
def git(tmp_path: Path) -> GitRepo:
    return GitStorage(tmp_path).init("a" * 32)


def test_commits_are_readable_by_git_itself(git: GitRepo, tmp_path: Path) -> None:
    first = _commit(git, None, PutBlob(".gitattributes", default_gitattributes(RepoType.MODEL)), message="initial")
    _commit(git, first, PutBlob("dir/a.txt", b"A"), PutBlob("b.txt", b"B"), message="add files")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(git.raw.path), str(clone)], check=True)
    assert (clone / "dir" / "a.txt").read_bytes() == b"A"
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%s"], capture_output=True, text=True, check=True)
    assert log.stdout.split("\n")[:2] == ["add files", "initial"]


def test_resolve_branch_tag_and_shas(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("a", b"1"))
    git.update_ref("refs/tags/v1", first, expected_old=None, message="tag")
    second = _commit(git, first, PutBlob("a", b"2"))
    assert git.resolve("main").commit_id == second
    assert git.resolve("v1").commit_id == first
    assert git.resolve(first).commit_id == first
    assert git.resolve(first[:8]).commit_id == first
    with pytest.raises(RevisionNotFoundError):
        git.resolve("nope")
    with pytest.raises(RevisionNotFoundError):
        git.resolve("0" * 40)


def test_compare_and_swap_refuses_a_stale_head(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("a", b"1"))
    second = _commit(git, first, PutBlob("a", b"2"))
    orphan = git.create_commit(
        tree_id=git.build_tree(first, [PutBlob("b", b"x")]), parents=[first], author=AUTHOR, message="late"
    )
    with pytest.raises(RefMovedError):
        git.update_ref(MAIN, orphan, expected_old=first, message="late")
    assert git.ref_target(MAIN) == second
    with pytest.raises(RefMovedError):
        git.update_ref(MAIN, orphan, expected_old=None, message="create only")


def test_tree_operations(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("dir/a", b"a"), PutBlob("dir/sub/b", b"b"), PutBlob("c", b"c"))
    second = _commit(git, first, DeleteFolder("dir"), DeletePath("c"), PutBlob("d", b"d"))
    assert [e.path for e in git.list_tree(second, recursive=True)] == ["d"]
    with pytest.raises(EntryNotFoundError):
        git.build_tree(second, [DeletePath("missing")])
    with pytest.raises(EntryNotFoundError):
        git.build_tree(second, [DeleteFolder("missing")])
    with pytest.raises(BadRequestError):
        git.build_tree(second, [PutBlob("d/inside", b"x")])  # d is a file
    third = _commit(git, second, PutBlob("e/f", b"f"))
    with pytest.raises(BadRequestError):
        git.build_tree(third, [PutBlob("e", b"x")])  # e is a folder


def test_lfs_pointers_are_reported_with_real_size(git: GitRepo) -> None:
    pointer = LfsPointer(oid="b" * 64, size=10_000)
    commit = _commit(git, None, PutBlob("w.bin", pointer.encode()), PutBlob("r.txt", b"regular"))
    weights, regular = git.entry(commit, "w.bin"), git.entry(commit, "r.txt")
    assert isinstance(weights, FileEntry)
    assert isinstance(regular, FileEntry)
    assert (weights.lfs, weights.size, weights.pointer_size) == (pointer, 10_000, len(pointer.encode()))
    assert (regular.lfs, regular.size) == (None, 7)


def test_gitattributes_decide_lfs_paths(git: GitRepo) -> None:
    commit = _commit(git, None, PutBlob(".gitattributes", default_gitattributes(RepoType.DATASET)))
    assert git.is_lfs_path(commit, "model.safetensors")
    assert git.is_lfs_path(commit, "data/train-00000.parquet")
    assert git.is_lfs_path(commit, "images/cat.png")
    assert not git.is_lfs_path(commit, "README.md")
    assert not git.is_lfs_path(None, "model.safetensors")


def test_last_commit_per_path(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("a", b"1"), PutBlob("dir/b", b"1"), message="one")
    second = _commit(git, first, PutBlob("a", b"2"), message="two")
    last = git.last_commits(second, ["a", "dir/b", "dir"])
    assert {path: commit.title for path, commit in last.items()} == {"a": "two", "dir/b": "one", "dir": "one"}
