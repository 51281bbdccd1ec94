"""Committing files from a local folder through the same pipeline as the API (demo content,
migrations from another hub)."""

from __future__ import annotations

from pathlib import Path

from dockyard.auth.identity import Caller
from dockyard.hub import Hub
from dockyard.lfs import service as lfs
from dockyard.repos.commits import AddFile, AddLfsFile, CommitRequest, CommitResult, Operation, create_commit
from dockyard.repos.git_repo import BRANCH_PREFIX
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.models import Repo
from dockyard.storage.base import lfs_key


def commit_folder(hub: Hub, repo: Repo, caller: Caller, folder: Path, message: str) -> CommitResult:
    git = hub.git.open(repo.uid)
    head = git.ref_target(BRANCH_PREFIX + DEFAULT_BRANCH)
    operations: list[Operation] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        relative = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        if data and (len(data) > hub.settings.regular_file_limit or git.is_lfs_path(head, relative)):
            operations.append(_stage_large(hub, repo, relative, data))
        else:
            operations.append(AddFile(relative, data))
    return create_commit(hub, repo, caller, DEFAULT_BRANCH, CommitRequest(summary=message, operations=operations))


def commit_files(hub: Hub, repo: Repo, caller: Caller, files: dict[str, bytes], message: str) -> CommitResult:
    git = hub.git.open(repo.uid)
    head = git.ref_target(BRANCH_PREFIX + DEFAULT_BRANCH)
    operations: list[Operation] = [
        _stage_large(hub, repo, path, data) if data and git.is_lfs_path(head, path) else AddFile(path, data)
        for path, data in files.items()
    ]
    return create_commit(hub, repo, caller, DEFAULT_BRANCH, CommitRequest(summary=message, operations=operations))


def _stage_large(hub: Hub, repo: Repo, path: str, data: bytes) -> AddLfsFile:
    staged = hub.blobs.stage_bytes(data)
    hub.blobs.publish(staged, lfs_key(staged.sha256))
    with hub.db.write() as session:
        lfs.link(session, repo.id, staged.sha256, staged.size, blob=True)
    return AddLfsFile(path, staged.sha256, staged.size)
