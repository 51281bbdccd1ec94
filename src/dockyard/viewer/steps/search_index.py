"""Step ``search-index``: a full-text index of every converted split's string columns (see
:mod:`dockyard.viewer.fulltext`), built in the job's scratch folder from the shards streamed batch
by batch, then stored in the blob store (:mod:`dockyard.viewer.search_store`). The outcome under
(config, split) is ``{"key", "num_rows", "columns", "size", "text_bytes"}``; ``key`` is None for a
split without string columns (nothing to index: search finds nothing, as the scan does).

A split whose text is over ``viewer_search_max_text_bytes`` records ``TooBigContentError`` and is
searched by the scan instead; a split that failed to convert records ``PreviousStepError``."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from dockyard.errors import StorageError
from dockyard.repos.models import Repo
from dockyard.viewer import fulltext, search_store
from dockyard.viewer.errors import StepError, TooBigContentError
from dockyard.viewer.query import string_columns
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.steps.context import StepContext, splits_to_do

if TYPE_CHECKING:
    from dockyard.viewer.catalog import SplitEntry

NAME = "search-index"
VERSION = 1
LEVEL = "split"


def run(ctx: StepContext) -> None:
    """Index what is missing; every split's outcome is stored as soon as it is known."""
    found = splits_to_do(ctx, NAME, VERSION)
    if found is None:
        return
    repo, entries = found
    for entry in entries:
        try:
            outcome = StepOutcome(_index_split(ctx, repo, entry))
        except (StepError, sqlite3.Error, StorageError, OSError, ValueError) as error:
            code = error.code if isinstance(error, StepError) else "SearchIndexError"
            outcome = StepOutcome(None, code, f"{type(error).__name__}: {error}")
        ctx.put(NAME, VERSION, outcome, entry.config, entry.split)


def _index_split(ctx: StepContext, repo: Repo, entry: SplitEntry) -> dict[str, Any]:
    from dockyard.viewer import service  # here: service imports catalog, which imports STEPS

    split = service.open_split(ctx.hub, repo, entry)
    columns = string_columns(split.features)
    answer: dict[str, Any] = {"key": None, "num_rows": split.num_rows, "columns": columns, "size": 0, "text_bytes": 0}
    if not columns:
        return answer
    limit = ctx.hub.settings.viewer_search_max_text_bytes
    declared = fulltext.footer_text_bytes(split.shards, columns)
    if declared > limit:
        raise TooBigContentError(
            f"The split's text takes {declared} bytes, over the search index limit of {limit} "
            "(viewer_search_max_text_bytes): search scans the split instead."
        )
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    path = ctx.workdir / "search-index.sqlite3"
    path.unlink(missing_ok=True)  # a split whose build failed before, in this job run
    try:
        stats = fulltext.build(path, split.shards, columns, max_text_bytes=limit)
        key = search_store.index_key(ctx.uid, ctx.revision, entry.config, entry.split, VERSION)
        size = search_store.store(ctx.hub, path, key)
    finally:
        path.unlink(missing_ok=True)
    return {**answer, "key": key, "num_rows": stats.num_rows, "size": size, "text_bytes": stats.text_bytes}
