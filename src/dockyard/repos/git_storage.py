"""Where bare git repositories live on disk, and how they are created and removed.

Repos are stored by an immutable ``uid``, not by name, so a rename is a database update and a
delete can move the directory aside atomically before removing it.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import pygit2

from dockyard.errors import RepoNotFoundError
from dockyard.repos.git_repo import GitRepo

DEFAULT_BRANCH = "main"
_HANDLES_PER_THREAD = 128


class GitStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()

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
        config["uploadpack.allowAnySHA1InWant"] = True
        return GitRepo(repo)

    def open(self, uid: str) -> GitRepo:
        """Repository handles are reused per thread (libgit2 objects must not cross threads); refs
        and objects are still read from disk on every lookup, so writers elsewhere are seen."""
        path = self.path(uid)
        handles: dict[str, pygit2.Repository] = getattr(self._local, "handles", None) or {}
        self._local.handles = handles
        cached = handles.get(uid)
        if cached is not None and path.is_dir():
            return GitRepo(cached)
        try:
            repo = pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.BARE)
        except pygit2.GitError:
            handles.pop(uid, None)
            raise RepoNotFoundError("Repository storage is missing") from None
        if len(handles) >= _HANDLES_PER_THREAD:
            handles.clear()
        handles[uid] = repo
        return GitRepo(repo)

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
        shutil.copytree(self.path(source_uid), staging)
        os.replace(staging, target)
        return self.open(target_uid)
