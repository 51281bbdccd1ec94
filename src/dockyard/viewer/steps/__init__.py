"""The viewer's processing steps, in the order the ``viewer.process`` job runs them.

Each step is one module with ``NAME`` (its key in the result cache), ``VERSION`` (bump it to
recompute that step's results, and only those), ``LEVEL`` (``"dataset"``, ``"config"`` or
``"split"``, the default: which keys it fills, so that its status knows when it is done) and
``run(context)``, which stores its outcomes
with :func:`dockyard.viewer.results.put` and skips keys that already hold a current result. A step
that fails for one config or split records the error there and carries on with the others. To add
a step, add its module here (a later step may read an earlier one's results).
"""

from __future__ import annotations

from types import ModuleType

from dockyard.viewer.steps import config_splits, convert_parquet, info, search_index, split_statistics

STEPS: tuple[ModuleType, ...] = (config_splits, convert_parquet, info, split_statistics, search_index)
