"""Crash points for testing atomicity: a real process exit at a named step, on request.

With ``DOCKYARD_CRASH_AT=<name>`` the process dies (``os._exit``, no cleanup, like a power cut)
when it reaches that step. Tests use it to prove that a crash anywhere leaves every repo at its
old or its new state. Unset in production, it costs one attribute read.
"""

from __future__ import annotations

import os

from dockyard.settings import Settings

COMMIT_OBJECTS_WRITTEN = "commit:objects-written"  # new tree and commit exist, branch not moved
COMMIT_REF_MOVED = "commit:ref-moved"  # the branch moved (the commit happened), nothing recorded yet
PUSH_REFS_MOVED = "push:refs-moved"  # git receive-pack moved the refs, nothing recorded yet
JOB_RUNNING = "job:running:"  # + a job kind: a worker claimed a job of that kind and holds it
LFS_STAGED = "lfs:staged"  # upload fully received and hashed (by us or by object storage), not published
XET_SHARD_VERIFIED = "xet:shard-verified"  # shard checked, files not registered


def crash_point(settings: Settings, name: str) -> None:
    if settings.crash_at == name:
        os._exit(70)
