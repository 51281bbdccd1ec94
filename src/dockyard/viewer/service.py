"""What the viewer's surfaces (the API and the dataset page) ask of a dataset revision: its
splits, one split opened for reading (shards, schema, features), and cached statistics. Reads
only: the steps write, this module reads what they stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from dockyard.errors import BlobMissingError, NotFoundError
from dockyard.hub import Hub
from dockyard.jobs.queue import enqueue
from dockyard.repos.models import Repo
from dockyard.viewer import PROCESS_JOB, results, search_store
from dockyard.viewer.catalog import SplitEntry, dataset_splits
from dockyard.viewer.errors import ViewerNotReadyError, ViewerStepFailedError
from dockyard.viewer.features import features_of
from dockyard.viewer.shards import Shard, open_shard
from dockyard.viewer.steps import search_index, split_statistics

log = logging.getLogger(__name__)


class SplitNotFoundError(NotFoundError):
    """A config or split the dataset does not have (the viewer's 404)."""

    code = "ResponseNotFound"
    default_message = "Not found."


@dataclass(frozen=True, slots=True)
class OpenSplit:
    """A converted split, ready for reading: its shards, Arrow schema and ``datasets`` features."""

    entry: SplitEntry
    shards: list[Shard]
    schema: pa.Schema
    features: dict[str, Any]

    @property
    def num_rows(self) -> int:
        return sum(s.num_rows for s in self.shards)


def splits(hub: Hub, session: Session, repo: Repo, revision: str) -> list[SplitEntry]:
    """Every split of the revision (raises ViewerNotReadyError before detection ran)."""
    return dataset_splits(hub, session, repo, revision)


def find_split(entries: list[SplitEntry], config: str, split: str) -> SplitEntry:
    for entry in entries:
        if entry.config == config and entry.split == split:
            return entry
    raise SplitNotFoundError(f"The split {split!r} of config {config!r} does not exist.")


def ensure_converted(entry: SplitEntry) -> SplitEntry:
    """The split, if its conversion worked; its recorded error or "not ready" otherwise."""
    if entry.error_code is not None:
        raise ViewerStepFailedError(entry.error_code, entry.error or "The split could not be converted.")
    if entry.num_rows is None:
        raise ViewerNotReadyError()
    return entry


def open_split(hub: Hub, repo: Repo, entry: SplitEntry) -> OpenSplit:
    """Open the shards of a converted split (footers are read lazily, bytes on demand)."""
    ensure_converted(entry)
    shards = [Shard(s.filename, s.size, s.num_rows, s.open(hub, repo)) for s in entry.shards]
    if not shards:
        schema = pa.schema([])
        return OpenSplit(entry, [], schema, dict(entry.features or {}))
    schema = open_shard(shards[0]).schema_arrow
    features = entry.features if entry.features and set(entry.features) == set(schema.names) else None
    return OpenSplit(entry, shards, schema, features or features_of(schema))


def statistics(session: Session, repo: Repo, revision: str, entry: SplitEntry) -> dict[str, Any]:
    """The split's cached statistics, or its error, or "not ready"."""
    ensure_converted(entry)
    found = results.get(
        session, repo.id, revision, split_statistics.NAME, split_statistics.VERSION, entry.config, entry.split
    )
    if found is None:
        raise ViewerNotReadyError()
    if not found.ok or found.result is None:
        raise ViewerStepFailedError(found.error_code or "UnexpectedError", found.error or "")
    return found.result


def has_statistics(session: Session, repo: Repo, revision: str) -> bool:
    outcomes = results.for_revision(session, repo.id, revision, split_statistics.NAME, split_statistics.VERSION)
    return any(o.ok for o in outcomes.values())


def search_index_file(hub: Hub, repo: Repo, revision: str, entry: SplitEntry) -> Path | None:
    """A local file holding the split's full-text index, or None while there is none to use (not
    built yet, refused as too big, or its blob lost): the caller then scans the split."""
    with hub.db.read() as session:
        found = results.get(
            session, repo.id, revision, search_index.NAME, search_index.VERSION, entry.config, entry.split
        )
    if found is None or found.result is None or not found.result.get("key"):
        return None
    if found.result.get("num_rows") != entry.num_rows:
        return None  # built from other shards than the ones read now: never mix positions
    try:
        return search_store.local_file(hub, str(found.result["key"]))
    except BlobMissingError:
        log.warning(
            "search index %s of %s is missing from storage; scanning, rebuild queued", found.result["key"], repo.full_id
        )
        _rebuild_lost_index(hub, repo, revision, entry)
        return None


def _rebuild_lost_index(hub: Hub, repo: Repo, revision: str, entry: SplitEntry) -> None:
    """A stored index whose blob is gone (a restore from an older backup, a bucket emptied by
    hand) is forgotten and the revision's steps queued again: the worker rebuilds just that index
    (the other steps' results are current) while search scans meanwhile."""
    with hub.db.write() as session:
        if results.forget_ok(
            session, repo.id, revision, search_index.NAME, search_index.VERSION, entry.config, entry.split
        ):
            enqueue(session, PROCESS_JOB, {"repo_id": repo.id, "commit_id": revision})
