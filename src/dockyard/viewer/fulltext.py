"""The full-text index behind ``/search``: one SQLite FTS5 file per split, whose rowid is the row's
position in the split and whose columns are the split's string columns.

The table is *contentless* (``content=''``): it holds the inverted index only, never the text, so
the file stays a fraction of the split and the rows themselves are read from the Parquet shards by
position. The tokenizer is ``unicode61`` with ``remove_diacritics 2``: words are runs of letters and
digits, matched case- and accent-insensitively ("cafe" finds "Café"), as the Hub's search does.

A query is the user's words, each quoted as an FTS5 string (a ``"`` inside doubled), joined by
spaces: every word must occur in some string column, and a word the tokenizer splits
("well-known", "NEAR(") must occur as that phrase. The user's text never reaches the MATCH syntax
unescaped, so ``OR``, ``NOT``, ``NEAR(``, ``*``, ``-``, ``^`` and column filters are searched as
text. The expression itself is a bound parameter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from dockyard.viewer.errors import TooBigContentError
from dockyard.viewer.rows import ROW_IDX, batches
from dockyard.viewer.shards import Shard, open_shard

TABLE = "split_text"
TOKENIZER = "unicode61 remove_diacritics 2"
#: Rows handed to SQLite per ``executemany`` call (the Arrow batches are sized by bytes already).
INSERT_ROWS = 5_000
#: The most words of a query that count (as the scan: a longer query is cut, not refused).
MAX_WORDS = 16


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What a finished index holds: the split's rows and the bytes of text tokenised."""

    num_rows: int
    text_bytes: int


# -- building ----------------------------------------------------------------------------------------
def footer_text_bytes(shards: Sequence[Shard], columns: Sequence[str]) -> int:
    """The uncompressed size of ``columns`` over the split, from the Parquet footers alone: a split
    over the limit is refused before a single page is read."""
    wanted = set(columns)
    total = 0
    for shard in shards:
        meta = open_shard(shard).metadata
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            for index in range(row_group.num_columns):
                chunk = row_group.column(index)
                if chunk.path_in_schema.split(".", 1)[0] in wanted:
                    total += chunk.total_uncompressed_size
    return total


def build(path: Path, shards: Sequence[Shard], columns: Sequence[str], *, max_text_bytes: int) -> IndexStats:
    """Write the index of ``columns`` to ``path`` (a new file), streaming the shards batch by batch:
    memory is one Arrow batch plus SQLite's page cache and FTS5's pending-terms buffer. Raises
    :class:`TooBigContentError` once the text read passes ``max_text_bytes`` (a footer can lie)."""
    con = sqlite3.connect(path)
    try:
        _create(con, len(columns))
        stats = _fill(con, shards, columns, max_text_bytes)
        con.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")  # one segment: fastest reads
        con.commit()
        return stats
    finally:
        con.close()


def _create(con: sqlite3.Connection, width: int) -> None:
    # Columns are c0..cN, not the split's names: a column called "rank" or "rowid" would clash with
    # FTS5's own, and no name needs quoting. The search spans every column, so names are not needed.
    names = ", ".join(f"c{i}" for i in range(width))
    con.execute("PRAGMA journal_mode = OFF")  # a half-built file is thrown away, never repaired
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -65536")  # 64 MiB
    con.execute(f"CREATE VIRTUAL TABLE {TABLE} USING fts5({names}, content='', columnsize=0, tokenize='{TOKENIZER}')")


def _fill(con: sqlite3.Connection, shards: Sequence[Shard], columns: Sequence[str], max_text_bytes: int) -> IndexStats:
    marks = ", ".join("?" for _ in range(len(columns) + 1))
    insert = f"INSERT INTO {TABLE}(rowid, {', '.join(f'c{i}' for i in range(len(columns)))}) VALUES ({marks})"
    num_rows = text_bytes = 0
    for batch in batches(shards, columns):
        text_bytes += _batch_text_bytes(batch, columns)
        if text_bytes > max_text_bytes:
            raise TooBigContentError(
                f"The split has more than {max_text_bytes} bytes of text, the search index limit "
                "(viewer_search_max_text_bytes): search scans the split instead."
            )
        for start in range(0, batch.num_rows, INSERT_ROWS):
            part = batch.slice(start, INSERT_ROWS)
            values = [part.column(name).to_pylist() for name in (ROW_IDX, *columns)]
            con.executemany(insert, zip(*values, strict=True))
        num_rows += batch.num_rows
    return IndexStats(num_rows, text_bytes)


def _batch_text_bytes(batch: pa.RecordBatch, columns: Sequence[str]) -> int:
    total = 0
    for name in columns:
        size = pc.sum(pc.binary_length(batch.column(name))).as_py()
        total += int(size or 0)
    return total


# -- searching ---------------------------------------------------------------------------------------
def match_expression(query: str) -> str | None:
    """The FTS5 expression for the user's words (each an FTS5 string, so never syntax), or None
    when no word holds a letter or digit: such a query has nothing the index could find."""
    words = [word for word in query.split()[:MAX_WORDS] if any(ch.isalnum() for ch in word)]
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def open_index(path: Path) -> sqlite3.Connection:
    """A read-only connection to a finished index (``immutable``: no locks, no journal lookups;
    the file is never written once stored). Usable from the threadpool thread that opened it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def search(path: Path, expression: str, *, offset: int, length: int) -> tuple[list[int], int]:
    """Rows matching ``expression`` (see :func:`match_expression`), in row order: one page of their
    positions, and how many rows match in all. FTS5 yields rowids in ascending order, so the ORDER BY costs nothing."""
    con = open_index(path)
    try:
        where = f"FROM {TABLE} WHERE {TABLE} MATCH ?"
        total = int(con.execute(f"SELECT count(*) {where}", (expression,)).fetchone()[0])
        found = con.execute(f"SELECT rowid {where} ORDER BY rowid LIMIT ? OFFSET ?", (expression, length, offset))
        return [int(row[0]) for row in found], total
    finally:
        con.close()
