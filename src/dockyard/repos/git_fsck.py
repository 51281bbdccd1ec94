"""git's ``fsck`` rules for the trees an API commit writes (pushes get them from
``receive.fsckObjects``): legal modes, legal entry names, no duplicates, git's sort order.

Only subtrees that differ from the parent commit's are visited, so a commit that touches one
file in a large repository checks a handful of trees, not the whole repository.
"""

from __future__ import annotations

import pygit2
from pygit2.enums import FileMode, ObjectType

from dockyard.errors import BadRequestError
from dockyard.identifiers import is_dotgit_alias

_MODES = frozenset({FileMode.BLOB, FileMode.BLOB_EXECUTABLE, FileMode.LINK, FileMode.TREE, FileMode.COMMIT})


class InvalidTreeError(BadRequestError):
    default_message = "The commit would write a tree that git refuses"


def check_new_tree(repo: pygit2.Repository, tree_id: str, base_tree_id: str | None) -> None:
    """Raise :class:`InvalidTreeError` if the trees of ``tree_id`` that are not in the base break
    a rule of git's fsck; a clone of such a commit would fail, or write into ``.git``."""
    base = repo[base_tree_id] if base_tree_id else None
    _check(repo, repo[tree_id], base, "")


def _check(repo: pygit2.Repository, tree: pygit2.Object, base: pygit2.Object | None, prefix: str) -> None:
    if base is not None and base.id == tree.id:
        return
    old = {entry.name: entry for entry in base} if isinstance(base, pygit2.Tree) else {}
    previous: bytes | None = None
    for entry in tree:
        name = entry.name or ""
        where = f"{prefix}{name}"
        _check_name(name, where)
        if entry.filemode not in _MODES:
            raise InvalidTreeError(f"Invalid tree: {where!r} has the mode {entry.filemode:o}")
        key = name.encode() + (b"/" if entry.type == ObjectType.TREE else b"")
        if previous is not None and key <= previous:
            raise InvalidTreeError(f"Invalid tree: {where!r} is duplicated or out of order")
        previous = key
        if entry.type == ObjectType.TREE:
            before = old.get(name)
            _check(repo, repo[entry.id], repo[before.id] if before is not None else None, where + "/")


def _check_name(name: str, where: str) -> None:
    if name in ("", ".", "..") or "/" in name or "\x00" in name:
        raise InvalidTreeError(f"Invalid tree: {where!r} is not a legal file name")
    if is_dotgit_alias(name):
        raise InvalidTreeError(f"Invalid tree: {where!r} is a name a filesystem may take for '.git'")
