"""Where a large file's bytes are: a whole blob in storage (LFS uploads, git pushes) or Xet chunks
(default-client uploads). Readers ask here and never care which."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dockyard.hub import Hub
from dockyard.lfs.models import LfsObject
from dockyard.storage.base import lfs_key
from dockyard.xet import cas
from dockyard.xet.reader import iter_terms


@dataclass(frozen=True, slots=True)
class StoredContent:
    oid: str
    size: int
    blob_key: str | None
    xet_hash: str | None


def locate(hub: Hub, session: Session, oid: str) -> StoredContent | None:
    """The content for ``oid``, or None when nothing verified is stored under it (one row read,
    no storage round trip)."""
    row = session.get(LfsObject, oid)
    if row is None or not (row.has_blob or row.xet_hash):
        return None
    return StoredContent(oid=oid, size=row.size, blob_key=lfs_key(oid) if row.has_blob else None, xet_hash=row.xet_hash)


def iter_range(hub: Hub, content: StoredContent, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
    if content.blob_key is not None:
        yield from hub.blobs.iter_range(content.blob_key, start, end, chunk_size)
        return
    assert content.xet_hash is not None
    with hub.db.read() as session:
        _, terms = cas.file_terms(session, content.xet_hash)
        layouts = {xorb: cas.layout_of(session.get_one(cas.XetXorb, xorb)) for xorb, *_ in terms}
    yield from iter_terms(hub, terms, layouts, start, end)


def read_range(hub: Hub, content: StoredContent, start: int, end: int) -> bytes:
    return b"".join(iter_range(hub, content, start, end, 1024 * 1024))
