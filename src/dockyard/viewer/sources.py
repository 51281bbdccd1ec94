"""A file of a commit read by byte ranges (a git blob, or an LFS object stored whole or as Xet
chunks), and a seekable file over it so that pyarrow reads only a Parquet footer, never the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.hub import Hub
from dockyard.lfs import content
from dockyard.lfs.pointer import parse_pointer
from dockyard.repos.git_repo import FileEntry
from dockyard.viewer.errors import ViewerNotReadyError


@dataclass(frozen=True, slots=True)
class ShardSource:
    """A file's bytes, read by inclusive ranges (``read_range(0, 99)`` is the first 100 bytes);
    the same shape as the file viewers' ``Source``, which a domain module may not import."""

    path: str
    size: int
    read_range: Callable[[int, int], bytes]


def open_file(hub: Hub, uid: str, commit: str, path: str) -> ShardSource:
    """``path`` at ``commit`` of the repo stored under ``uid``."""
    git = hub.git.open(uid)
    entry = git.entry(commit, path)
    if not isinstance(entry, FileEntry):
        raise ViewerNotReadyError(f"{path} is missing from commit {commit}")
    pointer = entry.lfs or parse_pointer(git.read_blob(entry.blob_id))
    if pointer is None:
        data = git.read_blob(entry.blob_id)
        return ShardSource(path, len(data), lambda start, end: data[start : end + 1])
    with hub.db.read() as session:
        stored = content.locate(hub, session, pointer.oid)
    if stored is None:
        raise ViewerNotReadyError(f"the content of {path} is missing from storage")
    found = stored
    return ShardSource(path, found.size, lambda start, end: content.read_range(hub, found, start, end))
