"""Recomputing the popularity columns listings sort by, from the per-day download counts.

Each column is set by one UPDATE with a correlated subquery, so a download counted meanwhile is
never overwritten by a stale total (no read-then-write).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.repos.models import Like, Repo, RepoDownloadDay

LIKE_WEIGHT = 10.0


def _downloads_since(day: str):  # type: ignore[no-untyped-def]
    return (
        select(func.coalesce(func.sum(RepoDownloadDay.count), 0))
        .where(RepoDownloadDay.repo_id == Repo.id, RepoDownloadDay.day > day)
        .scalar_subquery()
    )


def rollup(db: Database) -> None:
    today = utcnow().date()
    month = (today - timedelta(days=30)).isoformat()
    week = (today - timedelta(days=7)).isoformat()
    recent_likes = (
        select(func.count()).where(Like.repo_id == Repo.id, Like.created_at >= utcnow() - timedelta(days=7))
    ).scalar_subquery()
    with db.write() as session:
        session.execute(
            update(Repo).values(
                downloads=_downloads_since(month),
                trending_score=_downloads_since(week) + LIKE_WEIGHT * recent_likes,
            )
        )
