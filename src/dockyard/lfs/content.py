"""Where a large file's bytes are: a whole blob in storage (LFS uploads, git pushes) or Xet chunks
(default-client uploads). Readers ask here and never care which."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from dockyard.errors import BlobMissingError
from dockyard.hub import Hub
from dockyard.lfs.models import LfsObject
from dockyard.storage.base import lfs_key
from dockyard.xet import cas
from dockyard.xet.models import XetXorb
from dockyard.xet.reader import iter_terms


@dataclass(frozen=True, slots=True)
class StoredContent:
    oid: str
    size: int
    blob_key: str | None
    xet_hash: str | None


_objects = LfsObject.__table__.c
#: Built once, on the table rather than the ORM class: every download runs it, and the ORM path
#: cost more than the rest of a HEAD's database work together.
_LOCATE = select(_objects.size, _objects.has_blob, _objects.xet_hash).where(_objects.oid == bindparam("oid"))


def locate(hub: Hub, session: Session, oid: str) -> StoredContent | None:
    """The content for ``oid``, or None when nothing verified is stored under it (one row read,
    no storage round trip)."""
    row = session.connection().execute(_LOCATE, {"oid": oid}).first()
    if row is None or not (row.has_blob or row.xet_hash):
        return None
    return StoredContent(oid=oid, size=row.size, blob_key=lfs_key(oid) if row.has_blob else None, xet_hash=row.xet_hash)


_LOCATE_SQL = "SELECT size, has_blob, xet_hash FROM lfs_objects WHERE oid = :oid"


def locate_quick(hub: Hub, oid: str, *, wait: bool = True) -> StoredContent | None:
    """:func:`locate` without a session, for HEAD /resolve (see :mod:`dockyard.db.quick_read`)."""
    row = hub.db.quick.first(_LOCATE_SQL, {"oid": oid}, wait=wait)
    if row is None or not (row[1] or row[2]):
        return None
    size, has_blob, xet_hash = row
    return StoredContent(oid=oid, size=size, blob_key=lfs_key(oid) if has_blob else None, xet_hash=xet_hash)


def iter_range(hub: Hub, content: StoredContent, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
    if content.blob_key is not None:
        yield from hub.blobs.iter_range(content.blob_key, start, end, chunk_size)
        return
    assert content.xet_hash is not None
    with hub.db.read() as session:
        _, terms = cas.file_terms(session, content.xet_hash)
        layouts = {}
        for xorb, *_ in terms:
            row = session.get(XetXorb, xorb)
            if row is None:  # the file's row lists it: a storage fault, not a missing file
                raise BlobMissingError(f"xorb {xorb} of Xet file {content.xet_hash} is missing")
            layouts[xorb] = cas.layout_of(row)
    yield from _batched(iter_terms(hub, terms, layouts, start, end), chunk_size)


def _batched(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Chunk-sized pieces (~64 KiB) regrouped into ``size`` blocks: one send per block, not per chunk."""
    block = bytearray()
    for piece in pieces:
        block += piece
        if len(block) >= size:
            yield bytes(block)
            block.clear()
    if block:
        yield bytes(block)


def read_range(hub: Hub, content: StoredContent, start: int, end: int) -> bytes:
    return b"".join(iter_range(hub, content, start, end, 1024 * 1024))
