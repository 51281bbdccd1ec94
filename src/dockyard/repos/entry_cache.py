"""What a commit holds at a path, remembered per process.

A commit id names its whole tree, so ``(repo, commit, path) → entry`` never changes: the cache
needs no invalidation, across processes or otherwise. What moves (branches, tags, a history
rewritten so an old sha is no longer reachable) is resolved from the refs on disk by every request
before this cache is asked.

With ``cached_only`` (a lookup tried on the event loop), a miss raises
:class:`~dockyard.errors.WouldBlockError` instead of reading the git tree.
"""

from __future__ import annotations

import threading

from dockyard.errors import WouldBlockError
from dockyard.repos.git_repo import Entry, FileEntry, GitRepo

_MAX_ENTRIES = 50_000
_MAX_LISTED_FILES = 20_000  # a bigger tree is walked each time rather than held in memory
_MISSING = object()


class EntryCache:
    def __init__(self, max_entries: int = _MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], object] = {}
        self._max = max_entries

    def entry(self, git: GitRepo, uid: str, commit_id: str, path: str, *, cached_only: bool = False) -> Entry | None:
        """``git.entry(commit_id, path)``, once per process (None: nothing at that path)."""
        key = (uid, commit_id, path)
        with self._lock:
            found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        if cached_only:
            raise WouldBlockError("entry not cached")
        entry = git.entry(commit_id, path)
        self._store(key, entry)
        return entry

    def has_file(self, git: GitRepo, uid: str, commit_id: str, path: str, *, cached_only: bool = False) -> bool:
        key = (uid, commit_id, "\0has:" + path)  # a NUL never occurs in a repo path
        with self._lock:
            found = self._entries.get(key, _MISSING)
        if found is _MISSING:
            if cached_only:
                raise WouldBlockError("entry not cached")
            found = git.has_file(commit_id, path)
            self._store(key, found)
        return bool(found)

    def files(self, git: GitRepo, uid: str, commit_id: str) -> tuple[FileEntry, ...]:
        """Every file of the commit (``git.iter_files``), for repo info's siblings and storage."""
        key = (uid, commit_id, "\0files")
        with self._lock:
            found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        listed = tuple(git.iter_files(commit_id))
        if len(listed) <= _MAX_LISTED_FILES:
            self._store(key, listed)
        return listed

    def _store(self, key: tuple[str, str, str], value: object) -> None:
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = value
