"""Step ``split-statistics``: per-column statistics over the whole of every converted split (see
:mod:`dockyard.viewer.statistics`), stored under (config, split). Runs after ``info`` so it reads
the ``datasets`` features; a split that failed to convert gets ``PreviousStepError`` (its own error
is the conversion's), and a failure here is recorded for that split only."""

from __future__ import annotations

import duckdb

from dockyard.repos.models import Repo
from dockyard.viewer.errors import StepError, ViewerNotReadyError, ViewerStepFailedError
from dockyard.viewer.features import features_of
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.shards import Shard, open_shard
from dockyard.viewer.statistics import split_statistics
from dockyard.viewer.steps.context import StepContext

NAME = "split-statistics"
VERSION = 1


def run(ctx: StepContext) -> None:
    """Compute what is missing; every split's outcome is stored as soon as it is known."""
    from dockyard.viewer import catalog  # here, not at the top: catalog imports this package's STEPS

    with ctx.hub.db.read() as session:
        repo = session.get(Repo, ctx.repo_id)
        if repo is None:
            return
        try:
            entries = catalog.dataset_splits(ctx.hub, session, repo, ctx.revision)
        except (ViewerNotReadyError, ViewerStepFailedError):
            return
    for entry in entries:
        if entry.num_rows is None and entry.error_code is None:
            continue  # not converted yet: a later run computes it
        if ctx.get(NAME, VERSION, entry.config, entry.split) is not None:
            continue
        if entry.error_code is not None:
            # The dataset-viewer's code for "the step this one reads failed": the split's own
            # error stays the conversion's, and the statistics' status is complete, not pending.
            message = f"The split could not be converted ({entry.error_code})."
            ctx.put(NAME, VERSION, StepOutcome(None, "PreviousStepError", message), entry.config, entry.split)
            continue
        try:
            shards = [Shard(s.filename, s.size, s.num_rows, s.open(ctx.hub, repo)) for s in entry.shards]
            schema = open_shard(shards[0]).schema_arrow if shards else None
            if schema is None:
                outcome = StepOutcome({"num_examples": 0, "statistics": [], "partial": False})
            else:
                features = entry.features if entry.features and set(entry.features) == set(schema.names) else None
                outcome = StepOutcome(split_statistics(shards, schema, features or features_of(schema)))
        except (StepError, duckdb.Error, OSError, ValueError) as error:
            code = error.code if isinstance(error, StepError) else "StatisticsComputationError"
            outcome = StepOutcome(None, code, f"{type(error).__name__}: {error}")
        ctx.put(NAME, VERSION, outcome, entry.config, entry.split)
