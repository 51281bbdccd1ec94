"""Step ``info``: per config, the ``datasets`` Features and each split's size, as the Hub's
``/info`` answers, read from the Parquet footers of the converted shards (no data page is read).
Stored under (config, ""): a ``dataset_info`` dict (``features``, ``splits`` with ``num_examples``
and ``num_bytes``, ``download_size``, ``dataset_size``, ...); a config none of whose splits was
converted records the error instead."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from dockyard.storage.ranged_file import RangedFile
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.sources import open_file
from dockyard.viewer.steps import config_splits, convert_parquet
from dockyard.viewer.steps.context import StepContext

NAME = "info"
VERSION = 1
LEVEL = "config"  # one outcome per config


def run(ctx: StepContext) -> None:
    detected = ctx.get(config_splits.NAME, config_splits.VERSION)
    if detected is None or detected.result is None:
        return
    converted = ctx.all(convert_parquet.NAME, convert_parquet.VERSION)
    for config in detected.result["configs"]:
        name = config["config"]
        if ctx.get(NAME, VERSION, name) is None:
            ctx.put(NAME, VERSION, _config_info(ctx, config, converted), name)


def _config_info(
    ctx: StepContext, config: dict[str, Any], converted: dict[tuple[str, str], StepOutcome]
) -> StepOutcome:
    from datasets import Features  # type: ignore[import-untyped]

    splits: dict[str, Any] = {}
    schema = None
    download_size = 0
    for split in config["splits"]:
        outcome = converted.get((config["config"], split["split"]))
        if outcome is None or outcome.result is None:
            continue
        num_bytes = 0
        for shard in outcome.result["shards"]:
            metadata = _footer(ctx, outcome.result["commit"], shard["filename"])
            num_bytes += sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
            download_size += shard["size"]
            schema = schema or metadata.schema.to_arrow_schema()
        splits[split["split"]] = {
            "name": split["split"],
            "num_bytes": num_bytes,
            "num_examples": outcome.result["num_rows"],
            "dataset_name": ctx.full_id.rsplit("/", 1)[-1],
        }
    if schema is None:
        return StepOutcome(None, "PreviousStepError", f"No split of config {config['config']!r} was converted")
    return StepOutcome(
        {
            "description": "",
            "citation": "",
            "homepage": "",
            "license": "",
            "features": Features.from_arrow_schema(schema).to_dict(),
            "builder_name": config["builder"],
            "dataset_name": ctx.full_id.rsplit("/", 1)[-1],
            "config_name": config["config"],
            "version": {"version_str": "0.0.0", "major": 0, "minor": 0, "patch": 0},
            "splits": splits,
            "download_size": download_size,
            "dataset_size": sum(s["num_bytes"] for s in splits.values()),
        }
    )


def _footer(ctx: StepContext, commit: str, filename: str) -> pq.FileMetaData:
    source = open_file(ctx.hub, ctx.uid, commit, filename)
    return pq.ParquetFile(io.BufferedReader(RangedFile(source.read_range, source.size), buffer_size=64 * 1024)).metadata
