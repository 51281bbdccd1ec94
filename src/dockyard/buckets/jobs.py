"""Background jobs of the buckets domain."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from typing import Any

from dockyard.buckets import events
from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job

log = logging.getLogger(__name__)


@job("buckets.prune_events", every=timedelta(hours=1), at_start=True)
def prune_events(hub: Hub, payload: dict[str, Any]) -> None:
    """Forget file changes older than the replay window; followers that far behind get ``reset``."""
    cutoff = utcnow() - timedelta(seconds=hub.settings.bucket_events_retention_seconds)
    with hub.db.write() as session:
        removed = events.prune(session, cutoff)
    log.info("bucket events: pruned %d", removed)


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
