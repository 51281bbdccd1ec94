"""Per-column statistics over a WHOLE split, in the dataset-viewer's column types and shapes.

Every aggregate runs in DuckDB over a streamed Arrow reader (a bounded batch at a time), one column
at a time: memory stays bounded whatever the split's size. Medians are exact up to
``EXACT_MEDIAN_ROWS`` non-null values and approximate (t-digest) beyond, because an exact median
must hold every value. Image widths and audio durations are read from each cell's header in Python
batch by batch and streamed into the same numeric statistics."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from dockyard.viewer.features import kind_of
from dockyard.viewer.media import audio_duration, image_size
from dockyard.viewer.query import connect
from dockyard.viewer.rows import batches
from dockyard.viewer.shards import Shard

NUM_BINS = 10
DECIMALS = 5
MAX_STRING_LABELS = 30
EXACT_MEDIAN_ROWS = 1_000_000
_INT_TYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_FLOAT_TYPES = {"float16", "float32", "float64"}
_STRING_TYPES = {"string", "large_string"}

#: A fresh streaming reader over one column named ``value`` (DuckDB consumes a reader once).
ReaderFactory = Callable[[], pa.RecordBatchReader]


def _round(value: Any) -> Any:
    return None if value is None else round(float(value), DECIMALS)


def _scan(con: duckdb.DuckDBPyConnection, make: ReaderFactory, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    con.register("col", make())
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.unregister("col")


def _summary(con: duckdb.DuckDBPyConnection, make: ReaderFactory, expr: str) -> tuple[Any, ...]:
    ok = f"FILTER (WHERE NOT isnan(CAST({expr} AS DOUBLE)))"
    sql = (
        f"SELECT count(*), count({expr}), min({expr}) {ok}, max({expr}) {ok}, avg({expr}) {ok}, "
        f"stddev_samp({expr}) {ok}, count(*) FILTER (WHERE isnan(CAST({expr} AS DOUBLE))) FROM col"
    )
    return tuple(_scan(con, make, sql)[0])


def _median(con: duckdb.DuckDBPyConnection, make: ReaderFactory, expr: str, non_null: int) -> Any:
    func = "median" if non_null <= EXACT_MEDIAN_ROWS else "approx_quantile"
    arg = "" if func == "median" else ", 0.5"
    return _scan(con, make, f"SELECT {func}({expr}{arg}) FROM col WHERE NOT isnan(CAST({expr} AS DOUBLE))")[0][0]


def _edges(low: Any, high: Any, integer: bool) -> list[Any]:
    if integer:
        size = math.ceil((high - low + 1) / NUM_BINS)
        edges = [low + i * size for i in range(NUM_BINS) if low + i * size <= high]
        return [*edges, high]
    step = (high - low) / NUM_BINS
    return [low + i * step for i in range(NUM_BINS)] + [high]


def _histogram(
    con: duckdb.DuckDBPyConnection, make: ReaderFactory, expr: str, low: Any, high: Any, integer: bool
) -> dict[str, list[Any]]:
    low, high = (int(low), int(high)) if integer else (float(low), float(high))
    if low == high:
        count = _scan(con, make, f"SELECT count({expr}) FROM col WHERE NOT isnan(CAST({expr} AS DOUBLE))")[0][0]
        return {"hist": [int(count)], "bin_edges": [low, high]}
    edges = _edges(low, high, integer)
    bins = len(edges) - 1
    width = (edges[1] - edges[0]) if integer else (high - low) / bins
    sql = (
        f"SELECT least(CAST(floor((CAST({expr} AS DOUBLE) - ?) / ?) AS BIGINT), ?) AS b, count(*) FROM col "
        f"WHERE {expr} IS NOT NULL AND NOT isnan(CAST({expr} AS DOUBLE)) GROUP BY b"
    )
    counts = dict(_scan(con, make, sql, [low, width, bins - 1]))
    hist = [int(counts.get(i, 0)) for i in range(bins)]
    shown = edges if integer else [_round(e) for e in edges]
    return {"hist": hist, "bin_edges": shown}


def numeric(con: duckdb.DuckDBPyConnection, make: ReaderFactory, expr: str, *, integer: bool) -> dict[str, Any]:
    """min, max, mean, median, std, nan_count/nan_proportion and a 10-bin histogram of ``expr``."""
    total, non_null, low, high, mean, std, nans = _summary(con, make, expr)
    nan_count = int(total - non_null + nans)
    stats: dict[str, Any] = {
        "nan_count": nan_count,
        "nan_proportion": _round(nan_count / total) if total else 0.0,
    }
    if non_null - nans <= 0:
        return {**stats, "min": None, "max": None, "mean": None, "median": None, "std": None, "histogram": None}
    median = _median(con, make, expr, non_null)
    return {
        **stats,
        "min": int(low) if integer else _round(low),
        "max": int(high) if integer else _round(high),
        "mean": _round(mean),
        "median": _round(median),
        "std": _round(std) if std is not None else None,
        "histogram": _histogram(con, make, expr, low, high, integer),
    }


_TOTALS = "count(*), count(*) - count(value)"  # rows, nulls


def _top_values(con: duckdb.DuckDBPyConnection, make: ReaderFactory, limit: int) -> dict[Any, int]:
    """{value: count} for at most ``limit`` + 1 distinct values, the most frequent first."""
    found = _scan(
        con,
        make,
        "SELECT value, count(*) AS n FROM col WHERE value IS NOT NULL GROUP BY value ORDER BY n DESC, value LIMIT ?",
        [limit + 1],
    )
    return {value: int(n) for value, n in found}


def _frequencies(con: duckdb.DuckDBPyConnection, make: ReaderFactory, limit: int) -> tuple[int, int, dict[Any, int]]:
    """(row count, null count, {value: count}) for at most ``limit`` + 1 distinct values."""
    total, nulls = _scan(con, make, f"SELECT {_TOTALS} FROM col")[0]
    return int(total), int(nulls), _top_values(con, make, limit)


def _nan_part(total: int, nulls: int) -> dict[str, Any]:
    return {"nan_count": nulls, "nan_proportion": _round(nulls / total) if total else 0.0}


def class_label(con: duckdb.DuckDBPyConnection, make: ReaderFactory, names: list[str]) -> dict[str, Any]:
    """Frequencies by label name; -1 counts as "no label"."""
    total, nulls, counts = _frequencies(con, make, len(names) + 1)
    no_label = counts.pop(-1, 0)
    return {
        **_nan_part(total, nulls),
        "no_label_count": no_label,
        "no_label_proportion": _round(no_label / total) if total else 0.0,
        "n_unique": len(counts),
        "frequencies": {names[k] if 0 <= k < len(names) else str(k): n for k, n in counts.items()},
    }


def boolean(con: duckdb.DuckDBPyConnection, make: ReaderFactory) -> dict[str, Any]:
    total, nulls, counts = _frequencies(con, make, 2)
    return {**_nan_part(total, nulls), "frequencies": {str(k): n for k, n in counts.items()}}


def string(con: duckdb.DuckDBPyConnection, make: ReaderFactory) -> tuple[str, dict[str, Any]]:
    """``string_label`` (frequencies) for at most 30 distinct values, else ``string_text`` (lengths).

    The column is first judged by a HyperLogLog sketch (a few KiB whatever the split), in the same
    scan as its row and null counts: counting the values exactly would hash every distinct string,
    gigabytes for a text column of a large split. The exact count runs only when the sketch says
    the values are few (at most twice the label limit), so it stays small."""
    total, nulls, estimate = _scan(con, make, f"SELECT {_TOTALS}, approx_count_distinct(value) FROM col")[0]
    if int(estimate or 0) <= 2 * MAX_STRING_LABELS:
        counts = _top_values(con, make, MAX_STRING_LABELS)
        if len(counts) <= MAX_STRING_LABELS:
            return "string_label", {**_nan_part(int(total), int(nulls)), "n_unique": len(counts), "frequencies": counts}
    return "string_text", numeric(con, make, "length(value)", integer=True)


def datetime_stats(con: duckdb.DuckDBPyConnection, make: ReaderFactory) -> dict[str, Any]:
    """Numeric statistics over epoch seconds, shown back as timestamps (std as a duration)."""
    stats = numeric(con, make, "epoch(value)", integer=False)

    def shown(seconds: Any) -> Any:
        return None if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")

    for key in ("min", "max", "mean", "median"):
        stats[key] = shown(stats[key])
    if stats["std"] is not None:
        stats["std"] = str(timedelta(seconds=round(stats["std"])))
    if stats["histogram"]:
        stats["histogram"]["bin_edges"] = [shown(e) for e in stats["histogram"]["bin_edges"]]
    return stats


def _column_reader(shards: Sequence[Shard], schema: pa.Schema, column: str) -> ReaderFactory:
    def make() -> pa.RecordBatchReader:
        out = pa.schema([pa.field("value", schema.field(column).type)])
        stream = (pa.RecordBatch.from_arrays([b.column(0)], names=["value"]) for b in batches(shards, [column]))
        return pa.RecordBatchReader.from_batches(out, stream)

    return make


def _derived_reader(
    shards: Sequence[Shard], column: str, measure: Callable[[bytes], float | None], arrow_type: pa.DataType
) -> ReaderFactory:
    """A reader of ``measure(cell bytes)`` for a media column, computed batch by batch."""

    def stream() -> Iterator[pa.RecordBatch]:
        for batch in batches(shards, [column]):
            values = []
            for cell in batch.column(0).to_pylist():
                data = cell.get("bytes") if isinstance(cell, dict) else None
                values.append(measure(data) if isinstance(data, bytes) else None)
            yield pa.RecordBatch.from_arrays([pa.array(values, arrow_type)], names=["value"])

    def make() -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(pa.schema([pa.field("value", arrow_type)]), stream())

    return make


def _image_width(data: bytes) -> float | None:
    size = image_size(data)
    return None if size is None else size[0]


def column_statistics(
    con: duckdb.DuckDBPyConnection, shards: Sequence[Shard], schema: pa.Schema, column: str, feature: Any
) -> tuple[str, dict[str, Any]] | None:
    """(column_type, column_statistics) for one column, or None for a type the viewer skips."""
    kind = kind_of(feature)
    dtype = kind.partition(":")[2]
    plain = _column_reader(shards, schema, column)
    if kind == "ClassLabel":
        return "class_label", class_label(con, plain, list(feature.get("names", [])))
    if dtype in _INT_TYPES:
        return "int", numeric(con, plain, "value", integer=True)
    if dtype in _FLOAT_TYPES:
        return "float", numeric(con, plain, "value", integer=False)
    if dtype == "bool":
        return "bool", boolean(con, plain)
    if dtype in _STRING_TYPES:
        return string(con, plain)
    if dtype.startswith(("timestamp", "date")):
        return "datetime", datetime_stats(con, plain)
    if kind == "List":
        return "list", numeric(con, plain, "len(value)", integer=True)
    if kind == "Image":
        return "image", numeric(con, _derived_reader(shards, column, _image_width, pa.int64()), "value", integer=True)
    if kind == "Audio":
        return "audio", numeric(
            con, _derived_reader(shards, column, audio_duration, pa.float64()), "value", integer=False
        )
    return None


def split_statistics(shards: Sequence[Shard], schema: pa.Schema, features: dict[str, Any]) -> dict[str, Any]:
    """The ``/statistics`` answer for a split: ``{num_examples, statistics: [...], partial}``."""
    con = connect()
    try:
        out = []
        for name, feature in features.items():
            found = column_statistics(con, shards, schema, name, feature)
            if found is not None:
                out.append({"column_name": name, "column_type": found[0], "column_statistics": found[1]})
    finally:
        con.close()
    return {"num_examples": sum(s.num_rows for s in shards), "statistics": out, "partial": False}
