"""The job kinds one process knows: domains *declare* job bodies with :func:`job`, and the
composition root *registers* each domain's declarations (``register(registry)`` per domain, as
warehouse's ``includeme``). Declaring has no effect on its own, so a job module is never loaded
for its side effects, and one forgotten at the composition root is caught by a test that scans
the source tree for ``@job``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.hub import Hub

JobBody = Callable[["Hub", dict[str, Any]], None]
_DECLARATION = "__dockyard_job__"


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    body: JobBody
    max_attempts: int
    every: timedelta | None = None  # also enqueued (with an empty payload) once per interval
    at_start: bool = False  # also enqueued (with an empty payload) whenever a worker starts


def job(
    name: str, *, max_attempts: int = 5, every: timedelta | None = None, at_start: bool = False
) -> Callable[[JobBody], JobBody]:
    """Declare ``body`` as job ``name`` (the body receives the hub and the JSON payload); with
    ``every`` it also runs periodically, with ``at_start`` whenever a worker starts (recovery
    after a crash). Registered only when its domain's ``register`` runs."""

    def declare(body: JobBody) -> JobBody:
        kind = JobKind(name=name, body=body, max_attempts=max_attempts, every=every, at_start=at_start)
        setattr(body, _DECLARATION, kind)
        return body

    return declare


def declared_in(module: ModuleType) -> list[JobKind]:
    """Every job declared by a function defined in ``module``."""
    found = []
    for value in vars(module).values():
        kind = getattr(value, _DECLARATION, None)
        if isinstance(kind, JobKind) and getattr(value, "__module__", None) == module.__name__:
            found.append(kind)
    return found


class JobRegistry:
    """Job kinds and periodic jobs by name. Registering the same declaration again is a no-op,
    so several hubs in one process (tests, the CLI) can each run the composition root."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, JobKind] = {}

    def include(self, module: ModuleType) -> None:
        """Register every job declared in ``module``: a domain's ``register`` calls this."""
        for kind in declared_in(module):
            self.add(kind)

    def add(self, kind: JobKind) -> None:
        with self._lock:
            known = self._kinds.get(kind.name)
            if known is not None and known.body is not kind.body:
                raise RuntimeError(f"job kind {kind.name!r} registered twice")
            self._kinds[kind.name] = kind

    def get(self, name: str) -> JobKind | None:
        return self._kinds.get(name)

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def periodic(self) -> list[JobKind]:
        return [kind for _, kind in sorted(self._kinds.items()) if kind.every is not None]

    def at_start(self) -> list[JobKind]:
        return [kind for _, kind in sorted(self._kinds.items()) if kind.at_start]


# The process's registry, filled by the composition root (dockyard.app.register_domains); the
# queue validates enqueued kinds against it.
JOBS = JobRegistry()


def get_kind(name: str) -> JobKind | None:
    return JOBS.get(name)
