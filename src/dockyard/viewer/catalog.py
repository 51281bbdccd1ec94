"""What the viewer's steps produced for one dataset revision, for the surfaces to read: the configs
and splits (with their row counts and Parquet shards, or the error of a split that failed) and the
processing status of every step.

The shards live in the repo's ``refs/convert/parquet`` commit recorded by the ``convert-parquet``
step for that revision (layout ``{config}/{split}/NNNN.parquet``, as on the Hub); an older
revision keeps its own commit, so its answers stay as they were after a new commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from dockyard.hub import Hub
from dockyard.repos.models import Repo
from dockyard.viewer import results
from dockyard.viewer.errors import ViewerNotReadyError, ViewerStepFailedError
from dockyard.viewer.sources import ShardSource, open_file
from dockyard.viewer.steps import STEPS, config_splits, convert_parquet, info


@dataclass(frozen=True)
class ParquetShard:
    """One Parquet file of a split: ``filename`` is its path in the ``refs/convert/parquet``
    commit ``commit`` (``{config}/{split}/NNNN.parquet``); ``oid`` its LFS sha256."""

    filename: str
    size: int
    num_rows: int
    commit: str
    oid: str | None = None

    def open(self, hub: Hub, repo: Repo) -> ShardSource:
        """The shard's bytes behind ``read_range`` (inclusive ranges), read from storage on demand."""
        return open_shard(hub, repo, self)


@dataclass(frozen=True)
class SplitEntry:
    """A split of a config: ``num_rows`` is None until it is converted; a split whose conversion
    failed has ``error_code``/``error`` and no shards. ``features`` is the ``datasets`` Features
    dict (``Features.to_dict()``) once the ``info`` step ran."""

    config: str
    split: str
    num_rows: int | None
    shards: list[ParquetShard] = field(default_factory=list)
    error_code: str | None = None
    error: str | None = None
    num_bytes: int | None = None
    features: dict[str, Any] | None = None


def dataset_splits(hub: Hub, session: Session, repo: Repo, revision_sha: str) -> list[SplitEntry]:
    """Every (config, split) of the dataset at ``revision_sha``, in the order ``datasets`` lists
    them. Raises :class:`ViewerNotReadyError` before the split detection ran, and
    :class:`ViewerStepFailedError` when it failed for the whole dataset."""
    detected = results.get(session, repo.id, revision_sha, config_splits.NAME, config_splits.VERSION)
    if detected is None:
        raise ViewerNotReadyError()
    if not detected.ok or detected.result is None:
        raise ViewerStepFailedError(detected.error_code or "UnexpectedError", detected.error or "")
    converted = results.for_revision(session, repo.id, revision_sha, convert_parquet.NAME, convert_parquet.VERSION)
    infos = results.for_revision(session, repo.id, revision_sha, info.NAME, info.VERSION)
    entries = []
    for config in detected.result["configs"]:
        for split in config["splits"]:
            key = (config["config"], split["split"])
            entries.append(_entry(key, converted.get(key), infos.get((config["config"], ""))))
    return entries


def _entry(
    key: tuple[str, str], converted: results.StepOutcome | None, config_info: results.StepOutcome | None
) -> SplitEntry:
    config, split = key
    if converted is None:
        return SplitEntry(config, split, None)
    if not converted.ok or converted.result is None:
        return SplitEntry(config, split, None, error_code=converted.error_code, error=converted.error)
    found = converted.result
    shards = [
        ParquetShard(s["filename"], s["size"], s["num_rows"], found["commit"], s.get("oid")) for s in found["shards"]
    ]
    split_info = (config_info.result or {}).get("splits", {}).get(split, {}) if config_info and config_info.ok else {}
    features = (config_info.result or {}).get("features") if config_info and config_info.ok else None
    return SplitEntry(
        config, split, found["num_rows"], shards, num_bytes=split_info.get("num_bytes"), features=features
    )


def processing_status(hub: Hub, session: Session, repo: Repo, revision_sha: str) -> dict[str, Any]:
    """Per step: ``{"status": "pending" | "ok" | "error", "errors": [{config, split, error_code,
    error}]}``; a step is ``error`` when any of its keys failed (the others may be fine)."""
    status: dict[str, Any] = {}
    for step in STEPS:
        outcomes = results.for_revision(session, repo.id, revision_sha, step.NAME, step.VERSION)
        errors = [
            {"config": config, "split": split, "error_code": o.error_code, "error": o.error}
            for (config, split), o in sorted(outcomes.items())
            if not o.ok
        ]
        state = "pending" if not outcomes else "error" if errors else "ok"
        if state == "ok" and not _complete(session, repo, revision_sha, step.NAME, outcomes):
            state = "pending"
        status[step.NAME] = {"status": state, "errors": errors}
    return status


def _complete(
    session: Session, repo: Repo, revision_sha: str, step: str, outcomes: dict[tuple[str, str], results.StepOutcome]
) -> bool:
    """A per-split step is done when every detected split has an outcome."""
    if step == config_splits.NAME:
        return True
    detected = results.get(session, repo.id, revision_sha, config_splits.NAME, config_splits.VERSION)
    if detected is None or detected.result is None:
        return False
    wanted = {
        (c["config"], s["split"] if step in (convert_parquet.NAME, "split-statistics") else "")
        for c in detected.result["configs"]
        for s in c["splits"]
    }
    return wanted <= set(outcomes)


def open_shard(hub: Hub, repo: Repo, shard: ParquetShard) -> ShardSource:
    """A :class:`ShardSource` over the shard's bytes (an LFS object, whole or Xet chunks, or a git blob)."""
    return open_file(hub, repo.uid, shard.commit, shard.filename)
