"""Pages of rows read straight from the shards' row groups: an offset is located through the
Parquet footers, so ``/rows`` at any offset reads one or two row groups, never the split."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from dockyard.viewer.features import kind_of
from dockyard.viewer.media import image_size, mime_of
from dockyard.viewer.shards import Shard, open_shard

ROW_IDX = "__row_idx"
#: Streamed batches aim at this many uncompressed bytes of the columns read (sized from the
#: shard's footer), between MIN and MAX rows: large enough that Python's per-batch cost vanishes
#: for numbers and short text, small enough that long documents or media cells stay bounded.
BATCH_BYTES = 16 * 2**20
MIN_BATCH_ROWS = 64
MAX_BATCH_ROWS = 65_536

#: Builds the signed URL of one media cell: (row_idx, column name, mime type) -> URL.
AssetUrl = Callable[[int, str, str], str]


@dataclass(frozen=True, slots=True)
class Page:
    """Rows ``[offset, offset+len(rows))`` of a split, as (row_idx, {column: value}) pairs."""

    rows: list[tuple[int, dict[str, Any]]]


def read_page(shards: Sequence[Shard], offset: int, length: int) -> Page:
    """Rows by position across the shards, reading only the row groups that hold them."""
    out: list[tuple[int, dict[str, Any]]] = []
    start = 0
    for shard in shards:
        end = start + shard.num_rows
        if end > offset and start < offset + length and shard.num_rows:
            out.extend(_from_shard(shard, start, max(offset, start), min(offset + length, end)))
        start = end
        if start >= offset + length:
            break
    return Page(out)


def _from_shard(shard: Shard, shard_start: int, lo: int, hi: int) -> Iterator[tuple[int, dict[str, Any]]]:
    parquet = open_shard(shard)
    group_start = shard_start
    for group in range(parquet.metadata.num_row_groups):
        group_rows = parquet.metadata.row_group(group).num_rows
        group_end = group_start + group_rows
        if group_end > lo and group_start < hi:
            table = parquet.read_row_group(group)
            first = max(lo, group_start)
            part = table.slice(first - group_start, min(hi, group_end) - first)
            for i, row in enumerate(part.to_pylist()):
                yield first + i, row
        group_start = group_end
        if group_start >= hi:
            break


def rows_by_index(shards: Sequence[Shard], indexes: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The rows at the given split positions (a search or filter page): each row group holding
    some of them is read once, however many of the page's rows it holds."""
    wanted = sorted(set(indexes))
    found: dict[int, dict[str, Any]] = {}
    start = 0
    for shard in shards:
        end = start + shard.num_rows
        mine = [i for i in wanted if start <= i < end]
        if mine:
            found.update(_picked_from_shard(shard, start, mine))
        start = end
    return found


def _picked_from_shard(shard: Shard, shard_start: int, wanted: list[int]) -> dict[int, dict[str, Any]]:
    parquet = open_shard(shard)
    found: dict[int, dict[str, Any]] = {}
    group_start = shard_start
    for group in range(parquet.metadata.num_row_groups):
        group_end = group_start + parquet.metadata.row_group(group).num_rows
        here = [i for i in wanted if group_start <= i < group_end]
        if here:
            picked = parquet.read_row_group(group).take([i - group_start for i in here])
            found.update(zip(here, picked.to_pylist(), strict=True))
        group_start = group_end
        if group_start > wanted[-1]:
            break
    return found


def batch_rows(parquet: pq.ParquetFile, columns: Sequence[str]) -> int:
    """Rows per batch for ``columns`` of one shard, from the footer's uncompressed sizes."""
    meta = parquet.metadata
    wanted = set(columns)
    total_bytes = total_rows = 0
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        total_rows += row_group.num_rows
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema.split(".", 1)[0] in wanted:
                total_bytes += chunk.total_uncompressed_size
    per_row = max(1, total_bytes // max(1, total_rows))
    return max(MIN_BATCH_ROWS, min(MAX_BATCH_ROWS, BATCH_BYTES // per_row))


def batches(shards: Sequence[Shard], columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    """The split's ``columns`` plus ``__row_idx``, one bounded batch at a time, in row order."""
    start = 0
    for shard in shards:
        parquet = open_shard(shard)
        size = batch_rows(parquet, columns)
        for batch in parquet.iter_batches(batch_size=size, columns=list(columns)):
            index = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
            yield pa.RecordBatch.from_arrays([*batch.columns, index], names=[*columns, ROW_IDX])
            start += batch.num_rows


def reader(shards: Sequence[Shard], schema: pa.Schema, columns: Sequence[str]) -> pa.RecordBatchReader:
    """A streaming reader over :func:`batches`, which DuckDB scans without materialising."""
    fields = [schema.field(name) for name in columns]
    out_schema = pa.schema([*fields, pa.field(ROW_IDX, pa.int64())])
    return pa.RecordBatchReader.from_batches(out_schema, batches(shards, columns))


def _media_bytes(value: Any) -> bytes | None:
    if isinstance(value, dict) and isinstance(value.get("bytes"), bytes):
        return bytes(value["bytes"])
    return None


def render_cell(value: Any, feature: Any, row_idx: int, column: str, asset_url: AssetUrl) -> Any:
    """A cell as the Hub's viewer sends it: images and audio as signed URLs, bytes as base64."""
    kind = kind_of(feature)
    data = _media_bytes(value)
    if kind == "Image" and data is not None:
        size = image_size(data)
        width, height = size if size else (None, None)
        return {"src": asset_url(row_idx, column, mime_of(data)), "height": height, "width": width}
    if kind == "Audio" and data is not None:
        mime = mime_of(data)
        return [{"src": asset_url(row_idx, column, mime), "type": mime}]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def media_columns(features: dict[str, Any]) -> list[str]:
    """Columns whose cells render as signed URLs (images, audio): short, and useless cut."""
    return [name for name, feature in features.items() if kind_of(feature) in ("Image", "Audio")]


def render_rows(
    rows: Sequence[tuple[int, dict[str, Any]]], features: dict[str, Any], asset_url: AssetUrl
) -> list[dict[str, Any]]:
    """``[{row_idx, row, truncated_cells}]`` for the viewer's JSON."""
    out = []
    for row_idx, row in rows:
        cells = {
            name: render_cell(row.get(name), feature, row_idx, name, asset_url) for name, feature in features.items()
        }
        out.append({"row_idx": row_idx, "row": _jsonable(cells), "truncated_cells": []})
    return out


def _jsonable(value: Any) -> Any:
    """Dates, decimals and the like become strings; containers are walked."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, float) and value != value:
            return None
        return value
    return str(value)
