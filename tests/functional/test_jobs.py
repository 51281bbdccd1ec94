"""The job queue: enqueued with the change that caused it, run once, retried after failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.jobs import queue
from dockyard.jobs.models import DONE, FAILED, QUEUED, Job
from dockyard.jobs.registry import job
from dockyard.jobs.worker import Worker

RUNS: list[dict[str, Any]] = []


@job("test.record", max_attempts=3)
def _record(hub: Hub, payload: dict[str, Any]) -> None:
    RUNS.append(payload)
    if payload.get("fail"):
        raise RuntimeError("asked to fail")


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    RUNS.clear()


def _status(hub: Hub, job_id: int) -> Job:
    with hub.db.read() as session:
        return session.get_one(Job, job_id)


def test_a_job_runs_only_if_its_transaction_commits(hub: Hub) -> None:
    def failing_change() -> None:
        with hub.db.write() as session:
            queue.enqueue(session, "test.record", {"n": 1})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        failing_change()
    with hub.db.write() as session:
        committed = queue.enqueue(session, "test.record", {"n": 2})
    assert Worker(hub).run_until_idle() == 1
    assert RUNS == [{"n": 2}]
    assert _status(hub, committed.id).status == DONE


def test_a_failing_job_is_retried_then_marked_failed(hub: Hub) -> None:
    with hub.db.write() as session:
        failing = queue.enqueue(session, "test.record", {"fail": True})
    worker = Worker(hub)
    for attempt in range(1, 4):
        with hub.db.write() as session:  # make the backoff elapse
            session.get_one(Job, failing.id).run_after = utcnow()
        assert worker.run_once()
        assert _status(hub, failing.id).attempts == attempt
    final = _status(hub, failing.id)
    assert final.status == FAILED
    assert "asked to fail" in (final.last_error or "")
    assert not worker.run_once()


def test_a_job_of_a_dead_worker_is_taken_over_after_its_lease(hub: Hub) -> None:
    with hub.db.write() as session:
        created = queue.enqueue(session, "test.record", {"n": 3})
    claimed = queue.claim(hub.db, "worker-that-dies")
    assert claimed is not None
    assert queue.claim(hub.db, "another-worker") is None  # never run twice at the same time
    with hub.db.write() as session:
        session.get_one(Job, created.id).locked_at = utcnow() - queue.LEASE - timedelta(seconds=1)
    assert Worker(hub).run_until_idle() == 1
    assert RUNS == [{"n": 3}]


def test_unknown_kinds_are_refused_at_enqueue(hub: Hub) -> None:
    with pytest.raises(ValueError, match="unknown job kind"), hub.db.write() as session:
        queue.enqueue(session, "no.such.job", {})
    with hub.db.read() as session:
        assert session.scalars(select(Job).where(Job.status == QUEUED)).all() == []
