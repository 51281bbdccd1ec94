"""Choose the blob store from the storage URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from dockyard.storage.base import BlobStore
from dockyard.storage.local import LocalBlobStore


def open_blob_store(url: str) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(unquote(parsed.path)))
    raise ValueError(f"Unsupported storage URL {url!r}: expected file://")
