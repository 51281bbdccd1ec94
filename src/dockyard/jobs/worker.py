"""Runs jobs: in a thread inside the server (embedded default) or as ``dockyard worker``."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from dockyard.faults import JOB_RUNNING, crash_point
from dockyard.jobs import queue, schedule
from dockyard.jobs.registry import JOBS, JobRegistry

log = logging.getLogger(__name__)

# Worker ids alive in this process: a job held by another id with this process's pid was held by
# an earlier process that had the same pid (a restarted container), so that holder is dead.
_LIVE_HERE: set[str] = set()


def holder_is_dead(holder: str) -> bool:
    """Whether the worker named ``holder`` (``host:pid:token``) is known to have died: it ran on
    this host and its process is gone. Holders on other hosts are judged by heartbeat age."""
    host, _, rest = holder.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return holder not in _LIVE_HERE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


class Worker:
    def __init__(self, hub: object, *, poll_interval: float = 1.0, registry: JobRegistry = JOBS) -> None:
        self.hub = hub
        self.poll_interval = poll_interval
        self.registry = registry
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _LIVE_HERE.add(self.worker_id)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Called after a commit that enqueued work, so it starts without waiting for a poll."""
        self._wake.set()

    def recover(self) -> None:
        """On start: take back the jobs of dead workers now rather than after their lease, and
        enqueue the jobs that must run whenever a worker starts (crash recovery)."""
        db = self.hub.db  # type: ignore[attr-defined]
        reclaimed = queue.reclaim_dead(db, holder_is_dead)
        if reclaimed:
            log.warning("took back %d job(s) of dead workers: %s", len(reclaimed), reclaimed)
        with db.write() as session:
            for kind in self.registry.at_start():
                queue.enqueue(session, kind.name, {})
        log.info(
            "job worker %s: kinds=%s periodic=%s",
            self.worker_id,
            ",".join(self.registry.names()),
            ",".join(kind.name for kind in self.registry.periodic()),
        )

    def run_once(self) -> bool:
        """Claim and run one job; returns False when nothing was ready."""
        job = queue.claim(self.hub.db, self.worker_id)  # type: ignore[attr-defined]
        if job is None:
            return False
        crash_point(self.hub.settings, JOB_RUNNING + job.kind)  # type: ignore[attr-defined]
        kind = self.registry.get(job.kind)
        error: BaseException | None = None
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(job.id, done), daemon=True)
        heartbeat.start()
        try:
            if kind is None:
                raise LookupError(f"unknown job kind {job.kind!r}")
            kind.body(self.hub, job.payload)  # type: ignore[arg-type]
        except Exception as exc:  # a failing job body must not kill the worker; it is retried
            log.exception("job %s (%s) failed", job.id, job.kind)
            error = exc
        finally:
            done.set()
            heartbeat.join()
        queue.finish(self.hub.db, job.id, error)  # type: ignore[attr-defined]
        return True

    def _heartbeat(self, job_id: int, done: threading.Event) -> None:
        """Renew the lease of a long job, so no other worker takes it over while it runs."""
        while not done.wait(queue.HEARTBEAT.total_seconds()):
            try:
                queue.renew_lease(self.hub.db, job_id, self.worker_id)  # type: ignore[attr-defined]
            except Exception:  # a database hiccup: the next beat tries again
                log.exception("could not renew the lease of job %s", job_id)

    def run_until_idle(self) -> int:
        count = 0
        while self.run_once():
            count += 1
        return count

    def run_forever(self) -> None:
        try:
            self.recover()
        except Exception:  # the database is away: the loop below keeps retrying it
            log.exception("worker start-up recovery failed")
        next_check = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_check:
                    schedule.enqueue_due(self.hub.db, self.registry)  # type: ignore[attr-defined]
                    queue.reclaim_dead(self.hub.db, holder_is_dead)  # type: ignore[attr-defined]
                    next_check = time.monotonic() + 60
                if self.run_once():
                    continue
            except Exception:  # database hiccups: log and keep the worker alive
                log.exception("worker loop error")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="dockyard-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        _LIVE_HERE.discard(self.worker_id)
