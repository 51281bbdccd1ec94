"""The bucket live-follow feed (``GET /api/buckets/{id}/events``) read with httpx streaming and
with the real client's own follower code, from a live server of its own whose streams end after
a couple of seconds (``reconnect``) so a test never waits on the default five minutes. Bucket
files are written from another process (tests/support/buckets.py), so every event a test sees
came through the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, HfFileSystem
from huggingface_hub._bucket_live_follow import (
    BUCKET_FOLLOWERS,
    BucketEventsUnavailable,
    _Changes,
    _follow_events,
    _Ready,
    _Reset,
)

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, free_port
from tests.support.bucket_ops import Event, prune_events, read_events
from tests.support.buckets import File, add_files, delete_file
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until

HASH_B = "a" * 64


@pytest.fixture(scope="module")
def feed_server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[tuple[LiveServer, Identities]]:
    extra = {"DOCKYARD_BUCKET_EVENTS_STREAM_SECONDS": "3", "DOCKYARD_BUCKET_EVENTS_POLL_SECONDS": "0.1"}
    live = start_server(Path(tmp_path_factory.mktemp("feed")) / "data", free_port(), extra, backend=backend)
    try:
        yield live, create_identities(live.data_dir, live.env)
    finally:
        live.stop()


@pytest.fixture
def bucket(feed_server: tuple[LiveServer, Identities]) -> str:
    server, ids = feed_server
    bucket_id = f"alice/feed-{uuid.uuid4().hex[:10]}"
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(bucket_id)
    return bucket_id


@contextmanager
def _stream(server: LiveServer, bucket_id: str, token: str | None, **params: str) -> Iterator[httpx.Response]:
    headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {token}"} if token else {})}
    if "last_event_id" in params:
        headers["Last-Event-ID"] = params.pop("last_event_id")
    url = f"{server.url}/api/buckets/{bucket_id}/events"
    with httpx.stream("GET", url, params=params, headers=headers, timeout=20.0) as response:
        yield response


def _created(server: LiveServer, bucket_id: str, token: str) -> str:
    """The bucket's ``createdAt``, as the client's follower probes it (``updatedAt``) to resume."""
    info = httpx.get(f"{server.url}/api/buckets/{bucket_id}", headers={"Authorization": f"Bearer {token}"})
    return str(info.json()["createdAt"])


def _until(events: Iterator[Event], name: str) -> list[Event]:
    """Events up to and including the first called ``name``."""
    seen = []
    for event in events:
        seen.append(event)
        if event.name == name:
            return seen
    raise AssertionError(f"stream ended before {name!r}: {seen}")


def _changes(seen: list[Event]) -> list[dict[str, object]]:
    return [change for event in seen if event.name == "changes" for change in event.data["changes"]]


def test_ready_then_live_changes_with_cursors(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    server, ids = feed_server
    with _stream(server, bucket, ids.alice) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
        ready = _until(events, "ready")
        assert [e.name for e in ready] == ["ready"]  # live only: nothing replayed
        start = int(ready[0].data["cursor"])
        add_files(server, bucket, [File("logs/a.txt", size=7, mtime=1727278262346)])
        first = next(events)
        assert first.name == "changes"
        assert int(first.data["cursor"]) > start
        assert first.id == first.data["cursor"]
        [change] = first.data["changes"]
        assert change["path"] == "logs/a.txt"
        assert change["op"] == "add"
        assert change["size"] == 7
        assert change["xetHash"] == File("x").xet_hash
        assert change["mtime"] == "2024-09-25T15:31:02.346Z"
        add_files(server, bucket, [File("logs/a.txt", size=9, xet_hash=HASH_B)])
        delete_file(server, bucket, "logs/a.txt")
        later = _changes([next(events)])
        if len(later) < 2:
            later += _changes([next(events)])
        assert [(c["op"], c["path"]) for c in later] == [("update", "logs/a.txt"), ("delete", "logs/a.txt")]
        assert later[0]["size"] == 9
        assert later[0]["xetHash"] == HASH_B


def test_resume_from_cursor_replays_strictly_after_it(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    server, ids = feed_server
    add_files(server, bucket, [File("one.bin")])
    with _stream(server, bucket, ids.alice, since=_created(server, bucket, ids.alice)) as response:
        replay = _until(read_events(response), "ready")
    assert [c["path"] for c in _changes(replay)] == ["one.bin"]
    after_one = replay[-1].data["cursor"]
    add_files(server, bucket, [File("two.bin"), File("three.bin")])
    with _stream(server, bucket, ids.alice, cursor=after_one) as response:
        replay = _until(read_events(response), "ready")
    assert [c["path"] for c in _changes(replay)] == ["two.bin", "three.bin"]
    assert replay[-1].data["cursor"] == replay[-2].data["cursor"]  # ready resumes after the last batch
    with _stream(server, bucket, ids.alice, last_event_id=after_one) as response:
        assert [c["path"] for c in _changes(_until(read_events(response), "ready"))] == ["two.bin", "three.bin"]


def test_replay_steps_over_other_buckets_busy_logs(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    """More than a read's worth of other buckets' events between the cursor and this bucket's
    change: the replay still delivers it, then ``ready`` after it."""
    server, ids = feed_server
    other = f"alice/busy-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(other)
    with _stream(server, bucket, ids.alice) as response:
        start = _until(read_events(response), "ready")[0].data["cursor"]
    add_files(server, other, [File(f"f{i:04d}") for i in range(1200)])
    add_files(server, bucket, [File("mine.txt")])
    with _stream(server, bucket, ids.alice, cursor=start) as response:
        replay = _until(read_events(response), "ready")
    assert [c["path"] for c in _changes(replay)] == ["mine.txt"]
    assert int(replay[-1].data["cursor"]) >= int(start) + 1201


def test_stream_ends_with_reconnect_and_its_cursor(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    server, ids = feed_server
    with _stream(server, bucket, ids.alice) as response:
        seen = list(read_events(response))  # the server ends the stream itself (3 s here)
    assert [e.name for e in seen] == ["ready", "reconnect"]
    assert seen[1].data["cursor"] == seen[0].data["cursor"]


def test_expired_or_foreign_cursor_gets_reset(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    server, ids = feed_server
    add_files(server, bucket, [File("old.bin")])
    with _stream(server, bucket, ids.alice, since=_created(server, bucket, ids.alice)) as response:
        cursor = int(_until(read_events(response), "ready")[-1].data["cursor"])
    add_files(server, bucket, [File("new.bin")])  # the newest event is always kept
    assert prune_events(server, datetime.now(UTC) + timedelta(days=1)) >= 1
    for stale in (str(cursor - 1), "999999999"):
        with _stream(server, bucket, ids.alice, cursor=stale) as response:
            assert [(e.name, e.data) for e in read_events(response)] == [("reset", {"reason": "expired"})]


def test_deleting_the_bucket_resets_its_followers(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    server, ids = feed_server
    with _stream(server, bucket, ids.alice) as response:
        events = read_events(response)
        _until(events, "ready")
        HfApi(endpoint=server.url, token=ids.alice).delete_bucket(bucket)
        assert [(e.name, e.data) for e in events] == [("reset", {"reason": "deleted"})]


def test_private_bucket_feed_is_hidden(feed_server: tuple[LiveServer, Identities]) -> None:
    server, ids = feed_server
    bucket_id = f"alice/secret-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(bucket_id, private=True)
    for token, status in ((ids.bob, 404), (None, 401)):
        with _stream(server, bucket_id, token) as response:
            response.read()
            assert response.status_code == status
            assert response.headers["x-error-code"] == "RepoNotFound"
    with _stream(server, "alice/no-such-bucket", ids.alice) as response:
        response.read()
        assert response.status_code == 404


def test_bad_resume_points_are_400(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    server, ids = feed_server
    for params in ({"cursor": "abc"}, {"since": "yesterday"}):
        with _stream(server, bucket, ids.alice, **params) as response:
            response.read()
            assert response.status_code == 400, params


def test_the_real_client_follows_the_feed(feed_server: tuple[LiveServer, Identities], bucket: str) -> None:
    """huggingface_hub's own session code: content type, event parsing and its resume points."""
    server, ids = feed_server
    add_files(server, bucket, [File("ckpt/step-1.safetensors", size=123)])
    events = _follow_events(
        server.url, bucket, ids.alice, ("since", _created(server, bucket, ids.alice)), lambda: False
    )
    changes = next(events)
    assert isinstance(changes, _Changes)
    [change] = changes.changes
    assert (change.path, change.op, change.size, change.mtime) == (
        "ckpt/step-1.safetensors",
        "add",
        123,
        datetime(2024, 9, 25, 15, 31, 2, 346000, tzinfo=UTC),
    )
    ready = next(events)
    assert isinstance(ready, _Ready)
    assert ready.cursor == changes.cursor
    events.close()
    resumed = _follow_events(server.url, bucket, ids.alice, ("cursor", "0"), lambda: False)
    first = next(resumed)
    assert isinstance(first, (_Changes, _Reset))
    resumed.close()
    with pytest.raises(BucketEventsUnavailable):
        next(_follow_events(server.url, bucket.replace("alice/", "alice/missing-"), ids.alice, None, lambda: False))


def test_hf_file_system_live_follow_refreshes_its_listing(
    feed_server: tuple[LiveServer, Identities], bucket: str
) -> None:
    """``HfFileSystem(live_follow=True)``: a cached bucket listing picks up a file written by another
    process without ``refresh`` or ``invalidate_cache``."""
    server, ids = feed_server
    add_files(server, bucket, [File("runs/first.log")])
    fs = HfFileSystem(endpoint=server.url, token=ids.alice, live_follow=True, skip_instance_cache=True)
    root = f"buckets/{bucket}/runs"
    assert [entry["name"] for entry in fs.ls(root)] == [f"{root}/first.log"]
    follower = BUCKET_FOLLOWERS[(server.url, ids.alice, bucket)][0]
    assert wait_until(lambda: follower.subscribed, timeout=20)
    add_files(server, bucket, [File("runs/second.log")])
    assert wait_until(lambda: f"{root}/second.log" in [e["name"] for e in fs.ls(root)], timeout=20)
    follower.stop()
