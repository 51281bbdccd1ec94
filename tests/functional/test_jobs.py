"""The job queue: enqueued with the change that caused it, run once, retried after failures;
every declared job registered by the composition root; a dead worker's jobs taken back at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.jobs import queue
from dockyard.jobs.models import DONE, FAILED, QUEUED, Job
from dockyard.jobs.registry import JOBS, JobRegistry, job
from dockyard.jobs.worker import Worker
from tests.support.jobs import declared_jobs

RUNS: list[dict[str, Any]] = []


@job("test.record", max_attempts=3)
def _record(hub: Hub, payload: dict[str, Any]) -> None:
    RUNS.append(payload)
    if payload.get("fail"):
        raise RuntimeError("asked to fail")


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    RUNS.clear()
    JOBS.include(sys.modules[__name__])  # this module's test job, as a domain registers its own


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


def test_the_composition_root_registers_every_declared_job(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dockyard.app import register_domains

    registry = JobRegistry()
    register_domains(registry)
    declared = {name: kind for name, kind in declared_jobs().items() if not name.startswith("test.")}
    assert {"maintenance.gc", "repos.rollup_popularity", "scanning.scan_commit"} <= set(declared)
    assert set(registry.names()) == set(declared)
    assert {kind.name for kind in registry.periodic()} == {n for n, k in declared.items() if k.every is not None}
    assert all(
        registry.get(name) is not None and registry.get(name).body is kind.body for name, kind in declared.items()
    )


def test_declaring_a_job_registers_nothing_by_itself() -> None:
    @job("test.never_registered")
    def _body(hub: Hub, payload: dict[str, Any]) -> None:
        """Declared, but no domain registers it."""

    assert JOBS.get("test.never_registered") is None


def test_jobs_of_a_dead_worker_process_are_taken_back_when_a_worker_starts(hub: Hub) -> None:
    import socket

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_holder = f"{socket.gethostname()}:{int(dead.stdout)}:0123456789ab"
    with hub.db.write() as session:
        created = queue.enqueue(session, "test.record", {"n": 4})
    assert queue.claim(hub.db, dead_holder) is not None  # its lease is fresh: nobody may take it yet
    worker = Worker(hub)
    assert not worker.run_once()
    worker.recover()  # what a starting worker does first
    assert worker.run_once()
    assert RUNS == [{"n": 4}]
    assert _status(hub, created.id).status == DONE
