"""Where a hot route's work runs: first on the event loop, in a thread only when it must.

A cached HEAD /resolve or repo info is a handful of microsecond reads: one SQLite row, a ref file,
in-process caches. Handing that to a thread cost more than the work itself: the hand-off, the
wake-ups on both sides and the GIL switches were about 40% of a HEAD's CPU time
(bench/README.md, "On the event loop"). So when every read stays on this machine
(:attr:`Hub.reads_on_loop`), the work is first tried on the loop in *cached-only* mode. Anything
that could take long there (a cache miss that would walk a git tree or run the full access checks,
a database locked at that instant, bytes to read) raises :class:`~dockyard.errors.WouldBlockError`
before any side effect, and the same work is redone from the start on the route's thread pool.
On PostgreSQL or an object store every request goes to the pool, as before.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import TypeVar

from dockyard.errors import WouldBlockError
from dockyard.hub import Hub

T = TypeVar("T")


async def run_hot(hub: Hub, executor: Executor, work: Callable[..., T]) -> T:
    """``work(cached_only=True)`` here when it can answer from caches and local reads, else
    ``work(cached_only=False)`` on ``executor`` (with this request's context variables)."""
    if hub.reads_on_loop:
        try:
            return work(cached_only=True)
        except WouldBlockError:
            pass
    context = contextvars.copy_context()  # the audit origin set by the middleware travels along
    return await asyncio.get_running_loop().run_in_executor(executor, context.run, partial(work, cached_only=False))
