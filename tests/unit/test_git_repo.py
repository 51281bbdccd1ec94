"""The git layer: trees built in memory, refs moved with compare-and-swap, history queries."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from dockyard.errors import (
    BadRequestError,
    EntryNotFoundError,
    RepoNotFoundError,
    RevisionNotFoundError,
    WouldBlockError,
)
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


def test_a_branch_named_like_a_sha_wins_over_that_commit(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("a", b"1"))
    second = _commit(git, first, PutBlob("a", b"2"))
    git.update_ref(BRANCH_PREFIX + first, second, expected_old=None, message="a branch named like a sha")
    assert git.resolve(first).commit_id == second  # branch, then tag, then sha: as the Hub resolves
    assert git.resolve(first[:10]).commit_id == first


def test_on_the_event_loop_a_sha_resolves_only_without_a_history_walk(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("a", b"1"))
    second = _commit(git, first, PutBlob("a", b"2"))
    assert git.resolve(second, walk=False).commit_id == second  # a branch's tip
    with pytest.raises(WouldBlockError):
        git.resolve(first, walk=False)  # reachable only through history
    assert git.resolve(first).commit_id == first
    assert git.resolve(first, walk=False).commit_id == first  # remembered for this handle


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


# -- deleted history, ref locks and fsck (issue 9) ----------------------------------------------


def _raw_tree(git: GitRepo, entries: list[tuple[bytes, bytes, str]]) -> str:
    """A tree object written byte for byte, as a hostile client could produce it."""
    body = b"".join(mode + b" " + name + b"\0" + bytes.fromhex(oid) for mode, name, oid in entries)
    return str(git.raw.odb.write(pygit2.enums.ObjectType.TREE, body))


def test_unreachable_commits_do_not_resolve_by_sha(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("secret.txt", b"old secret"))
    squashed = git.create_commit(tree_id=_tree_of(git, first), parents=[], author=AUTHOR, message="squash")
    git.update_ref(MAIN, squashed, expected_old=first, message="super-squash")
    for rev in (first, first[:7], first[:12]):
        with pytest.raises(RevisionNotFoundError):
            git.resolve(rev)
    assert git.resolve(squashed[:7]).commit_id == squashed


def test_pull_request_and_convert_refs_keep_history_reachable(git: GitRepo) -> None:
    first = _commit(git, None, PutBlob("a", b"1"))
    git.update_ref("refs/pr/1", first, expected_old=None, message="pr")
    _commit(git, first, PutBlob("a", b"2"))
    lone = git.create_commit(tree_id=_tree_of(git, first), parents=[], author=AUTHOR, message="convert")
    git.update_ref("refs/convert/parquet", lone, expected_old=None, message="convert")
    git.update_ref(MAIN, lone, expected_old=git.ref_target(MAIN), message="rewrite")
    assert git.resolve(first).commit_id == first
    assert git.resolve(lone).commit_id == lone


def test_prune_deletes_what_no_ref_reaches(tmp_path: Path) -> None:
    storage = GitStorage(tmp_path)
    git = storage.init("b" * 32)
    first = _commit(git, None, PutBlob("secret.txt", b"deleted secret"))
    secret_blob = git.entry(first, "secret.txt").blob_id  # type: ignore[union-attr]
    kept = git.create_commit(
        tree_id=git.build_tree(None, [PutBlob("p", b"pr")]), parents=[], author=AUTHOR, message="pull request"
    )
    git.update_ref("refs/pr/3", kept, expected_old=None, message="pr")
    squashed = git.create_commit(
        tree_id=git.build_tree(None, [PutBlob("secret.txt", b"public")]), parents=[], author=AUTHOR, message="squash"
    )
    git.update_ref(MAIN, squashed, expected_old=first, message="super-squash")
    storage.prune_unreachable("b" * 32)
    reopened = storage.open("b" * 32)
    assert first not in reopened.raw
    assert secret_blob not in reopened.raw
    assert kept in reopened.raw  # refs/pr/3 still reaches it
    fsck = subprocess.run(["git", "-C", str(git.raw.path), "fsck", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_prune_waits_for_a_commit_in_flight(git: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.repos import git_storage

    monkeypatch.setattr(git_storage, "PRUNE_WAIT_SECONDS", 0.2)
    storage = GitStorage(tmp_path)
    with git.writing_objects(), pytest.raises(git_storage.HistoryBusyError):
        storage.prune_unreachable("a" * 32)


def test_a_stale_ref_lock_is_broken_by_age(tmp_path: Path) -> None:
    git = GitStorage(tmp_path, stale_lock_after=60).init("c" * 32)
    first = _commit(git, None, PutBlob("a", b"1"))
    lock = git.lock_path(MAIN)
    lock.write_text("")
    old = lock.stat().st_mtime - 3600
    import os

    os.utime(lock, (old, old))
    second = _commit(git, first, PutBlob("a", b"2"))
    assert git.ref_target(MAIN) == second
    assert not lock.exists()


def test_a_live_writers_lock_is_waited_for(git: GitRepo) -> None:
    import threading

    first = _commit(git, None, PutBlob("a", b"1"))
    lock = git.lock_path(MAIN)
    lock.write_text("")
    release = threading.Timer(0.3, lock.unlink)
    release.start()
    second = _commit(git, first, PutBlob("a", b"2"))
    release.join()
    assert git.ref_target(MAIN) == second


def test_a_lock_held_too_long_is_reported(git: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.repos import git_repo

    monkeypatch.setattr(git_repo, "LOCK_WAIT_SECONDS", 0.2)
    first = _commit(git, None, PutBlob("a", b"1"))
    git.lock_path(MAIN).write_text("")
    with pytest.raises(git_repo.RefLockedError):
        _commit(git, first, PutBlob("a", b"2"))
    assert git.ref_target(MAIN) == first


def test_start_up_recovery_removes_every_ref_lock(tmp_path: Path) -> None:
    storage = GitStorage(tmp_path)
    git = storage.init("d" * 32)
    _commit(git, None, PutBlob("a", b"1"))
    (Path(git.raw.path) / "refs/tags").mkdir(exist_ok=True)
    locks = [git.lock_path(MAIN), git.lock_path("refs/tags/v1"), Path(git.raw.path) / "packed-refs.lock"]
    for lock in locks:
        lock.write_text("")
    assert sorted(storage.recover_stale_locks()) == sorted(locks)
    assert not any(lock.exists() for lock in locks)


@pytest.mark.parametrize(
    "entries",
    [
        [(b"100644", b".GIT", "blob")],
        [(b"100644", b"git~1", "blob")],
        [(b"100644", b".git\xe2\x80\x8c", "blob")],
        [(b"100644", b"a", "blob"), (b"100644", b"a", "blob")],
        [(b"100644", b"b", "blob"), (b"100644", b"a", "blob")],
        [(b"100600", b"a", "blob")],
        [(b"100644", b"..", "blob")],
        [(b"100644", b"a", "blob"), (b"100644", b"a.txt", "blob"), (b"40000", b"a", "tree")],
    ],
    ids=[
        "dotgit-case",
        "ntfs-short-name",
        "hfs-ignorable",
        "duplicate",
        "unsorted",
        "bad-mode",
        "dotdot",
        "file-and-dir",
    ],
)
def test_fsck_refuses_the_trees_git_would_refuse(git: GitRepo, entries: list[tuple[bytes, bytes, str]]) -> None:
    from dockyard.repos.git_fsck import InvalidTreeError, check_new_tree

    blob = str(git.raw.create_blob(b"x"))
    sub = _raw_tree(git, [(b"100644", b"f", blob)])
    tree = _raw_tree(git, [(mode, name, sub if kind == "tree" else blob) for mode, name, kind in entries])
    with pytest.raises(InvalidTreeError):
        check_new_tree(git.raw, tree, None)


def test_fsck_accepts_normal_trees_and_skips_unchanged_subtrees(git: GitRepo) -> None:
    from dockyard.repos.git_fsck import check_new_tree

    first = _commit(git, None, PutBlob("dir/a", b"1"), PutBlob(".gitattributes", b""), PutBlob("b", b"2"))
    second = _commit(git, first, PutBlob("c", b"3"))
    check_new_tree(git.raw, _tree_of(git, second), _tree_of(git, first))


def _tree_of(git: GitRepo, commit_id: str) -> str:
    return str(git.raw[commit_id].peel(pygit2.Commit).tree_id)


def test_a_reused_handle_of_a_deleted_repo_is_missing_storage_unless_the_caller_vouches(tmp_path: Path) -> None:
    storage, uid = GitStorage(tmp_path), "b" * 32
    storage.init(uid)
    storage.open(uid)  # its handle is now reused by this thread
    storage.delete(uid)
    assert storage.open(uid, exists=True).raw.path.rstrip("/") == str(storage.path(uid))  # a grant vouches
    with pytest.raises(RepoNotFoundError):
        storage.open(uid)
