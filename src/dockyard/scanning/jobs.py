"""Background jobs of the scanning domain."""

from __future__ import annotations

import sys
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job
from dockyard.scanning.service import scan_commit

SCAN_COMMIT = "scanning.scan_commit"


@job(SCAN_COMMIT, max_attempts=3)
def scan_commit_job(hub: Hub, payload: dict[str, Any]) -> None:
    """Scan the files of one commit; payload ``{"repo_id": <Repo.id>, "commit_id": <sha>}``.

    Idempotent: contents that already have a current result are skipped, so a retry or a second
    job for the same commit only scans what is still missing.
    """
    scan_commit(hub, int(payload["repo_id"]), str(payload["commit_id"]))


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
