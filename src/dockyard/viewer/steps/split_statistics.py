"""Step ``split-statistics``: per-column statistics over the whole of every converted split (see
:mod:`dockyard.viewer.statistics`), stored under (config, split). Runs after ``info`` so it reads
the ``datasets`` features; a split that failed to convert gets ``PreviousStepError`` (its own error
is the conversion's), and a failure here is recorded for that split only."""

from __future__ import annotations

import duckdb

from dockyard.viewer.errors import StepError
from dockyard.viewer.features import features_of
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.shards import Shard, open_shard
from dockyard.viewer.statistics import split_statistics
from dockyard.viewer.steps.context import StepContext, splits_to_do

NAME = "split-statistics"
VERSION = 1


def run(ctx: StepContext) -> None:
    """Compute what is missing; every split's outcome is stored as soon as it is known."""
    found = splits_to_do(ctx, NAME, VERSION)
    if found is None:
        return
    repo, entries = found
    for entry in entries:
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
