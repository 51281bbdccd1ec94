"""Publishing the Parquet export: shard files stored like any upload (content-addressed, linked to
the repo) and committed to ``refs/convert/parquet`` through the commit pipeline, by the system
identity. The ref's history keeps every earlier export, so an older revision's shards stay
readable after a new commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from dockyard.auth.identity import Caller
from dockyard.hub import Hub
from dockyard.lfs import service as lfs
from dockyard.repos.commits import (
    AddFile,
    AddLfsFile,
    CommitRequest,
    DeleteFile,
    Operation,
    RemoveFolder,
    create_commit,
)
from dockyard.repos.git_repo import FolderEntry, RefMovedError
from dockyard.repos.models import Repo
from dockyard.repos.service import signature_for

PARQUET_REF = "refs/convert/parquet"
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
_CHUNK = 1024 * 1024


def store_file(hub: Hub, repo_id: int, path: Path) -> tuple[str, int]:
    """Stage a local file in the blob store, verify and publish it, link it to the repo:
    its (sha256, size)."""

    async def chunks() -> AsyncIterator[bytes]:
        with path.open("rb") as source:
            while block := source.read(_CHUNK):
                yield block

    staged = asyncio.run(hub.blobs.stage_stream(chunks()))
    lfs.accept_upload(hub, staged, repo_id, staged.sha256, staged.size)
    return staged.sha256, staged.size


def commit_export(hub: Hub, repo_id: int, shards: dict[tuple[str, str], list[dict[str, Any]]], revision: str) -> str:
    """Replace the export with ``shards`` (every split of ``revision``); the new commit's sha."""
    with hub.db.read() as session:
        repo = session.get_one(Repo, repo_id)
        session.expunge(repo)
    git = hub.git.open(repo.uid)
    head = git.ref_target(PARQUET_REF) or _create_ref(hub, repo)
    operations: list[Operation] = [
        RemoveFolder(entry.path) if isinstance(entry, FolderEntry) else DeleteFile(entry.path)
        for entry in git.list_tree(head)
    ]
    operations.append(AddFile(".gitattributes", GITATTRIBUTES))
    for found in shards.values():
        operations += [AddLfsFile(shard["filename"], shard["oid"], shard["size"]) for shard in found]
    request = CommitRequest(
        summary="Update parquet files", description=f"Converted from {revision}", operations=operations
    )
    return create_commit(hub, repo, Caller(), PARQUET_REF, request, system_ref=True).commit_id


def _create_ref(hub: Hub, repo: Repo) -> str:
    """The export starts as a root commit with an empty tree (the ref is not a branch of the data)."""
    git = hub.git.open(repo.uid)
    tree = git.build_tree(None, [])
    commit = git.create_commit(tree_id=tree, parents=[], author=signature_for(None), message="Initial parquet export\n")
    with contextlib.suppress(RefMovedError):  # created meanwhile by another run
        git.update_ref(PARQUET_REF, commit, expected_old=None, message="Initial parquet export")
    head = git.ref_target(PARQUET_REF)
    assert head is not None
    return head
