"""Waiting for an observable condition (never for a fixed time)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], *, timeout: float = 10.0, poll: float = 0.05) -> bool:
    """True as soon as ``condition()`` holds; False if it still does not after ``timeout`` seconds.
    For state the server writes behind its responses, such as download counts."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True
