"""The one list of job kinds: domains declare their job bodies with :func:`job`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.hub import Hub

JobBody = Callable[["Hub", dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    body: JobBody
    max_attempts: int


_KINDS: dict[str, JobKind] = {}


def job(name: str, *, max_attempts: int = 5) -> Callable[[JobBody], JobBody]:
    """Register a job body under ``name``; the body receives the hub and the JSON payload."""

    def register(body: JobBody) -> JobBody:
        if name in _KINDS and _KINDS[name].body is not body:
            raise RuntimeError(f"job kind {name!r} registered twice")
        _KINDS[name] = JobKind(name=name, body=body, max_attempts=max_attempts)
        return body

    return register


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def load_job_modules() -> None:
    """Import the modules that declare jobs, so the registry is complete."""
    import dockyard.repos.jobs  # noqa: F401
