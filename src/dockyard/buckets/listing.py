"""A bucket's tree, one page at a time, without loading the bucket.

Files are rows ordered by path, so a page is an indexed range scan (the unique index on
``(bucket_id, path)``). A non-recursive listing folds the paths under a directory into one entry
and then *skips* past that directory (``dir/`` sorts before ``dir0``: ``/`` is one code point
below ``0``), so a directory of a million files costs one query, not a million rows.

Entries come in the order of the paths they stand for, a folder sorting as ``name/`` (git's tree
order, which the Hub's repo trees follow): ``logs.json`` comes before the folder ``logs``.

The cursor names where the next page starts: after a path (``g``) or at a key (``e``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from dockyard.buckets.models import Bucket, BucketFile
from dockyard.errors import BadRequestError


@dataclass(frozen=True, slots=True)
class Folder:
    path: str
    uploaded_at: datetime | None


Entry = BucketFile | Folder


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


def _files(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> list[BucketFile]:
    query = select(BucketFile).where(BucketFile.bucket_id == bucket.id, _range(prefix), _from(start))
    return list(session.scalars(query.order_by(BucketFile.path).limit(limit)))


def exact_file(session: Session, bucket: Bucket, path: str) -> BucketFile | None:
    return session.scalar(select(BucketFile).where(BucketFile.bucket_id == bucket.id, BucketFile.path == path))


def recursive_page(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> Page:
    rows = _files(session, bucket, prefix, start, limit + 1)
    more = len(rows) > limit
    entries: list[Entry] = list(rows[:limit])
    return Page(entries, Position(rows[limit - 1].path) if more else None)


def _folder(session: Session, bucket: Bucket, path: str) -> Folder:
    """A directory's ``uploadedAt`` is its newest file's."""
    newest = select(func.max(BucketFile.uploaded_at)).where(BucketFile.bucket_id == bucket.id, _range(path + "/"))
    return Folder(path, session.scalar(newest))


def children_page(session: Session, bucket: Bucket, prefix: str, start: Position | None, limit: int) -> Page:
    """Immediate children of ``prefix``: paths are folded at the first ``/`` past the prefix's own
    last segment (the prefix matches lexically, as on the Hub)."""
    fold_from = len(prefix) + (0 if not prefix or prefix.endswith("/") else 1)
    entries: list[Entry] = []
    position = start
    while len(entries) < limit:
        rows = _files(session, bucket, prefix, position, limit - len(entries))
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
