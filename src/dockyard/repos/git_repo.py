"""Reading and writing one bare git repository through libgit2 (pygit2).

Commits are built in memory (an in-memory index over the parent tree), written as loose objects,
and published by moving the branch with a compare-and-swap under git's own ref lock. A crash at
any point leaves the branch at the old commit or the new one; unreferenced objects are harmless.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, ObjectType, SortMode

from dockyard.errors import (
    BadRequestError,
    ConflictError,
    EntryNotFoundError,
    RevisionNotFoundError,
    WouldBlockError,
)
from dockyard.lfs.pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer
from dockyard.repos.git_fsck import check_new_tree
from dockyard.repos.git_locks import DEFAULT_STALE_LOCK_SECONDS, break_stale_lock, history_lock

_HEX_RE = re.compile(r"^[0-9a-f]{7,40}$")
LOCK_WAIT_SECONDS = 5.0
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
DEFAULT_BRANCH = "main"
DEFAULT_REF = BRANCH_PREFIX + DEFAULT_BRANCH
PR_PREFIX = "refs/pr/"
CONVERT_PREFIX = "refs/convert/"


class RefLockedError(ConflictError):
    """Another writer holds the ref lock right now; the caller may retry."""

    default_message = "Another operation is updating this reference; please retry"


class RefMovedError(ConflictError):
    """The ref moved between reading it and updating it (compare-and-swap failed)."""

    default_message = "The branch moved during the operation"


@dataclass(frozen=True, slots=True)
class Revision:
    commit_id: str
    ref: str | None


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    blob_id: str
    size: int
    pointer_size: int
    lfs: LfsPointer | None


@dataclass(frozen=True, slots=True)
class FolderEntry:
    path: str
    tree_id: str


Entry = FileEntry | FolderEntry


@dataclass(frozen=True, slots=True)
class CommitSummary:
    id: str
    title: str
    message: str
    author_name: str
    author_email: str
    date: datetime
    parents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RefInfo:
    name: str
    ref: str
    target: str


# Operations a commit applies to its parent's tree.
@dataclass(frozen=True, slots=True)
class PutBlob:
    path: str
    data: bytes


@dataclass(frozen=True, slots=True)
class DeletePath:
    path: str


@dataclass(frozen=True, slots=True)
class DeleteFolder:
    path: str


TreeOperation = PutBlob | DeletePath | DeleteFolder


class GitRepo:
    def __init__(self, repo: pygit2.Repository, *, stale_lock_after: float = DEFAULT_STALE_LOCK_SECONDS) -> None:
        self.raw = repo
        self.stale_lock_after = stale_lock_after
        self._tips: list[pygit2.Oid] | None = None  # ref tips, read once per handle (one request)
        self._reachable: dict[str, bool] = {}

    # -- revisions -------------------------------------------------------------------------
    def resolve(self, rev: str, *, walk: bool = True) -> Revision:
        """Branch, then tag, then full or short commit sha, as the Hub resolves revisions.

        ``walk=False`` (on the event loop): a sha that no ref points at directly raises
        :class:`~dockyard.errors.WouldBlockError` rather than walk the history for reachability."""
        candidates = [rev] if rev.startswith("refs/") else [BRANCH_PREFIX + rev, TAG_PREFIX + rev]
        for name in candidates:
            commit_id = self._ref_commit(name)
            if commit_id is not None:
                return Revision(commit_id=commit_id, ref=name)
        if _HEX_RE.match(rev):
            commit_id = self._lookup_commit_prefix(rev)
            if commit_id is not None and self.is_reachable(commit_id, walk=walk):
                return Revision(commit_id=commit_id, ref=None)
        raise RevisionNotFoundError(f"Invalid rev id: {rev}")

    def is_reachable(self, commit_id: str, *, walk: bool = True) -> bool:
        """Whether some ref (branch, tag, pull request, convert) leads to ``commit_id``.

        History that a super-squash or a deleted branch left behind must not answer by sha, even
        before the prune job removed its objects."""
        known = self._reachable.get(commit_id)
        if known is not None:
            return known
        if self._ref_commit(DEFAULT_REF) == commit_id:  # the sha asked for most: no ref listing needed
            self._reachable[commit_id] = True
            return True
        oid = pygit2.Oid(hex=commit_id)
        if not walk:
            if oid not in self._ref_tips():
                raise WouldBlockError("reachability needs a history walk")
            self._reachable[commit_id] = True
            return True
        try:
            found = any(tip == oid or self.raw.descendant_of(tip, oid) for tip in self._ref_tips())
        except (pygit2.GitError, KeyError):
            found = False  # the prune job deleted it while we looked: unreachable indeed
        self._reachable[commit_id] = found
        return found

    def _ref_tips(self) -> list[pygit2.Oid]:
        if self._tips is None:
            # Branches first (most shas asked for are on them), then tags, pull requests, the rest.
            names = sorted(self.raw.references, key=lambda name: (not name.startswith(BRANCH_PREFIX), name))
            tips = dict.fromkeys(self._ref_commit(name) for name in names)
            self._tips = [pygit2.Oid(hex=tip) for tip in tips if tip is not None]
        return self._tips

    def _ref_commit(self, name: str) -> str | None:
        try:
            ref = self.raw.references.get(name)
        except (pygit2.InvalidSpecError, ValueError):
            return None
        if ref is None:
            return None
        try:
            return str(ref.peel(pygit2.Commit).id)
        except (pygit2.InvalidSpecError, ValueError, KeyError):
            return None  # a tag of a tree or blob: not a revision

    def _lookup_commit_prefix(self, prefix: str) -> str | None:
        try:
            obj = self.raw.revparse_single(prefix)
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return str(obj.id) if obj.type == ObjectType.COMMIT else None

    def _ref_object(self, name: str) -> str | None:
        ref = self.raw.references.get(name)
        target = ref.target if ref is not None else None
        return str(target) if isinstance(target, pygit2.Oid) else None

    def ref_target(self, ref: str) -> str | None:
        return self._ref_commit(ref)

    def refs(self, prefix: str) -> list[RefInfo]:
        result = []
        for name in self.raw.references:
            if name.startswith(prefix):
                target = self._ref_commit(name)
                if target is not None:
                    result.append(RefInfo(name=name.removeprefix(prefix), ref=name, target=target))
        return sorted(result, key=lambda info: info.name)

    def is_empty(self) -> bool:
        return self.raw.is_empty

    # -- trees and blobs -------------------------------------------------------------------
    def _commit(self, commit_id: str) -> pygit2.Commit:
        return self.raw[commit_id].peel(pygit2.Commit)

    def entry(self, commit_id: str, path: str) -> Entry | None:
        tree = self._commit(commit_id).tree
        if path in ("", "/"):
            return FolderEntry(path="", tree_id=str(tree.id))
        try:
            obj = tree[path]
        except KeyError:
            return None
        return self._to_entry(path, obj.id, obj.type)

    def has_file(self, commit_id: str, path: str) -> bool:
        """Whether ``path`` is a file at ``commit_id``: a tree lookup, without reading the blob."""
        try:
            return self._commit(commit_id).tree[path].type != ObjectType.TREE
        except KeyError:
            return False

    def _to_entry(self, path: str, oid: pygit2.Oid, kind: int) -> Entry:
        if kind == ObjectType.TREE:
            return FolderEntry(path=path, tree_id=str(oid))
        _, size = self.raw.odb.read_header(oid)
        pointer = None
        if size <= MAX_POINTER_SIZE:
            pointer = parse_pointer(self.read_blob(oid))
        return FileEntry(
            path=path,
            blob_id=str(oid),
            size=pointer.size if pointer else size,
            pointer_size=size,
            lfs=pointer,
        )

    def list_tree(self, commit_id: str, path: str = "", *, recursive: bool = False) -> Iterator[Entry]:
        """Entries under ``path`` (files and folders), in git's order; folders before recursion."""
        root = self.entry(commit_id, path)
        if root is None:
            raise EntryNotFoundError(f"{path} does not exist at {commit_id}")
        if isinstance(root, FileEntry):
            raise EntryNotFoundError(f"{path} is a file, not a folder")
        yield from self._walk(self._tree(root.tree_id), path, recursive)

    def _tree(self, tree_id: str | pygit2.Oid) -> pygit2.Tree:
        tree = self.raw[tree_id]
        assert isinstance(tree, pygit2.Tree)
        return tree

    def _walk(self, tree: pygit2.Tree, prefix: str, recursive: bool) -> Iterator[Entry]:
        for item in tree:
            assert item.name is not None  # a tree's entries always have names
            path = f"{prefix}/{item.name}" if prefix else item.name
            if item.type == ObjectType.TREE:
                yield FolderEntry(path=path, tree_id=str(item.id))
                if recursive:
                    yield from self._walk(self._tree(item.id), path, recursive)
            elif item.type == ObjectType.BLOB:
                yield self._to_entry(path, item.id, ObjectType.BLOB)

    def iter_files(self, commit_id: str) -> Iterator[FileEntry]:
        for entry in self._walk(self._commit(commit_id).tree, "", True):
            if isinstance(entry, FileEntry):
                yield entry

    def read_blob(self, blob_id: str | pygit2.Oid) -> bytes:
        blob = self.raw[blob_id]
        assert isinstance(blob, pygit2.Blob)
        return blob.data

    def read_file(self, commit_id: str, path: str) -> bytes | None:
        entry = self.entry(commit_id, path)
        if not isinstance(entry, FileEntry):
            return None
        return self.read_blob(entry.blob_id)

    def is_lfs_path(self, commit_id: str | None, path: str) -> bool:
        """Whether ``.gitattributes`` at ``commit_id`` routes ``path`` through LFS."""
        if commit_id is None:
            return False
        flags = pygit2.enums.AttrCheck.NO_SYSTEM | pygit2.enums.AttrCheck.INCLUDE_COMMIT
        try:
            value = self.raw.get_attr(path, "filter", flags, commit=commit_id)
        except pygit2.GitError:
            return False
        return value == "lfs"

    # -- history ---------------------------------------------------------------------------
    def commit_summary(self, commit_id: str) -> CommitSummary:
        return _summarise(self._commit(commit_id))

    def log(self, commit_id: str) -> Iterator[CommitSummary]:
        walker = self.raw.walk(pygit2.Oid(hex=commit_id), SortMode.TOPOLOGICAL | SortMode.TIME)
        for commit in walker:
            yield _summarise(commit)

    def last_commits(self, commit_id: str, paths: Iterable[str]) -> dict[str, CommitSummary]:
        """For each path, the most recent commit (reachable from ``commit_id``) that changed it."""
        wanted = set(paths)
        found: dict[str, CommitSummary] = {}
        walker = self.raw.walk(pygit2.Oid(hex=commit_id), SortMode.TOPOLOGICAL | SortMode.TIME)
        for commit in walker:
            if not wanted:
                break
            parent_trees = [parent.tree for parent in commit.parents]
            for path in list(wanted):
                current = _tree_entry_id(commit.tree, path)
                if all(_tree_entry_id(tree, path) != current for tree in parent_trees) or not parent_trees:
                    if current is not None:
                        found[path] = _summarise(commit)
                    wanted.discard(path)
        return found

    def diff(self, old_commit: str | None, new_commit: str) -> str:
        new_tree = self._commit(new_commit).tree
        if old_commit is None:
            return new_tree.diff_to_tree(swap=True).patch or ""
        # Repository.diff(old_tree, new_tree) with its options spelled out (its stubs take no Tree)
        old_tree = self._commit(old_commit).tree
        return old_tree.diff_to_tree(new_tree, context_lines=3, interhunk_lines=0).patch or ""

    # -- writing ---------------------------------------------------------------------------
    def build_tree(self, base_commit: str | None, operations: Iterable[TreeOperation]) -> str:
        index = pygit2.Index()
        if base_commit is not None:
            index.read_tree(self._commit(base_commit).tree)
        try:
            for operation in operations:
                _apply(self.raw, index, operation)
            tree_id = str(index.write_tree(self.raw))
        except (pygit2.GitError, ValueError) as error:
            raise BadRequestError(f"Invalid tree: {error}") from None
        base_tree = str(self._commit(base_commit).tree_id) if base_commit is not None else None
        check_new_tree(self.raw, tree_id, base_tree)
        return tree_id

    def create_commit(self, *, tree_id: str, parents: list[str], author: pygit2.Signature, message: str) -> str:
        oid = self.raw.create_commit(
            None, author, author, message, pygit2.Oid(hex=tree_id), [pygit2.Oid(hex=p) for p in parents]
        )
        return str(oid)

    def update_ref(
        self, ref: str, new: str | None, *, expected_old: str | None, message: str, peel: bool = True
    ) -> None:
        """Move (or, with ``new=None``, delete) ``ref`` only if it still points at ``expected_old``.

        ``expected_old=None`` requires that the ref does not exist yet; with ``peel=False`` it is
        compared with what the ref names (an annotated tag's object), not the commit behind it. Uses git's lock file, so
        it is safe against other Dockyard processes and against ``git receive-pack``; a lock held
        by a live writer is waited for (a few seconds), one left by a dead writer is broken."""
        try:
            self._update_locked(ref, new, expected_old, message, peel)
        except pygit2.GitError as error:
            # Deleting a packed ref also rewrites packed-refs under its lock: break a dead one's.
            if not break_stale_lock(Path(self.raw.path) / "packed-refs.lock", self.stale_lock_after):
                raise RefLockedError(f"Could not update {ref}: {error}") from error
            try:
                self._update_locked(ref, new, expected_old, message, peel)
            except pygit2.GitError as again:
                raise RefLockedError(f"Could not update {ref}: {again}") from again
        self._tips = None
        self._reachable.clear()

    def _update_locked(self, ref: str, new: str | None, expected_old: str | None, message: str, peel: bool) -> None:
        with self.raw.transaction() as txn:
            self._lock(txn, ref)
            current = self._ref_commit(ref) if peel else self._ref_object(ref)
            if current != expected_old:
                raise RefMovedError()
            if new is None:
                txn.remove(ref)
            else:
                txn.set_target(ref, new, message=message)

    def _lock(self, txn: pygit2.ReferenceTransaction, ref: str) -> None:
        """Take git's lock on ``ref``: bounded exponential backoff with jitter while a writer holds
        it, and break it once it is older than any ref update can take (its writer died)."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        delay = 0.005
        while True:
            try:
                txn.lock_ref(ref)
                return
            except pygit2.GitError as error:
                if break_stale_lock(self.lock_path(ref), self.stale_lock_after):
                    continue
                if time.monotonic() >= deadline:
                    raise RefLockedError() from error
            time.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, 0.25)

    def lock_path(self, ref: str) -> Path:
        return Path(self.raw.path) / f"{ref}.lock"

    @contextmanager
    def writing_objects(self) -> Iterator[None]:
        """Held (shared) while objects are written that no ref reaches yet, so that the prune job
        (which takes it exclusively) never deletes the objects of a commit in flight."""
        with history_lock(Path(self.raw.path), exclusive=False):
            yield

    def set_ref(self, ref: str, new: str, *, message: str) -> None:
        """Point ``ref`` at ``new`` whatever it pointed at (force)."""
        self.update_ref(ref, new, expected_old=self._ref_commit(ref), message=message)

    def create_tag_object(self, name: str, target: str, tagger: pygit2.Signature, message: str) -> str:
        """Write an annotated tag object without touching refs (the caller moves the ref safely)."""
        offset = tagger.offset
        sign = "-" if offset < 0 else "+"
        zone = f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
        text = (
            f"object {target}\ntype commit\ntag {name}\n"
            f"tagger {tagger.name} <{tagger.email}> {tagger.time} {zone}\n\n{message.rstrip()}\n"
        )
        return str(self.raw.odb.write(ObjectType.TAG, text.encode()))


def _apply(repo: pygit2.Repository, index: pygit2.Index, operation: TreeOperation) -> None:
    if isinstance(operation, PutBlob):
        if _has_directory(index, operation.path):
            raise BadRequestError(f"Cannot write file {operation.path}: a folder has that name")
        _remove_file_ancestors(index, operation.path)
        oid = repo.create_blob(operation.data)
        index.add(pygit2.IndexEntry(operation.path, oid, FileMode.BLOB))
    elif isinstance(operation, DeletePath):
        if operation.path not in index:
            raise EntryNotFoundError(f"Cannot delete {operation.path}: file does not exist")
        index.remove(operation.path)
    else:
        folder = operation.path.rstrip("/")
        if not _has_directory(index, folder):
            raise EntryNotFoundError(f"Cannot delete folder {folder}: it does not exist")
        index.remove_directory(folder)


def _has_directory(index: pygit2.Index, path: str) -> bool:
    prefix = path + "/"
    return any(entry.path.startswith(prefix) for entry in index)


def _remove_file_ancestors(index: pygit2.Index, path: str) -> None:
    """Writing ``a/b`` when ``a`` is a file is a conflict the Hub refuses; so do we."""
    parts = path.split("/")
    for depth in range(1, len(parts)):
        ancestor = "/".join(parts[:depth])
        if ancestor in index:
            raise BadRequestError(f"Cannot write {path}: {ancestor} is a file")


def _tree_entry_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


def _summarise(commit: pygit2.Commit) -> CommitSummary:
    message = commit.message
    title, _, body = message.partition("\n")
    return CommitSummary(
        id=str(commit.id),
        title=title.strip(),
        message=body.strip(),
        author_name=commit.author.name,
        author_email=commit.author.email,
        date=datetime.fromtimestamp(commit.commit_time, UTC),
        parents=tuple(str(p) for p in commit.parent_ids),
    )
