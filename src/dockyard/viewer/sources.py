"""A file of a commit read by byte ranges (a git blob, or an LFS object stored whole or as Xet
chunks), and a seekable file over it so that pyarrow reads only a Parquet footer, never the file."""

from __future__ import annotations

import io
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


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over ``read_range``: what ``pyarrow.parquet.ParquetFile`` needs."""

    def __init__(self, source: ShardSource) -> None:
        self.source = source
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.source.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        end = min(self.position + len(buffer), self.source.size)
        if end <= self.position:
            return 0
        data = self.source.read_range(self.position, end - 1)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)
