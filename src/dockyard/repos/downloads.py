"""Download counting, as the Hub counts: one per request for a repo's "query file".

For models that is the root ``config.json`` (every library loads it first), or, in repos without
one, any weights file; for datasets every data file; spaces are not counted. HEAD and GET both
count, since clients that have the file cached only send the HEAD (the HTTP surface skips the
GET that follows a client's HEAD, so one download counts once).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.db.base import utcnow
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo, RepoDownloadDay

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".onnx", ".h5", ".msgpack", ".ckpt")
DATA_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".arrow", ".txt", ".tsv", ".zip", ".gz", ".tar")
WINDOW_DAYS = 30


def counts_as_download(repo_type: RepoType, path: str, repo_has_config: bool) -> bool:
    if repo_type is RepoType.MODEL:
        if repo_has_config:
            return path == "config.json"
        return path.endswith(WEIGHT_SUFFIXES)
    if repo_type is RepoType.DATASET:
        return path.endswith(DATA_SUFFIXES) and not path.endswith("dataset_infos.json")
    return False


def record_download(session: Session, repo_id: int) -> None:
    """Atomic increments: concurrent downloads never lose a count."""
    day = utcnow().date().isoformat()
    session.execute(
        update(Repo)
        .where(Repo.id == repo_id)
        .values(downloads=Repo.downloads + 1, downloads_all_time=Repo.downloads_all_time + 1)
    )
    updated = session.execute(
        update(RepoDownloadDay)
        .where(RepoDownloadDay.repo_id == repo_id, RepoDownloadDay.day == day)
        .values(count=RepoDownloadDay.count + 1)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(RepoDownloadDay(repo_id=repo_id, day=day, count=1))
        except IntegrityError:
            session.execute(
                update(RepoDownloadDay)
                .where(RepoDownloadDay.repo_id == repo_id, RepoDownloadDay.day == day)
                .values(count=RepoDownloadDay.count + 1)
            )


def recent_downloads(session: Session, repo_id: int, days: int = WINDOW_DAYS) -> int:
    since = (utcnow() - timedelta(days=days)).date().isoformat()
    total = session.scalar(
        select(func.coalesce(func.sum(RepoDownloadDay.count), 0)).where(
            RepoDownloadDay.repo_id == repo_id, RepoDownloadDay.day > since
        )
    )
    return int(total or 0)
