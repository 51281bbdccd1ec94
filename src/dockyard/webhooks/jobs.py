"""Background jobs of the webhooks domain."""

from __future__ import annotations

import sys
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job
from dockyard.webhooks import delivery
from dockyard.webhooks.events import DELIVER


@job(DELIVER, max_attempts=delivery.MAX_ATTEMPTS + 2)
def deliver(hub: Hub, payload: dict[str, Any]) -> None:
    """POST one queued event; raises to be retried with the queue's backoff (the delivery row
    counts its own attempts and settles as failed after ``MAX_ATTEMPTS``)."""
    delivery.deliver(hub, int(payload["delivery_id"]))


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
