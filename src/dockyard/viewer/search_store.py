"""Where finished search indexes live: in the blob store, under a key derived from (repo, revision,
config, split, step version), so any API process on any host finds the same file and an older
revision keeps its own.

SQLite needs a local file. With the local disk store the blob itself is opened (read-only); with a
remote store (S3) the blob is copied once into a cache folder under the data directory, keyed by
the blob key. The cache is only a cache: a missing or evicted file is fetched again, and the API
processes keep no state of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from dockyard.hub import Hub

KEY_PREFIX = "viewer/search"
_CHUNK = 1024 * 1024


def index_key(uid: str, revision: str, config: str, split: str, version: int) -> str:
    """The blob key of one split's index. Config and split names may hold any character, so they
    enter the key as a digest (the pair, NUL-separated, cannot collide with another pair)."""
    digest = hashlib.sha256(f"{config}\0{split}".encode()).hexdigest()[:40]
    return f"{KEY_PREFIX}/{uid}/{revision}/{digest}.v{version}.sqlite3"


def store(hub: Hub, path: Path, key: str) -> int:
    """Stage the finished file and publish it under ``key`` (atomic: a reader sees the whole file
    or nothing). A blob already there is the same index from an earlier run and is kept."""

    async def chunks() -> AsyncIterator[bytes]:
        with path.open("rb") as source:
            while block := source.read(_CHUNK):
                yield block

    staged = asyncio.run(hub.blobs.stage_stream(chunks()))
    hub.blobs.publish(staged, key)
    return staged.size


def cache_dir(hub: Hub) -> Path:
    return hub.settings.resolved_data_dir() / "cache" / "viewer-search"


def local_file(hub: Hub, key: str) -> Path:
    """A local path holding the index stored under ``key`` (raises BlobMissingError when the blob
    is gone)."""
    direct = hub.blobs.local_path(key)
    if direct is not None and direct.is_file():
        return direct
    folder = cache_dir(hub)
    cached = folder / key.replace("/", "~")
    if cached.is_file():
        with contextlib.suppress(FileNotFoundError):  # evicted by another process meanwhile
            os.utime(cached)  # recently used: evicted last
            return cached
    folder.mkdir(parents=True, exist_ok=True)
    _download(hub, key, folder, cached)
    _evict(folder, hub.settings.viewer_search_cache_bytes, keep=cached)
    return cached


def _download(hub: Hub, key: str, folder: Path, target: Path) -> None:
    """Copy the blob into a private temporary file, then rename it into place: concurrent misses
    each write their own copy and the last rename wins, never a half-written index."""
    handle, name = tempfile.mkstemp(dir=folder, prefix=".fetch-")
    try:
        with os.fdopen(handle, "wb") as out, hub.blobs.open(key) as source:
            shutil.copyfileobj(source, out, _CHUNK)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _evict(folder: Path, limit: int, *, keep: Path) -> None:
    """Remove the least recently used indexes until the cache fits ``limit`` bytes (the one just
    fetched stays, even alone over the limit). A reader holding a removed file keeps reading it."""
    files = []
    for path in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and not path.name.startswith(".fetch-"):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            break
        if path != keep:
            path.unlink(missing_ok=True)
            total -= size
