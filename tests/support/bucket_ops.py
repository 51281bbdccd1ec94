"""Bucket-ops helpers that work straight in a live server's database: pruning the bucket change
log (as the hourly job does) and reading a server-sent event stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from dockyard.buckets import events
from tests.support.buckets import hub_session
from tests.support.server import LiveServer


def prune_events(server: LiveServer, older_than: datetime) -> int:
    with hub_session(server) as session:
        return events.prune(session, older_than)


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    id: str | None = None


def read_events(response: httpx.Response) -> Iterator[Event]:
    """The events of an open ``text/event-stream`` response, as they arrive (comments skipped)."""
    name, data, event_id = "message", "", None
    for line in response.iter_lines():
        if not line:
            if data:
                yield Event(name, json.loads(data), event_id)
            name, data, event_id = "message", "", None
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
