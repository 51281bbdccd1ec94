"""Step ``info``: per config, the ``datasets`` Features and each split's num_rows and num_bytes,
read from the Parquet footers of the converted shards (no data page is read). Stored under
(config, ""): ``{"features": {...}, "splits": {split: {"num_rows", "num_bytes"}}}``."""

from __future__ import annotations

from dockyard.viewer.steps.context import StepContext

NAME = "info"
VERSION = 1


def run(ctx: StepContext) -> None:
    """Filled in below the interface commit."""
