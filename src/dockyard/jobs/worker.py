"""Runs jobs: in a thread inside the server (embedded default) or as ``dockyard worker``."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from dockyard.jobs import queue, schedule
from dockyard.jobs.registry import get_kind, load_job_modules

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, hub: object, *, poll_interval: float = 1.0) -> None:
        self.hub = hub
        self.poll_interval = poll_interval
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        load_job_modules()

    def wake(self) -> None:
        """Called after a commit that enqueued work, so it starts without waiting for a poll."""
        self._wake.set()

    def run_once(self) -> bool:
        """Claim and run one job; returns False when nothing was ready."""
        job = queue.claim(self.hub.db, self.worker_id)  # type: ignore[attr-defined]
        if job is None:
            return False
        kind = get_kind(job.kind)
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
        while not done.wait(queue.LEASE.total_seconds() / 3):
            queue.renew_lease(self.hub.db, job_id, self.worker_id)  # type: ignore[attr-defined]

    def run_until_idle(self) -> int:
        count = 0
        while self.run_once():
            count += 1
        return count

    def run_forever(self) -> None:
        next_schedule_check = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_schedule_check:
                    schedule.enqueue_due(self.hub.db)  # type: ignore[attr-defined]
                    next_schedule_check = time.monotonic() + 60
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
