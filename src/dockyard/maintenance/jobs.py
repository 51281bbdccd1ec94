"""Background jobs of the maintenance domain."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job
from dockyard.maintenance.gc import collect_garbage

log = logging.getLogger(__name__)


@job("maintenance.gc", max_attempts=2, every=timedelta(hours=24))
def garbage_collection(hub: Hub, payload: dict[str, Any]) -> None:
    report = collect_garbage(hub, grace=timedelta(seconds=hub.settings.gc_grace_seconds))
    log.info("garbage collection: %s", asdict(report))


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
