"""Background jobs of the repos domain."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job
from dockyard.repos import metadata, popularity
from dockyard.repos.git_repo import BRANCH_PREFIX
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.models import Repo


@job("repos.refresh_metadata")
def refresh_metadata(hub: Hub, payload: dict[str, Any]) -> None:
    """Re-extract card, config and tags from the current default branch (idempotent)."""
    with hub.db.write() as session:
        repo = session.get(Repo, payload["repo_id"])
        if repo is None:
            return
        head = hub.git.open(repo.uid).ref_target(BRANCH_PREFIX + DEFAULT_BRANCH)
        if head is None or head == repo.metadata_sha:
            return
        repo.sha = head
        metadata.refresh(hub, session, repo, head)


@job("repos.rollup_popularity", every=timedelta(hours=1), at_start=True)
def rollup_popularity(hub: Hub, payload: dict[str, Any]) -> None:
    """``downloads`` is the last 30 days, as on the Hub; ``trendingScore`` weighs the last week."""
    popularity.rollup(hub.db)


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
