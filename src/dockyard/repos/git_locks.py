"""Lock files of a bare repository: git's ref locks (``<ref>.lock``), which a dead writer can
leave behind, and Dockyard's history lock, an ``flock`` that the kernel releases with its process.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

DEFAULT_STALE_LOCK_SECONDS = 300.0  # far longer than any ref update: only a dead writer leaves one
HISTORY_LOCK = "dockyard-history.flock"  # not *.lock: it is never stale, and crash checks look for those


def break_stale_lock(lock: Path, older_than: float) -> bool:
    """Remove ``lock`` if it is older than ``older_than`` seconds; whether it was removed.

    The lock is renamed aside before it is removed, and removed only if the renamed file is the
    one judged stale: a fresh lock that a live writer took meanwhile is put back."""
    try:
        seen = lock.stat()
    except FileNotFoundError:
        return False
    if time.time() - seen.st_mtime < older_than:
        return False
    # A dot-file: git skips it when it lists refs, should we die before removing it.
    aside = lock.with_name(f".{lock.name}.stale-{os.getpid()}-{random.getrandbits(32):08x}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return False
    if aside.stat().st_ino != seen.st_ino:
        with suppress(FileExistsError):
            os.link(aside, lock)  # someone else's fresh lock: give it back
        aside.unlink()
        return False
    aside.unlink()
    return True


@contextmanager
def history_lock(git_dir: Path, *, exclusive: bool, wait: bool = True) -> Iterator[bool]:
    """An flock on the repo's history lock file (released by the kernel if the process dies, so it
    can never go stale). Yields whether it was taken (always, when ``wait``)."""
    fd = os.open(git_dir / HISTORY_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
