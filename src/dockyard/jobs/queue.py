"""Enqueue and claim jobs.

Claiming is safe with several workers: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, on SQLite
because write transactions are serialised (``BEGIN IMMEDIATE``). A running job's worker renews
its lease every ``HEARTBEAT``; a job whose worker died is reclaimed at once when its death is
known (:func:`reclaim_dead`: same host, process gone), otherwise when its heartbeat is older than
``LEASE``. Failed jobs are retried with backoff up to ``max_attempts``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from dockyard.jobs.registry import get_kind

LEASE = timedelta(minutes=2)  # a running job whose heartbeat is older than this is taken over
HEARTBEAT = LEASE / 6


def enqueue(session: Session, kind: str, payload: dict[str, Any], *, delay: timedelta | None = None) -> Job:
    """Add a job in the caller's transaction: it runs only if that transaction commits."""
    registered = get_kind(kind)
    if registered is None:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        kind=kind,
        payload=payload,
        max_attempts=registered.max_attempts,
        run_after=utcnow() + (delay or timedelta()),
    )
    session.add(job)
    return job


def claim(db: Database, worker_id: str) -> Job | None:
    now = utcnow()
    with db.write() as session:
        query = (
            select(Job)
            .where(
                or_(
                    (Job.status == QUEUED) & (Job.run_after <= now),
                    (Job.status == RUNNING) & (Job.locked_at < now - LEASE),
                )
            )
            .order_by(Job.run_after, Job.id)
            .limit(1)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        job = session.scalar(query)
        if job is None:
            return None
        job.status = RUNNING
        job.locked_by = worker_id
        job.locked_at = now
        job.attempts += 1
        session.flush()
        session.expunge(job)
        return job


def finish(db: Database, job_id: int, error: BaseException | None) -> None:
    with db.write() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.locked_by = None
        job.locked_at = None
        if error is None:
            job.status = DONE
            job.finished_at = utcnow()
            job.last_error = None
            return
        job.last_error = "".join(traceback.format_exception(error))[-4000:]
        if job.attempts >= job.max_attempts:
            job.status = FAILED
            job.finished_at = utcnow()
        else:
            job.status = QUEUED
            job.run_after = utcnow() + timedelta(seconds=2**job.attempts)


def renew_lease(db: Database, job_id: int, worker_id: str) -> None:
    with db.write() as session:
        session.execute(update(Job).where(Job.id == job_id, Job.locked_by == worker_id).values(locked_at=utcnow()))


def reclaim_dead(db: Database, is_dead: Callable[[str], bool]) -> list[int]:
    """Requeue the running jobs whose holder ``is_dead`` says has died, without waiting for their
    lease; returns their ids. The guarded UPDATE leaves a job that finished meanwhile alone."""
    with db.write() as session:
        running = session.execute(select(Job.id, Job.locked_by).where(Job.status == RUNNING))
        dead = [job_id for job_id, holder in running if holder is not None and is_dead(holder)]
        if dead:
            session.execute(
                update(Job)
                .where(Job.id.in_(dead), Job.status == RUNNING)
                .values(status=QUEUED, locked_by=None, locked_at=None, run_after=utcnow())
            )
    return dead


def pending_count(db: Database) -> int:
    with db.read() as session:
        return len(list(session.scalars(select(Job.id).where(Job.status.in_([QUEUED, RUNNING])))))
