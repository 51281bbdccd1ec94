"""JSON shapes the Hub's clients parse (field names come from huggingface_hub's dataclasses)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dockyard.repos.git_repo import CommitSummary, Entry, FileEntry


def iso(value: datetime | None) -> str | None:
    """UTC with milliseconds, as the Hub writes dates (``2024-09-25T15:31:02.346Z``). isoformat is
    a C call: listings format thousands of dates per page, and strftime costs ten times more."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def commit_brief(commit: CommitSummary) -> dict[str, Any]:
    return {"id": commit.id, "title": commit.title, "date": iso(commit.date)}


def tree_entry(
    entry: Entry,
    *,
    last_commit: CommitSummary | None = None,
    xet_hash: str | None = None,
    security: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if isinstance(entry, FileEntry):
        data: dict[str, Any] = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": entry.path}
        if entry.lfs is not None:
            data["lfs"] = {"oid": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.pointer_size}
            if xet_hash:
                data["xetHash"] = xet_hash
    else:
        data = {"type": "directory", "oid": entry.tree_id, "size": 0, "path": entry.path}
    if last_commit is not None:
        data["lastCommit"] = commit_brief(last_commit)
    if security is not None and isinstance(entry, FileEntry):
        data["securityFileStatus"] = security
    return data


def sibling(entry: FileEntry, *, with_blobs: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"rfilename": entry.path}
    if with_blobs:
        data["blobId"] = entry.blob_id
        data["size"] = entry.size
        if entry.lfs is not None:
            data["lfs"] = {"sha256": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.pointer_size}
    return data
