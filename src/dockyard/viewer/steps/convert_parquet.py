"""Step ``convert-parquet``."""

from __future__ import annotations

from dockyard.viewer.steps.context import StepContext

NAME = "convert-parquet"
VERSION = 1
PARQUET_REF = "refs/convert/parquet"


def run(ctx: StepContext) -> None:
    """Filled in below the interface commit."""
