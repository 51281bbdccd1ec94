"""Committing files from a local folder through the same pipeline as the API (demo content,
migrations from another hub)."""

from __future__ import annotations

from pathlib import Path

from dockyard.auth.identity import Caller
from dockyard.hub import Hub
from dockyard.lfs import service as lfs
from dockyard.lfs.placement import goes_to_lfs
from dockyard.repos.commits import AddFile, AddLfsFile, CommitRequest, CommitResult, Operation, create_commit
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.models import Repo


def commit_folder(hub: Hub, repo: Repo, caller: Caller, folder: Path, message: str) -> CommitResult:
    git = hub.git.open(repo.uid)
    head = git.ref_target(DEFAULT_REF)
    operations: list[Operation] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        relative = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        if goes_to_lfs(git, head, relative, len(data), regular_file_limit=hub.settings.regular_file_limit):
            operations.append(_stage_large(hub, repo, relative, data))
        else:
            operations.append(AddFile(relative, data))
    return create_commit(hub, repo, caller, DEFAULT_BRANCH, CommitRequest(summary=message, operations=operations))


def commit_files(hub: Hub, repo: Repo, caller: Caller, files: dict[str, bytes], message: str) -> CommitResult:
    git = hub.git.open(repo.uid)
    head = git.ref_target(DEFAULT_REF)
    limit = hub.settings.regular_file_limit
    operations: list[Operation] = [
        _stage_large(hub, repo, path, data)
        if goes_to_lfs(git, head, path, len(data), regular_file_limit=limit)
        else AddFile(path, data)
        for path, data in files.items()
    ]
    return create_commit(hub, repo, caller, DEFAULT_BRANCH, CommitRequest(summary=message, operations=operations))


def _stage_large(hub: Hub, repo: Repo, path: str, data: bytes) -> AddLfsFile:
    oid, size = lfs.store_bytes(hub, repo.id, data)
    return AddLfsFile(path, oid, size)
