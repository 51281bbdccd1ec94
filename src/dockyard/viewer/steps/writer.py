"""Writing a split's Parquet shards (streamed, bounded memory) or referencing Parquet files that
are already fit for random access."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from dockyard.storage.ranged_file import RangedFile
from dockyard.viewer import publish
from dockyard.viewer.errors import EmptyDatasetError
from dockyard.viewer.sources import open_file
from dockyard.viewer.steps import guards
from dockyard.viewer.steps.context import StepContext

#: A row group is closed at this many uncompressed bytes even below the row limit (images, long texts).
ROW_GROUP_BYTES = 64 * 1024 * 1024
#: A referenced file's row groups must stay under this to be read a page at a time.
MAX_REFERENCED_ROW_GROUP_BYTES = 256 * 1024 * 1024
BATCH_ROWS = 10_000
MEDIA_BATCH_ROWS = 16


def reference(
    ctx: StepContext, entries: dict[str, Any], config: str, split: str, paths: list[str]
) -> dict[str, Any] | None:
    """The split's Parquet files as they are (their LFS objects), or None when one is stored in
    git or has row groups too large for random access (then the split is rewritten)."""
    shards = []
    for index, path in enumerate(paths):
        entry = entries.get(path)
        if entry is None or entry.lfs is None:
            return None
        source = open_file(ctx.hub, ctx.uid, ctx.revision, path)
        metadata = pq.ParquetFile(
            io.BufferedReader(RangedFile(source.read_range, source.size), buffer_size=64 * 1024)
        ).metadata
        groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
        if any(
            g.num_rows > ctx.hub.settings.viewer_row_group_rows or g.total_byte_size > MAX_REFERENCED_ROW_GROUP_BYTES
            for g in groups
        ):
            return None
        shards.append(_shard(config, split, index, entry.lfs.size, metadata.num_rows, entry.lfs.oid))
    return {"num_rows": sum(s["num_rows"] for s in shards), "referenced": True, "shards": shards}


def _shard(config: str, split: str, index: int, size: int, num_rows: int, oid: str) -> dict[str, Any]:
    return {"filename": f"{config}/{split}/{index:04d}.parquet", "size": size, "num_rows": num_rows, "oid": oid}


class _ShardWriter:
    """Row groups buffered up to the row/byte limits; a new shard past ``viewer_shard_bytes``."""

    def __init__(self, ctx: StepContext, folder: Path, config: str, split: str, schema: pa.Schema) -> None:
        self.ctx, self.folder, self.config, self.split, self.schema = ctx, folder, config, split, schema
        self.buffer: list[pa.Table] = []
        self.buffered_rows = 0
        self.buffered_bytes = 0
        self.writer: pq.ParquetWriter | None = None
        self.shard_rows = 0
        self.shards: list[dict[str, Any]] = []

    def add(self, table: pa.Table) -> None:
        self.buffer.append(table)
        self.buffered_rows += table.num_rows
        self.buffered_bytes += table.nbytes
        if self.buffered_rows >= self.ctx.hub.settings.viewer_row_group_rows or self.buffered_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _path(self) -> Path:
        return self.folder / f"{len(self.shards):04d}.parquet"

    def _flush(self) -> None:
        if not self.buffer:
            return
        table = pa.concat_tables(self.buffer)
        per_group = max(1, table.num_rows * ROW_GROUP_BYTES // max(table.nbytes, 1))
        per_group = min(per_group, self.ctx.hub.settings.viewer_row_group_rows)
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self._path(), self.schema, write_page_index=True, use_content_defined_chunking=True
            )
        self.writer.write_table(table, row_group_size=per_group)
        self.shard_rows += table.num_rows
        self.buffer, self.buffered_rows, self.buffered_bytes = [], 0, 0
        if self._path().stat().st_size >= self.ctx.hub.settings.viewer_shard_bytes:
            self._close_shard()

    def _close_shard(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        self.writer = None
        path = self._path()
        oid, size = publish.store_file(self.ctx.hub, self.ctx.repo_id, path)
        path.unlink()
        self.shards.append(_shard(self.config, self.split, len(self.shards), size, self.shard_rows, oid))
        self.shard_rows = 0

    def finish(self) -> list[dict[str, Any]]:
        self._flush()
        if self.writer is None and not self.shards:  # no rows at all: one empty file with the schema
            self.writer = pq.ParquetWriter(self._path(), self.schema, write_page_index=True)
        self._close_shard()
        return self.shards


def write_split(ctx: StepContext, dataset: Any, config: str, split: str, *, by_rows: bool = False) -> dict[str, Any]:
    """Stream ``dataset`` (a ``datasets.IterableDataset``) into shards; media files referenced by
    path (image or audio folders) are embedded, as the Hub's export does. ``by_rows`` for formats
    whose examples do not come as Arrow tables of one column order (WebDataset)."""
    from datasets import Features  # type: ignore[import-untyped]
    from datasets.table import embed_table_storage, table_cast  # type: ignore[import-untyped]

    folder = ctx.workdir / "out" / config / split
    folder.mkdir(parents=True, exist_ok=True)
    shards: _ShardWriter | None = None
    schema: pa.Schema | None = None
    for table in _batches(dataset, by_rows):
        if shards is None or schema is None:
            features = dataset.features or Features.from_arrow_schema(table.schema)
            schema = features.arrow_schema
            shards = _ShardWriter(ctx, folder, config, split, schema)
        table = embed_table_storage(table_cast(_repo_urls(ctx, table), schema))
        guards.check_rows(ctx.hub.settings, table)
        shards.add(table.replace_schema_metadata(schema.metadata))
    if shards is None:
        raise EmptyDatasetError(f"The split {split!r} of config {config!r} has no rows")
    written = shards.finish()
    return {"num_rows": sum(s["num_rows"] for s in written), "referenced": False, "shards": written}


def _batches(dataset: Any, by_rows: bool) -> Iterator[pa.Table]:
    """Batches of ``BATCH_ROWS`` rows, or ``MEDIA_BATCH_ROWS`` when files are embedded (images,
    audio): a batch's embedded bytes are in memory at once."""
    from datasets.features.features import require_storage_embed  # type: ignore[import-untyped]

    features = dataset.features
    size = MEDIA_BATCH_ROWS if features is not None and require_storage_embed(features) else BATCH_ROWS
    if not by_rows:
        yield from dataset.with_format("arrow").iter(batch_size=size)
        return
    for batch in dataset.decode(False).iter(batch_size=size):
        names = list(features) if features else list(batch)
        yield pa.Table.from_pydict(
            {name: batch[name] for name in names}, schema=features.arrow_schema if features else None
        )


def _repo_urls(ctx: StepContext, table: pa.Table) -> pa.Table:
    """WebDataset's ``__url__`` names the scratch copy of the archive: name the repo file instead."""
    if "__url__" not in table.column_names:
        return table
    prefix = str(ctx.workdir / "tree") + "/"
    index = table.column_names.index("__url__")
    urls = [None if url is None else url.removeprefix(prefix) for url in table.column(index).to_pylist()]
    return table.set_column(index, "__url__", pa.array(urls, type=table.schema.field(index).type))
