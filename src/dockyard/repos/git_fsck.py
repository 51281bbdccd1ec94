"""git's ``fsck`` rules for the trees an API commit writes (pushes get them from
``receive.fsckObjects``): legal modes, legal entry names, no duplicates, git's sort order.

Only subtrees that differ from the parent commit's are visited, so a commit that touches one
file in a large repository checks a handful of trees, not the whole repository.
"""

from __future__ import annotations

import pygit2
from pygit2.enums import ObjectType

from dockyard.errors import BadRequestError
from dockyard.identifiers import is_dotgit_alias

_TREE_MODE = b"40000"
_MODES = frozenset({b"100644", b"100755", b"120000", _TREE_MODE, b"160000"})  # as stored, byte for byte


class InvalidTreeError(BadRequestError):
    default_message = "The commit would write a tree that git refuses"


def check_new_tree(repo: pygit2.Repository, tree_id: str, base_tree_id: str | None) -> None:
    """Raise :class:`InvalidTreeError` if a tree of ``tree_id`` that is not in the base breaks a
    rule of git's fsck; a clone of such a commit would fail, or write into ``.git``. Trees are read
    raw, because libgit2 normalises odd modes when it parses them."""
    _check(repo, tree_id, base_tree_id, "")


def _check(repo: pygit2.Repository, tree_id: str, base_id: str | None, prefix: str) -> None:
    if tree_id == base_id:
        return
    old = dict((name, oid) for _, name, oid in _entries(repo, base_id, prefix)) if base_id else {}
    previous: bytes | None = None
    old_names: set[bytes] = set()  # a file and a folder of one name are duplicates too
    for mode, name, oid in _entries(repo, tree_id, prefix):
        where = prefix + name.decode(errors="replace")
        _check_name(name, where)
        if mode not in _MODES:
            raise InvalidTreeError(f"Invalid tree: {where!r} has the mode {mode.decode(errors='replace')}")
        key = name + (b"/" if mode == _TREE_MODE else b"")
        if previous is not None and (key <= previous or name in old_names):
            raise InvalidTreeError(f"Invalid tree: {where!r} is duplicated or out of order")
        previous = key
        old_names.add(name)
        if mode == _TREE_MODE:
            before = old.get(name)
            _check(repo, oid, before if before is not None and before != oid else None, where + "/")


def _entries(repo: pygit2.Repository, tree_id: str, prefix: str) -> list[tuple[bytes, bytes, str]]:
    """(mode, name, oid) of each entry of a raw tree object."""
    kind, data = repo.odb.read(tree_id)[:2]
    if kind != ObjectType.TREE:
        raise InvalidTreeError(f"Invalid tree: {prefix or '/'} is not a tree")
    entries = []
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        nul = data.find(b"\0", space + 1)
        if space < 0 or nul < 0 or nul + 21 > len(data):
            raise InvalidTreeError(f"Invalid tree: {prefix or '/'} is truncated")
        entries.append((data[position:space], data[space + 1 : nul], data[nul + 1 : nul + 21].hex()))
        position = nul + 21
    return entries


def _check_name(name: bytes, where: str) -> None:
    if name in (b"", b".", b"..") or b"/" in name or b"\0" in name:
        raise InvalidTreeError(f"Invalid tree: {where!r} is not a legal file name")
    if any(is_dotgit_alias(part) for part in name.decode(errors="replace").split("\\")):  # git's NTFS rule
        raise InvalidTreeError(f"Invalid tree: {where!r} is a name a filesystem may take for '.git'")
