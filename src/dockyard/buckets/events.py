"""The bucket change log: written in the transaction of each file change (so a change and its
event commit together), read by the live-follow feed from any API process, pruned by a job.

A cursor is the id of the last event a client saw, as a string. Ids come from one sequence for
all buckets, so a bucket's own events have gaps; a gap in the *global* sequence may be a
transaction still in flight (Postgres hands ids out before commit), so readers wait at such a
gap for a short while before stepping over it (see :func:`settled_upto`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dockyard.buckets.event_models import ADD, DELETE, RESET, UPDATE, BucketEvent
from dockyard.db.base import utcnow

READ_BATCH = 500


def record_write(
    session: Session, bucket_id: int, path: str, *, new: bool, size: int, xet_hash: str, mtime: int | None
) -> None:
    kind = ADD if new else UPDATE
    session.add(BucketEvent(bucket_id=bucket_id, kind=kind, path=path, size=size, xet_hash=xet_hash, mtime=mtime))


def record_delete(session: Session, bucket_id: int, path: str) -> None:
    session.add(BucketEvent(bucket_id=bucket_id, kind=DELETE, path=path))


def record_reset(session: Session, bucket_id: int, reason: str) -> None:
    """The bucket as a whole changed (deleted, moved): followers must reconcile."""
    session.add(BucketEvent(bucket_id=bucket_id, kind=RESET, path=reason))


@dataclass(frozen=True, slots=True)
class Bounds:
    """The ids still kept: a cursor below ``oldest - 1`` lost events to pruning."""

    oldest: int | None
    newest: int


def bounds(session: Session) -> Bounds:
    oldest, newest = session.execute(select(func.min(BucketEvent.id), func.max(BucketEvent.id))).one()
    return Bounds(oldest, int(newest or 0))


def cursor_expired(cursor: int, kept: Bounds) -> bool:
    """Older than what is retained, or newer than anything ever written (another hub's cursor)."""
    if cursor > kept.newest:
        return True
    return kept.oldest is not None and cursor < kept.oldest - 1


def position_since(session: Session, since: datetime) -> int:
    """The cursor just before the first event recorded at or after ``since``."""
    first = session.scalar(select(func.min(BucketEvent.id)).where(BucketEvent.created >= since))
    if first is None:
        return bounds(session).newest
    return int(first) - 1


def settled_upto(
    session: Session, after: int, gap_since: datetime | None, settle: timedelta
) -> tuple[int, datetime | None]:
    """How far past ``after`` the log can be read without skipping an uncommitted event: up to the
    first gap in the ids, unless that gap has been there longer than ``settle`` (a rolled-back
    transaction, not a slow one). Returns the bound and when the current gap was first seen."""
    ids = list(
        session.scalars(select(BucketEvent.id).where(BucketEvent.id > after).order_by(BucketEvent.id).limit(READ_BATCH))
    )
    upto = after
    for event_id in ids:
        if event_id != upto + 1:
            now = utcnow()
            if gap_since is None or now - gap_since < settle:
                return upto, gap_since or now
        upto = event_id
    return upto, None


def read(session: Session, bucket_id: int, after: int, upto: int) -> Sequence[BucketEvent]:
    query = (
        select(BucketEvent)
        .where(BucketEvent.bucket_id == bucket_id, BucketEvent.id > after, BucketEvent.id <= upto)
        .order_by(BucketEvent.id)
        .limit(READ_BATCH)
    )
    return session.scalars(query).all()


def prune(session: Session, older_than: datetime) -> int:
    """Drop events recorded before ``older_than``, always keeping the newest one so the id bounds
    (and so the expiry of old cursors) stay known. Deletes a prefix of the ids."""
    newest = bounds(session).newest
    limit = session.scalar(select(func.max(BucketEvent.id)).where(BucketEvent.created < older_than))
    if limit is None:
        return 0
    result = session.execute(delete(BucketEvent).where(BucketEvent.id <= min(int(limit), newest - 1)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
