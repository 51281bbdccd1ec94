"""Background jobs of the repos domain."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job
from dockyard.repos import metadata, popularity, reconcile
from dockyard.repos.commits import RECONCILE
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.models import Repo

PRUNE_HISTORY = "repos.prune_history"


@job("repos.refresh_metadata")
def refresh_metadata(hub: Hub, payload: dict[str, Any]) -> None:
    """Re-extract card, config and tags from the current default branch (idempotent)."""
    with hub.db.write() as session:
        repo = session.get(Repo, payload["repo_id"])
        if repo is None:
            return
        head = hub.git.open(repo.uid).ref_target(DEFAULT_REF)
        if head is None or head == repo.metadata_sha:
            return
        metadata.refresh(hub, session, repo, head)  # sets sha too, only if head is newer


@job(PRUNE_HISTORY, max_attempts=8)
def prune_history(hub: Hub, payload: dict[str, Any]) -> None:
    """Delete the commits, trees and blobs that a super-squash or a deleted branch or tag left
    unreachable, so that their shas stop answering (git fetch by sha included). Idempotent."""
    with hub.db.read() as session:
        repo = session.get(Repo, payload["repo_id"])
        uid = repo.uid if repo is not None else None
    if uid is not None:
        hub.git.prune_unreachable(uid)


@job(RECONCILE, max_attempts=3, every=timedelta(minutes=5), at_start=True)
def reconcile_refs(hub: Hub, payload: dict[str, Any]) -> None:
    """Record commits that landed without their records; bring repo rows up to their refs."""
    reconcile.reconcile(hub)


@job("repos.rollup_popularity", every=timedelta(hours=1), at_start=True)
def rollup_popularity(hub: Hub, payload: dict[str, Any]) -> None:
    """``downloads`` is the last 30 days, as on the Hub; ``trendingScore`` weighs the last week."""
    popularity.rollup(hub.db)


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
