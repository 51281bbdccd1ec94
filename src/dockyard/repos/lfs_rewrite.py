"""Rewrite a repository's history without some LFS pointers (``permanently_delete_lfs_files``).

Every ref (branches, tags, ``refs/pr/*``, ``refs/convert/*``) is rewritten: each commit reachable
from one is rebuilt with the same author, committer and message, on rewritten parents, with
every pointer to a deleted oid left out of its tree (folders left empty disappear, as in git).
Trees and commits that hold no such pointer keep their ids, so untouched history is shared.
Refs move by compare-and-swap; a ref that moved meanwhile (a commit landed) is rewritten again
from its new tip, reusing what was already rewritten. The old objects stay until the
``repos.prune_history`` job drops them (the caller enqueues it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pygit2
from pygit2.enums import ObjectType, SortMode

from dockyard.errors import ConflictError
from dockyard.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from dockyard.repos.git_repo import GitRepo, RefMovedError

MAX_ATTEMPTS = 5  # per ref, when commits keep landing while it is rewritten
TAGGER = pygit2.Signature("Dockyard", "noreply@dockyard.invalid")


@dataclass
class _Rewriter:
    git: GitRepo
    oids: frozenset[str]
    trees: dict[pygit2.Oid, pygit2.Oid | None] = field(default_factory=dict)  # None: empty once cleaned
    commits: dict[pygit2.Oid, pygit2.Oid] = field(default_factory=dict)

    @property
    def raw(self) -> pygit2.Repository:
        return self.git.raw

    def tree(self, root: pygit2.Tree) -> pygit2.Oid | None:
        """The tree without the deleted pointers (the same id when none was in it); subtrees
        first, with an explicit stack: a pushed tree may nest deeper than Python recurses."""
        stack: list[tuple[pygit2.Tree, bool]] = [(root, False)]
        while stack:
            tree, children_done = stack.pop()
            if tree.id in self.trees:
                continue
            if children_done:
                self.trees[tree.id] = self._rebuild_tree(tree)
                continue
            stack.append((tree, True))
            for entry in tree:
                if entry.type == ObjectType.TREE and entry.id not in self.trees:
                    subtree = self.raw[entry.id]
                    assert isinstance(subtree, pygit2.Tree)
                    stack.append((subtree, False))
        return self.trees[root.id]

    def _rebuild_tree(self, tree: pygit2.Tree) -> pygit2.Oid | None:
        """One tree whose subtrees are already rewritten; None when nothing is left in it."""
        builder = self.raw.TreeBuilder()
        changed = False
        for entry in tree:
            if entry.type == ObjectType.TREE:
                kept = self.trees[entry.id]
            elif entry.type == ObjectType.BLOB and self._is_deleted_pointer(entry.id):
                kept = None
            else:
                kept = entry.id
            changed |= kept != entry.id
            if kept is not None and entry.name is not None:  # tree entries always have names
                builder.insert(entry.name, kept, entry.filemode)
        if not changed:
            return tree.id
        return builder.write() if len(builder) else None

    def _is_deleted_pointer(self, blob_id: pygit2.Oid) -> bool:
        _, size = self.raw.odb.read_header(blob_id)
        if size > MAX_POINTER_SIZE:
            return False
        blob = self.raw[blob_id]
        assert isinstance(blob, pygit2.Blob)
        pointer = parse_pointer(blob.data)
        return pointer is not None and pointer.oid in self.oids

    def commit(self, tip: pygit2.Oid) -> pygit2.Oid:
        """Rewrite every commit reachable from ``tip`` not rewritten yet, parents first."""
        if tip in self.commits:
            return self.commits[tip]
        walker = self.raw.walk(tip, SortMode.TOPOLOGICAL | SortMode.REVERSE)
        for known in self.commits:
            walker.hide(known)
        for commit in walker:
            self.commits[commit.id] = self._rebuild(commit)
        return self.commits[tip]

    def _rebuild(self, commit: pygit2.Commit) -> pygit2.Oid:
        parents = [self.commits[parent] for parent in commit.parent_ids]
        tree = self.tree(commit.tree)
        if tree is None:
            tree = self.raw.TreeBuilder().write()  # a root tree may be empty
        if tree == commit.tree_id and parents == list(commit.parent_ids):
            return commit.id
        return self.raw.create_commit(None, commit.author, commit.committer, commit.message, tree, parents)

    def target(self, target: pygit2.Oid) -> pygit2.Oid | None:
        """What a ref pointing at ``target`` should point at; None for what cannot hold pointers."""
        obj = self.raw[target]
        if isinstance(obj, pygit2.Commit):
            return self.commit(obj.id)
        if isinstance(obj, pygit2.Tag):
            tagged = self.raw[obj.target]
            if not isinstance(tagged, pygit2.Commit):
                return None
            new = self.commit(tagged.id)
            if new == tagged.id:
                return obj.id
            tagger = obj.tagger or TAGGER
            return pygit2.Oid(hex=self.git.create_tag_object(obj.name, str(new), tagger, obj.message))
        return None


def drop_lfs_pointers(git: GitRepo, oids: frozenset[str]) -> dict[str, str]:
    """Rewrite every ref without pointers to ``oids``; the refs that moved, with their new target."""
    rewriter = _Rewriter(git, oids)
    moved: dict[str, str] = {}
    with git.writing_objects():
        for name in list(git.raw.references):
            new = _rewrite_ref(git, rewriter, name)
            if new is not None:
                moved[name] = new
    return moved


def _rewrite_ref(git: GitRepo, rewriter: _Rewriter, name: str) -> str | None:
    for _ in range(MAX_ATTEMPTS):
        ref = git.raw.references.get(name)
        if ref is None or not isinstance(ref.target, pygit2.Oid):
            return None  # deleted meanwhile, or symbolic
        old = ref.target
        new = rewriter.target(old)
        if new is None or new == old:
            return None
        try:
            git.update_ref(name, str(new), expected_old=str(old), message="lfs: drop deleted files", peel=False)
        except RefMovedError:
            continue
        return str(new)
    raise ConflictError(f"{name} kept moving while its history was rewritten; try again")
