"""``GET /api/buckets/{ns}/{name}/events``: the live-follow feed ``huggingface_hub``'s
``_bucket_live_follow.py`` consumes (``HfFileSystem(live_follow=True)``, ``hf sync --watch``).

Server-sent events, read from the database so any API process serves any follower:
``changes`` batches (``{cursor, changes: [{path, op, size?, xetHash?, uploadedAt?, mtime?}]}``),
then ``ready`` once the replay is done, ``reset`` when the resume point is older than what is
kept (or the bucket was deleted or moved), and ``reconnect`` after a bounded time so a process
never holds a connection forever. Resume with ``?cursor=`` (or ``Last-Event-ID``) strictly after
a batch, ``?since=<ISO 8601>`` from an instant, or nothing for live changes only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.api.deps import caller_of, hub_of
from dockyard.api.serialize import iso
from dockyard.auth.access import Right
from dockyard.auth.identity import Caller
from dockyard.buckets import access, events, service
from dockyard.buckets.event_models import DELETE, RESET, BucketEvent
from dockyard.buckets.models import Bucket
from dockyard.buckets.service import BucketId
from dockyard.errors import BadRequestError
from dockyard.hub import Hub

router = APIRouter()

SETTLE = timedelta(seconds=5)  # how long a gap in the ids may be a transaction still committing
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass
class Follow:
    """One stream's state: the bucket, the last id delivered, and the id gap it is waiting at."""

    bucket_id: int
    position: int
    expired: bool = False
    gap_since: datetime | None = None


@dataclass
class Poll:
    changes: list[BucketEvent] = field(default_factory=list)
    reset: str | None = None  # the reason, when the bucket as a whole changed
    gone: bool = False  # deleted, or no longer readable by the caller
    full: bool = False  # more is waiting: poll again at once


# -- request -----------------------------------------------------------------------------------------
def _resume(request: Request) -> tuple[str, int | datetime | None]:
    params = request.query_params
    cursor = params.get("cursor") or request.headers.get("last-event-id")
    if cursor:
        if not cursor.isdigit():
            raise BadRequestError("cursor must be a value this feed handed out")
        return "cursor", int(cursor)
    since = params.get("since")
    if since:
        try:
            instant = datetime.fromisoformat(since)
        except ValueError:
            raise BadRequestError("since must be an ISO 8601 instant") from None
        return "since", instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return "live", None


def _open(request: Request, bucket_id: BucketId, resume: tuple[str, int | datetime | None]) -> Follow:
    """Checks the download right (a private bucket answers 404, or 401 to anonymous callers) and
    finds where the replay starts."""
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        bucket = service.get_bucket(session, caller, bucket_id, Right.DOWNLOAD)
        kept = events.bounds(session)
        kind, value = resume
        if kind == "cursor" and isinstance(value, int):
            if events.cursor_expired(value, kept):
                return Follow(bucket.id, kept.newest, expired=True)
            return Follow(bucket.id, value)
        if kind == "since" and isinstance(value, datetime):
            return Follow(bucket.id, events.position_since(session, value), expired=_since_pruned(session, value, kept))
        return Follow(bucket.id, kept.newest)


def _since_pruned(session: Any, since: datetime, kept: events.Bounds) -> bool:
    """Events after ``since`` may have been pruned: the oldest kept one is later than it and ids
    were already dropped before it."""
    if kept.oldest is None or kept.oldest <= 1:
        return False
    oldest = session.get(BucketEvent, kept.oldest)
    return oldest is not None and oldest.created > since


# -- polling (in the threadpool) ---------------------------------------------------------------------
def _poll(hub: Hub, caller: Caller, follow: Follow) -> Poll:
    with hub.db.read() as session:
        upto, follow.gap_since = events.settled_upto(session, follow.position, follow.gap_since, SETTLE)
        rows = events.read(session, follow.bucket_id, follow.position, upto)
        # More waits when this bucket's batch is full, or when the settled ids (of every bucket,
        # contiguous) filled a whole read: a busy hub must not slow a replay to one batch a poll.
        capped = upto - follow.position >= events.READ_BATCH
        poll = Poll(full=len(rows) == events.READ_BATCH or capped)
        for row in rows:
            if row.kind == RESET:
                poll.reset = row.path
                return poll
            poll.changes.append(row)
        follow.position = rows[-1].id if len(rows) == events.READ_BATCH else upto
        bucket = session.get(Bucket, follow.bucket_id)
        poll.gone = bucket is None or not access.may(session, caller, bucket, Right.DOWNLOAD)
        return poll


# -- wire format -------------------------------------------------------------------------------------
def _sse(name: str, payload: dict[str, Any], event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _change_json(row: BucketEvent) -> dict[str, Any]:
    if row.kind == DELETE:
        return {"path": row.path, "op": DELETE}
    mtime = None if row.mtime is None else iso(_EPOCH + timedelta(milliseconds=row.mtime))
    return {
        "path": row.path,
        "op": row.kind,
        "size": row.size,
        "xetHash": row.xet_hash,
        "uploadedAt": iso(row.created),
        "mtime": mtime,
    }


def _changes(rows: Sequence[BucketEvent]) -> bytes:
    cursor = str(rows[-1].id)
    return _sse("changes", {"cursor": cursor, "changes": [_change_json(row) for row in rows]}, cursor)


# -- the stream --------------------------------------------------------------------------------------
async def _stream(hub: Hub, caller: Caller, follow: Follow) -> AsyncIterator[bytes]:
    """Replay, ``ready``, then follow until the time is up; ends on ``reset`` or lost access."""
    settings = hub.settings
    if follow.expired:
        yield _sse("reset", {"reason": "expired"})
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.bucket_events_stream_seconds
    quiet_since, ready = loop.time(), False
    while True:
        poll = await run_in_threadpool(_poll, hub, caller, follow)
        if poll.changes:
            yield _changes(poll.changes)
            quiet_since = loop.time()
        if poll.reset is not None:
            yield _sse("reset", {"reason": poll.reset})
            return
        if poll.gone:
            return
        if poll.full:
            continue
        if not ready:
            yield _sse("ready", {"cursor": str(follow.position)})
            ready = True
        if loop.time() >= deadline:
            yield _sse("reconnect", {"cursor": str(follow.position)})
            return
        if loop.time() - quiet_since >= settings.bucket_events_ping_seconds:
            yield b": ping\n\n"
            quiet_since = loop.time()
        await asyncio.sleep(min(settings.bucket_events_poll_seconds, max(deadline - loop.time(), 0.0)))


@router.get("/api/buckets/{namespace}/{name}/events")
async def events_route(request: Request, namespace: str, name: str) -> StreamingResponse:
    resume = _resume(request)
    follow = await run_in_threadpool(_open, request, BucketId(namespace, name), resume)
    stream = _stream(hub_of(request), caller_of(request), follow)
    return StreamingResponse(stream, media_type="text/event-stream", headers=_HEADERS)
