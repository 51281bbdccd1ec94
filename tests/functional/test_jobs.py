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


def test_popularity_rollup_keeps_30_days_and_ranks_the_week(hub: Hub) -> None:
    from dockyard.accounts.models import Account
    from dockyard.repos.models import Repo, RepoDownloadDay
    from dockyard.repos.popularity import rollup

    today = utcnow().date()
    with hub.db.write() as session:
        owner = Account(name="o", name_lower="o", kind="user", fullname="o")
        session.add(owner)
        session.flush()
        old, fresh = (
            Repo(uid=f"{i:032x}", type="model", owner_id=owner.id, name=n, full_id=f"o/{n}", full_id_lower=f"o/{n}")
            for i, n in ((1, "old"), (2, "fresh"))
        )
        session.add_all([old, fresh])
        session.flush()
        session.add_all(
            [
                RepoDownloadDay(repo_id=old.id, day=(today - timedelta(days=40)).isoformat(), count=500),
                RepoDownloadDay(repo_id=old.id, day=(today - timedelta(days=20)).isoformat(), count=50),
                RepoDownloadDay(repo_id=fresh.id, day=today.isoformat(), count=30),
            ]
        )
    rollup(hub.db)
    with hub.db.read() as session:
        rows = {r.name: (r.downloads, r.trending_score) for r in session.scalars(select(Repo))}
    assert rows == {"old": (50, 0.0), "fresh": (30, 30.0)}
