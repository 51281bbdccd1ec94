"""CSV and TSV files as their first rows, parsed from the first KBs only."""

from __future__ import annotations

import csv
import io
from itertools import islice

from dockyard.web.viewers import Shown, Source, Table, text

CSV_READ = 64 * 1024
MAX_ROWS = 50
MAX_COLUMNS = 50
MAX_CELL = 500


def view(source: Source) -> Shown:
    data = source.head(CSV_READ)
    body = text.decode_text(data)
    if body is None:
        return text.view(source)
    if source.size > CSV_READ:  # the last line may be cut short: leave it out
        body = body[: body.rfind("\n") + 1]
    delimiter = "\t" if source.suffix == ".tsv" else ","
    try:
        rows = [
            [cell[:MAX_CELL] for cell in row[:MAX_COLUMNS]]
            for row in islice(csv.reader(io.StringIO(body), delimiter=delimiter), MAX_ROWS + 1)
        ]
    except csv.Error:
        return text.view(source)
    if not rows:
        return text.view(source)
    header, rows = rows[0], rows[1:]
    notes = [f"The first {len(rows)} rows."] if len(rows) == MAX_ROWS or source.size > CSV_READ else []
    return Shown(kind="table", table=Table(columns=header, rows=rows), notes=notes)
