"""A bucket's tree, one page at a time, without loading the bucket.

Files are rows ordered by path, so a recursive page is an indexed range scan (the unique index on
``(bucket_id, path)``). A non-recursive listing of a folder merges two index ranges: the files
whose ``parent`` is the folder and its subfolders (``bucket_folders``, kept by every write), so a
folder of a thousand subfolders of a million files is two queries. A prefix that is not a folder
matches lexically: paths are folded into folder entries, *skipping* past each folder (``dir/``
sorts before ``dir0``: ``/`` is one code point below ``0``).

Entries come in the order of the paths they stand for, a folder sorting as ``name/`` (git's tree
order, which the Hub's repo trees follow): ``logs.json`` comes before the folder ``logs``.

The cursor names where the next page starts: after a path (``g``) or at a key (``e``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from dockyard.buckets.models import Bucket, BucketFile, BucketFolder
from dockyard.errors import BadRequestError


@dataclass(frozen=True, slots=True)
class Folder:
    path: str
    uploaded_at: datetime | None


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file as listings show it: read as plain columns, not ORM objects (a page holds 1,000)."""

    path: str
    size: int
    xet_hash: str
    mtime: int | None
    uploaded_at: datetime
    content_type: str | None


FILE_COLUMNS = (
    BucketFile.path,
    BucketFile.size,
    BucketFile.xet_hash,
    BucketFile.mtime,
    BucketFile.uploaded_at,
    BucketFile.content_type,
)

Entry = FileEntry | Folder


def _file_entries(session: Session, query: Select[str, int, str, int | None, datetime, str | None]) -> list[FileEntry]:
    return [FileEntry(*row) for row in session.execute(query)]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: strictly after ``key`` (``inclusive`` False) or at it."""

    key: str
    inclusive: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    next: Position | None


def encode_cursor(position: Position) -> str:
    text = ("e" if position.inclusive else "g") + position.key
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """Cursors come back from clients: anything that is not one of ours is a 400."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequestError("Invalid cursor") from None
    if not text or text[0] not in "eg":
        raise BadRequestError("Invalid cursor")
    return Position(check_path(text[1:]), inclusive=text[0] == "e")


def _range(prefix: str) -> ColumnElement[bool]:
    """Paths starting with ``prefix``, as a range the index serves (LIKE ignores case in SQLite)."""
    if not prefix:
        return BucketFile.path.is_not(None)
    return and_(BucketFile.path >= prefix, BucketFile.path < _upper_bound(prefix))


def _upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last < 0xE000:  # surrogates are not characters: the next one is U+E000
        last = 0xE000
    if last > 0x10FFFF:
        raise BadRequestError("Invalid prefix")
    return prefix[:-1] + chr(last)


def check_path(path: str) -> str:
    """Untrusted paths and prefixes: a NUL byte is refused here, not by the database (a 500)."""
    if "\x00" in path:
        raise BadRequestError("Paths cannot contain NUL characters")
    return path


def _from(position: Position | None) -> ColumnElement[bool]:
    if position is None:
        return BucketFile.path.is_not(None)
    return BucketFile.path >= position.key if position.inclusive else BucketFile.path > position.key


def _files(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> list[FileEntry]:
    query = select(*FILE_COLUMNS).where(BucketFile.bucket_id == bucket.id, _range(prefix), _from(start))
    return _file_entries(session, query.order_by(BucketFile.path).limit(limit))


def exact_file(session: Session, bucket: Bucket, path: str) -> FileEntry | None:
    query = select(*FILE_COLUMNS).where(BucketFile.bucket_id == bucket.id, BucketFile.path == path)
    found = _file_entries(session, query)
    return found[0] if found else None


def recursive_page(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> Page:
    rows = _files(session, bucket, prefix, start, limit + 1)
    more = len(rows) > limit
    entries: list[Entry] = list(rows[:limit])
    return Page(entries, Position(rows[limit - 1].path) if more else None)


def _folder(session: Session, bucket: Bucket, path: str) -> Folder:
    row = session.get(BucketFolder, (bucket.id, path + "/"))
    return Folder(path, row.uploaded_at if row is not None else None)


def children_page(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> Page:
    """Immediate children of ``prefix``. A folder (or the root) reads its files and its subfolders
    as two index ranges merged in tree order; any other prefix matches lexically, as on the Hub
    (``run-0`` lists ``run-00``, ``run-01``...), by folding paths."""
    parent = prefix[:-1] if prefix.endswith("/") else prefix
    if not prefix or session.get(BucketFolder, (bucket.id, parent + "/")) is not None:
        return _folder_children(session, bucket, parent, start, limit)
    return _lexical_children(session, bucket, prefix, start, limit)


def _folder_children(session: Session, bucket: Bucket, parent: str, start: Position | None, limit: int) -> Page:
    files_query = select(*FILE_COLUMNS).where(BucketFile.bucket_id == bucket.id, BucketFile.parent == parent)
    folders_query = select(BucketFolder).where(BucketFolder.bucket_id == bucket.id, BucketFolder.parent == parent)
    if start is not None:
        after_file = BucketFile.path >= start.key if start.inclusive else BucketFile.path > start.key
        after_folder = BucketFolder.key >= start.key if start.inclusive else BucketFolder.key > start.key
        files_query, folders_query = files_query.where(after_file), folders_query.where(after_folder)
    files = _file_entries(session, files_query.order_by(BucketFile.path).limit(limit + 1))
    subfolders = list(session.scalars(folders_query.order_by(BucketFolder.key).limit(limit + 1)))
    keyed: list[tuple[str, Entry]] = [(row.path, row) for row in files]
    keyed += [(row.key, Folder(row.key[:-1], row.uploaded_at)) for row in subfolders]
    keyed.sort(key=lambda pair: pair[0])
    page = keyed[:limit]
    more = len(keyed) > limit
    return Page([entry for _, entry in page], Position(page[-1][0]) if more else None)


def _lexical_children(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> Page:
    """Paths are folded at the first ``/`` past the prefix's own last segment, then the listing
    skips past the folder."""
    fold_from = len(prefix) + (0 if prefix.endswith("/") else 1)
    entries: list[Entry] = []
    position = start
    while len(entries) < limit:
        rows = _files(session, bucket, prefix, position, min(limit - len(entries), 64))
        if not rows:
            return Page(entries, None)
        for row in rows:
            slash = row.path.find("/", fold_from)
            if slash < 0:
                entries.append(row)
                position = Position(row.path)
                continue
            entries.append(_folder(session, bucket, row.path[:slash]))
            position = Position(row.path[:slash] + "0", inclusive=True)
            break  # the rest of this batch may lie inside the folder: query again past it
    return Page(entries, position if _files(session, bucket, prefix, position, 1) else None)
