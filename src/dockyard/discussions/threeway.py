"""The three-way merge behind a pull request's conflicts and its merge: pure git, no writes."""

from __future__ import annotations

import pygit2

from dockyard.repos.git_repo import GitRepo


def merge_base(git: GitRepo, base: str, head: str) -> str | None:
    found = git.raw.merge_base(pygit2.Oid(hex=base), pygit2.Oid(hex=head))
    return str(found) if found is not None else None


def _tree(git: GitRepo, commit_id: str) -> pygit2.Tree:
    commit = git.raw.get(commit_id)
    assert isinstance(commit, pygit2.Commit)
    return commit.tree


def merged_index(git: GitRepo, base: str, head: str) -> pygit2.Index:
    """Both sides' changes since their merge base (the empty tree for unrelated histories, after a
    super-squash), combined in memory."""
    ancestor = merge_base(git, base, head)
    if ancestor is not None:
        ancestor_tree = _tree(git, ancestor)
    else:
        empty = git.raw.get(git.raw.TreeBuilder().write())
        assert isinstance(empty, pygit2.Tree)
        ancestor_tree = empty
    return git.raw.merge_trees(ancestor_tree, _tree(git, base), _tree(git, head))


def conflicting_files(git: GitRepo, base: str, head: str) -> list[str]:
    """The paths a merge of ``head`` into ``base`` cannot combine on its own, sorted."""
    conflicts = merged_index(git, base, head).conflicts
    if conflicts is None:
        return []
    paths = {entry.path for trio in conflicts for entry in trio if entry is not None}
    return sorted(paths)
