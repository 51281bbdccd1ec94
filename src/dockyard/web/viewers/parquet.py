"""Parquet files as their schema and first rows: pyarrow reads the footer and one batch through
ranged reads, never the whole file."""

from __future__ import annotations

import io

from dockyard.storage.ranged_file import RangedFile
from dockyard.web.viewers import Shown, Source, Table, binary

MAX_ROWS = 50
MAX_COLUMNS = 50
MAX_CELL = 500
MAX_ROW_GROUP_BYTES = 64 * 1024 * 1024  # a first row group larger than this is not read for a page


def view(source: Source) -> Shown:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # imported on first use: a large library most pages never need

    try:
        parquet = pq.ParquetFile(io.BufferedReader(RangedFile(source.read_range, source.size), buffer_size=256 * 1024))
        metadata = parquet.metadata
        columns = parquet.schema_arrow.names[:MAX_COLUMNS]
        if metadata.num_row_groups and metadata.row_group(0).total_byte_size > MAX_ROW_GROUP_BYTES:
            table = Table(columns=columns, rows=[], total_rows=metadata.num_rows)
            return Shown(kind="table", table=table, notes=["The first row group is too large to preview."])
        batch = next(parquet.iter_batches(batch_size=MAX_ROWS, columns=columns), None)
    except Exception:  # pyarrow raises many types (ArrowInvalid, OSError...) on a damaged file
        return binary("This Parquet file could not be read.")
    rows = [] if batch is None else [[_cell(value) for value in row.values()] for row in batch.to_pylist()]
    notes = [f"The first {len(rows)} of {metadata.num_rows:,} rows."]
    return Shown(kind="table", table=Table(columns=columns, rows=rows, total_rows=metadata.num_rows), notes=notes)


def _cell(value: object) -> str:
    shown = "" if value is None else str(value)
    return shown if len(shown) <= MAX_CELL else shown[:MAX_CELL] + "…"
