"""The services one Dockyard process works with, built once by :func:`dockyard.app.build_hub`.

Surfaces (HTTP API, git, CLI, worker) receive a Hub and pass it down to domain functions; nothing
is created at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from dockyard.auth.cache import SecurityCache
from dockyard.db.database import Database
from dockyard.repos.downloads import DownloadCounter
from dockyard.repos.entry_cache import EntryCache
from dockyard.repos.git_storage import GitStorage
from dockyard.repos.info_cache import InfoAnswerCache
from dockyard.settings import Settings
from dockyard.signing import Signer
from dockyard.storage.base import BlobStore

if TYPE_CHECKING:
    from dockyard.jobs.worker import Worker


@dataclass
class Hub:
    settings: Settings
    db: Database
    git: GitStorage
    blobs: BlobStore
    signer: Signer
    worker: Worker | None = field(default=None)
    security_cache: SecurityCache = field(default_factory=SecurityCache)
    downloads: DownloadCounter | None = field(default=None)
    entries: EntryCache = field(default_factory=EntryCache)  # (repo, commit, path) -> entry: immutable
    info_answers: InfoAnswerCache = field(default_factory=InfoAnswerCache)  # each valid for one repo row version

    @cached_property
    def reads_on_loop(self) -> bool:
        """Whether the hot routes may try their answer on the event loop first
        (:mod:`dockyard.api.hot_work`): only when every read they make stays on this machine (a
        SQLite file, blobs on local disk; an object store may need the network to presign)."""
        return self.db.quick.local and self.blobs.local_path("lfs") is not None

    def jobs_enqueued(self) -> None:
        """Nudge the in-process worker after a commit that enqueued jobs."""
        if self.worker is not None:
            self.worker.wake()
