"""The history rewrite behind ``permanently_delete_lfs_files``, on a real git repository."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pygit2

from dockyard.lfs.pointer import LfsPointer
from dockyard.maintenance.gc import referenced_oids
from dockyard.repos.git_repo import GitRepo
from dockyard.repos.lfs_rewrite import drop_lfs_pointers

SIG = pygit2.Signature("Ada", "ada@example.com", 1_700_000_000, 0)
SECRET = hashlib.sha256(b"secret").hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()


def _pointer(oid: str) -> bytes:
    return LfsPointer(oid=oid, size=6).encode()


def _commit(repo: pygit2.Repository, files: dict[str, bytes], parents: list[pygit2.Oid], message: str) -> pygit2.Oid:
    index = pygit2.Index()
    for path, data in files.items():
        index.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.enums.FileMode.BLOB))
    return repo.create_commit(None, SIG, SIG, message, index.write_tree(repo), parents)


def test_every_ref_loses_the_pointers_and_keeps_everything_else(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "repo.git"), bare=True)
    base = _commit(repo, {"README.md": b"hello"}, [], "start")
    deep = "/".join(["d"] * 1200)  # deeper than Python recursion goes
    leak = _commit(
        repo,
        {"README.md": b"hello", "w/secret.bin": _pointer(SECRET), f"{deep}/x.bin": _pointer(SECRET)},
        [base],
        "leak",
    )
    kept = _commit(
        repo, {"README.md": b"hello", "w/secret.bin": _pointer(SECRET), "o.bin": _pointer(OTHER)}, [leak], "more"
    )
    side = _commit(repo, {"README.md": b"side"}, [base], "side")
    merge = _commit(repo, {"README.md": b"merged", "o.bin": _pointer(OTHER)}, [kept, side], "merge")
    only = _commit(repo, {"only/secret.bin": _pointer(SECRET)}, [], "orphan")
    repo.references.create("refs/heads/main", merge)
    repo.references.create("refs/pr/1", kept)
    repo.references.create("refs/convert/parquet", only)
    repo.references.create("refs/heads/side", side)
    tag = repo.create_tag("v1", kept, pygit2.enums.ObjectType.COMMIT, SIG, "release\n")
    assert SECRET in referenced_oids(repo)

    moved = drop_lfs_pointers(GitRepo(repo), frozenset({SECRET}))

    assert set(moved) == {"refs/heads/main", "refs/pr/1", "refs/convert/parquet", "refs/tags/v1"}
    assert referenced_oids(repo) == {OTHER}
    assert repo.references["refs/heads/side"].target == side  # untouched history keeps its ids
    new_main = repo[moved["refs/heads/main"]]
    assert isinstance(new_main, pygit2.Commit)
    assert new_main.message == "merge"
    assert new_main.author.email == "ada@example.com"
    assert new_main.parent_ids[1] == side
    assert [c.message for c in repo.walk(new_main.id, pygit2.enums.SortMode.TOPOLOGICAL)][-1] == "start"
    new_tag = repo[moved["refs/tags/v1"]]
    assert isinstance(new_tag, pygit2.Tag)
    assert new_tag.name == "v1"
    assert new_tag.message == "release\n"
    assert new_tag.id != tag
    orphan = repo[moved["refs/convert/parquet"]]
    assert isinstance(orphan, pygit2.Commit)
    assert len(orphan.tree) == 0  # its only folder was emptied, so it is gone
    assert drop_lfs_pointers(GitRepo(repo), frozenset({SECRET})) == {}  # nothing left to rewrite
