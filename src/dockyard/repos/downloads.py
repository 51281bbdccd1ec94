"""Download counting, as the Hub counts: one per request for a repo's "query file".

For models that is the root ``config.json`` (every library loads it first), or, in repos without
one, any weights file; for datasets every data file; spaces are not counted. HEAD and GET both
count, since clients that have the file cached only send the HEAD (the HTTP surface skips the
GET that follows a client's HEAD, so one download counts once).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from dockyard.db.base import utcnow
from dockyard.db.database import Database
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo, RepoDownloadDay

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".onnx", ".h5", ".msgpack", ".ckpt")
DATA_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".arrow", ".txt", ".tsv", ".zip", ".gz", ".tar")
WINDOW_DAYS = 30
log = logging.getLogger(__name__)


def counts_as_download(repo_type: RepoType, path: str, repo_has_config: bool) -> bool:
    if repo_type is RepoType.MODEL:
        if repo_has_config:
            return path == "config.json"
        return path.endswith(WEIGHT_SUFFIXES)
    if repo_type is RepoType.DATASET:
        return path.endswith(DATA_SUFFIXES) and not path.endswith("dataset_infos.json")
    return False


def record_download(session: Session, repo_id: int, count: int = 1) -> None:
    """Atomic increments: concurrent writers never lose a count. Today's downloads lie inside both
    popularity windows, so ``trendingScore`` grows with them at once, as ``downloads`` does; the
    periodic rollup (repos.popularity) takes away what ages out of the windows."""
    day = utcnow().date().isoformat()
    session.execute(
        update(Repo)
        .where(Repo.id == repo_id)
        .values(
            downloads=Repo.downloads + count,
            downloads_all_time=Repo.downloads_all_time + count,
            trending_score=Repo.trending_score + count,
        )
    )
    bump_day = (
        update(RepoDownloadDay)
        .where(RepoDownloadDay.repo_id == repo_id, RepoDownloadDay.day == day)
        .values(count=RepoDownloadDay.count + count)
    )
    if session.execute(bump_day).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(RepoDownloadDay(repo_id=repo_id, day=day, count=count))
        except IntegrityError:
            session.execute(bump_day)


def recent_downloads(session: Session, repo_id: int, days: int = WINDOW_DAYS) -> int:
    since = (utcnow() - timedelta(days=days)).date().isoformat()
    total = session.scalar(
        select(func.coalesce(func.sum(RepoDownloadDay.count), 0)).where(
            RepoDownloadDay.repo_id == repo_id, RepoDownloadDay.day > since
        )
    )
    return int(total or 0)


class DownloadCounter:
    """Counts downloads in memory and adds them to the database about once a second.

    HEAD /resolve is the hub's hottest path; a write transaction per counted request would make
    it several times slower. Increments are still applied atomically (``downloads + n``), so no
    count is lost between processes; at most the last second of counts of a process that is
    killed outright is lost (a normal shutdown flushes).
    """

    def __init__(self, db: Database, *, interval: float = 1.0) -> None:
        self._db = db
        self._interval = interval
        self._pending: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, repo_id: int) -> None:
        with self._lock:
            self._pending[repo_id] = self._pending.get(repo_id, 0) + 1

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        with self._db.write() as session:
            for repo_id, count in sorted(pending.items()):
                record_download(session, repo_id, count)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except SQLAlchemyError:  # the database is away: keep counting, retry next tick
                log.exception("could not write download counts")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dockyard-downloads", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
