"""Where bare git repositories live on disk, and how they are created and removed.

Repos are stored by an immutable ``uid``, not by name, so a rename is a database update and a
delete can move the directory aside atomically before removing it.

Durability: objects and refs are fsynced before a ref update is acknowledged (libgit2's
``GIT_OPT_ENABLE_FSYNC_GITDIR`` in this process, ``core.fsync=committed`` for the git CLI).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pygit2

from dockyard.errors import RepoNotFoundError
from dockyard.repos.git_locks import DEFAULT_STALE_LOCK_SECONDS, break_stale_lock, history_lock
from dockyard.repos.git_repo import DEFAULT_BRANCH as DEFAULT_BRANCH  # re-exported: callers import it from here
from dockyard.repos.git_repo import GitRepo

log = logging.getLogger(__name__)

_HANDLES_PER_THREAD = 128
# Configuration of every repository (set at creation; the git CLI also gets it per command, so
# repositories created before a rule was added follow it too).
REPO_CONFIG: dict[str, str] = {
    "core.fsync": "committed",  # objects, packs and refs reach the disk before a push is acknowledged
    "core.fsyncMethod": "fsync",
    "core.protectNTFS": "true",  # refuse paths that NTFS or HFS+ would write into .git
    "core.protectHFS": "true",
    "uploadpack.allowAnySHA1InWant": "false",  # only what a ref reaches may be fetched by sha
    "uploadpack.allowReachableSHA1InWant": "true",
}
PRUNE_WAIT_SECONDS = 30.0
# gc.packRefs=false: packing refs rewrites packed-refs from a snapshot of the loose refs, so a ref
# deleted (or moved) through libgit2 while gc runs could come back; pruning needs no packed refs.
_GC_CONFIG = (
    "gc.reflogExpire=now",
    "gc.reflogExpireUnreachable=now",
    "gc.pruneExpire=now",
    "gc.auto=0",
    "gc.packRefs=false",
)


class HistoryBusyError(RuntimeError):
    """Commits kept the repository busy for the whole wait: the prune job retries later."""


class GitStorage:
    def __init__(self, root: Path, *, stale_lock_after: float = DEFAULT_STALE_LOCK_SECONDS) -> None:
        self.root = root
        self.stale_lock_after = stale_lock_after
        self._local = threading.local()
        pygit2.settings.enable_fsync_gitdir(True)  # process-wide: the objects and refs we write are fsynced

    def path(self, uid: str) -> Path:
        if not uid.isalnum():
            raise ValueError(f"invalid repo uid {uid!r}")
        return self.root / uid[:2] / f"{uid}.git"

    def init(self, uid: str) -> GitRepo:
        path = self.path(uid)
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(
            str(path), bare=True, initial_head=DEFAULT_BRANCH, flags=pygit2.enums.RepositoryInitFlag.MKPATH
        )
        config = repo.config
        config["core.logAllRefUpdates"] = True
        config["receive.denyNonFastForwards"] = False
        config["http.receivepack"] = True
        for key, value in REPO_CONFIG.items():
            config[key] = value
        return GitRepo(repo, stale_lock_after=self.stale_lock_after)

    def open(self, uid: str, *, exists: bool = False) -> GitRepo:
        """Repository handles are reused per thread (libgit2 objects must not cross threads); refs
        and objects are still read from disk on every lookup, so writers elsewhere are seen.

        A reused handle is checked against its directory (a repo deleted since answers 404 as
        missing storage), unless the caller passes ``exists``: it has just read, in the current
        security epoch, that the repo exists (a deletion bumps the epoch before the storage goes,
        and a check here could not stop a deletion an instant later either)."""
        handles: dict[str, pygit2.Repository] = getattr(self._local, "handles", None) or {}
        self._local.handles = handles
        cached = handles.get(uid)
        if cached is not None and (exists or os.path.isdir(cached.path)):  # its own path: no pathlib
            return GitRepo(cached, stale_lock_after=self.stale_lock_after)
        path = self.path(uid)
        try:
            repo = pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.BARE)
        except pygit2.GitError:
            handles.pop(uid, None)
            raise RepoNotFoundError("Repository storage is missing") from None
        if len(handles) >= _HANDLES_PER_THREAD:
            handles.clear()
        handles[uid] = repo
        return GitRepo(repo, stale_lock_after=self.stale_lock_after)

    def exists(self, uid: str) -> bool:
        return self.path(uid).is_dir()

    def delete(self, uid: str) -> None:
        path = self.path(uid)
        if not path.exists():
            return
        trash = path.with_name(f".deleted-{uuid.uuid4().hex}")
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def copy(self, source_uid: str, target_uid: str) -> GitRepo:
        """A full copy of a repository (objects and refs), for ``duplicate_repo``."""
        target = self.path(target_uid)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".copying-{uuid.uuid4().hex}")
        source = self.path(source_uid)
        with history_lock(source, exclusive=False):  # no prune repacks the source while it is copied
            shutil.copytree(source, staging, ignore=shutil.ignore_patterns("*.lock"))
        os.replace(staging, target)
        return self.open(target_uid)

    def prune_unreachable(self, uid: str) -> None:
        """Delete every object no ref reaches (reflogs expired first; ``refs/pr/*`` and
        ``refs/convert/*`` are refs, so they keep theirs). Waits, bounded, until no commit is in
        flight: their objects are not reachable yet (see ``GitRepo.writing_objects``)."""
        path = self.path(uid)
        if not path.is_dir():
            return
        deadline = time.monotonic() + PRUNE_WAIT_SECONDS
        while True:
            with history_lock(path, exclusive=True, wait=False) as taken:
                if taken:
                    _git(path, "gc", "--prune=now", "--quiet")
                    return
            if time.monotonic() > deadline:
                raise HistoryBusyError(f"repository {uid} stayed busy; pruning later")
            time.sleep(0.05)

    def recover_stale_locks(self, *, older_than: float = 0.0) -> list[Path]:
        """Remove ref lock files (``refs/**.lock``, ``packed-refs.lock``) older than ``older_than``
        seconds in every repository. With 0, only safe when no other process can write: at the
        start of the embedded shape. Returns the removed locks."""
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        for git_dir in self.root.glob("*/*.git"):
            locks = [*git_dir.joinpath("refs").rglob("*.lock"), git_dir / "packed-refs.lock"]
            for lock in locks:
                if lock.is_file() and break_stale_lock(lock, older_than):
                    log.warning("removed a stale ref lock left by a dead writer: %s", lock)
                    removed.append(lock)
        return removed


def _git(git_dir: Path, *args: str) -> None:
    """Run the git CLI on a bare repository, with no user or system configuration."""
    config = [f"{key}={value}" for key, value in REPO_CONFIG.items()] + list(_GC_CONFIG)
    command = ["git", *(item for pair in config for item in ("-c", pair)), "-C", str(git_dir), *args]
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=3600)
