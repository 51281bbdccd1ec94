"""Search and filter over a whole split with DuckDB. The split streams in as Arrow batches (see
:func:`dockyard.viewer.rows.reader`), so memory stays bounded by DuckDB's limit and the batch size;
only the page's row positions come back, and the rows are then read by position."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from dockyard.viewer import fulltext
from dockyard.viewer.features import kind_of
from dockyard.viewer.rows import ROW_IDX, reader
from dockyard.viewer.shards import Shard
from dockyard.viewer.sql_subset import Clause, InvalidQueryError, parse_orderby, parse_where, quote_identifier

log = logging.getLogger(__name__)

MEMORY_LIMIT = "512MB"
MAX_QUERY_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Hits:
    """One page of matching row positions, and how many rows match in all."""

    row_indexes: list[int]
    total: int


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with a memory ceiling, no extension loading and no file access."""
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2, "autoinstall_known_extensions": False})
    con.execute("SET enable_external_access = false")
    return con


def scalar_columns(features: dict[str, Any]) -> list[str]:
    """Columns ``where`` and ``orderby`` may name: plain values and class labels."""
    return [name for name, f in features.items() if kind_of(f).startswith("Value:") or kind_of(f) == "ClassLabel"]


def string_columns(features: dict[str, Any]) -> list[str]:
    """Columns full-text search reads."""
    return [name for name, f in features.items() if kind_of(f) in ("Value:string", "Value:large_string")]


def _page(
    shards: Sequence[Shard], schema: pa.Schema, columns: list[str], where: Clause, order: str, offset: int, length: int
) -> Hits:
    con = connect()
    try:
        return _run(con, shards, schema, columns, where, order, offset, length)
    except (duckdb.DataError, duckdb.BinderException, duckdb.InvalidInputException) as error:
        # A value of the wrong type for its column ("text > 3"): the caller's mistake, not ours.
        raise InvalidQueryError(str(error).splitlines()[0][:300]) from None
    finally:
        con.close()


def _run(
    con: duckdb.DuckDBPyConnection,
    shards: Sequence[Shard],
    schema: pa.Schema,
    columns: list[str],
    where: Clause,
    order: str,
    offset: int,
    length: int,
) -> Hits:
    con.register("split_rows", reader(shards, schema, columns))
    total = int(con.execute(f"SELECT count(*) FROM split_rows WHERE {where.sql}", where.params).fetchall()[0][0])
    con.unregister("split_rows")
    con.register("split_rows", reader(shards, schema, columns))
    sql = f"SELECT {quote_identifier(ROW_IDX)} FROM split_rows WHERE {where.sql} ORDER BY {order} LIMIT ? OFFSET ?"
    found = con.execute(sql, [*where.params, length, offset]).fetchall()
    return Hits([int(row[0]) for row in found], total)


def filter_rows(
    shards: Sequence[Shard],
    schema: pa.Schema,
    features: dict[str, Any],
    *,
    where: str | None,
    orderby: str | None,
    offset: int,
    length: int,
) -> Hits:
    """Rows matching ``where``, sorted by ``orderby`` (then by position), one page."""
    allowed = scalar_columns(features)
    clause = parse_where(where, allowed) if where else Clause("TRUE", ())
    order = parse_orderby(orderby, allowed).sql if orderby else ""
    used = [name for name in allowed if quote_identifier(name) in clause.sql or quote_identifier(name) in order]
    tie = quote_identifier(ROW_IDX)
    return _page(shards, schema, used, clause, f"{order}, {tie}" if order else tie, offset, length)


def search_rows(
    shards: Sequence[Shard],
    schema: pa.Schema,
    features: dict[str, Any],
    *,
    query: str,
    offset: int,
    length: int,
    index: Path | None = None,
) -> Hits:
    """Rows where the string columns hold every word of ``query``, in row order. With the split's
    full-text ``index`` (see :mod:`dockyard.viewer.fulltext`): whole words, case- and
    accent-insensitive. Without it (not built yet, or the split was too big): the scan, a
    case-insensitive substring match of each word."""
    words = query.split()
    if not words or len(query) > MAX_QUERY_LENGTH:
        raise InvalidQueryError("Parameter 'query' must be 1 to 512 characters with at least one word")
    expression = fulltext.match_expression(query)
    if index is not None and expression is not None:
        try:
            row_indexes, total = fulltext.search(index, expression, offset=offset, length=length)
            return Hits(row_indexes, total)
        except sqlite3.DatabaseError:  # an unreadable index file: the scan still answers
            log.exception("search index %s could not be read; scanning", index)
    return scan_rows(shards, schema, features, words=words, offset=offset, length=length)


def scan_rows(
    shards: Sequence[Shard], schema: pa.Schema, features: dict[str, Any], *, words: list[str], offset: int, length: int
) -> Hits:
    """The scan behind :func:`search_rows`: every string column, every row, streamed through DuckDB."""
    columns = string_columns(features)
    if not columns:
        return Hits([], 0)
    params: list[Any] = []
    conditions = []
    for word in words[:16]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        ors = [f"{quote_identifier(c)} ILIKE ? ESCAPE '\\'" for c in columns]
        params.extend([pattern] * len(columns))
        conditions.append("(" + " OR ".join(ors) + ")")
    clause = Clause(" AND ".join(conditions), tuple(params))
    return _page(shards, schema, columns, clause, quote_identifier(ROW_IDX), offset, length)
