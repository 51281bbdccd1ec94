"""Background jobs of the maintenance domain."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import job
from dockyard.jobs.schedule import periodic
from dockyard.maintenance.gc import collect_garbage

log = logging.getLogger(__name__)


@job("maintenance.gc", max_attempts=2)
def garbage_collection(hub: Hub, payload: dict[str, Any]) -> None:
    report = collect_garbage(hub, grace=timedelta(seconds=hub.settings.gc_grace_seconds))
    log.info("garbage collection: %s", asdict(report))


periodic("maintenance.gc", every=timedelta(hours=24))
