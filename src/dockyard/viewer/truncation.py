"""Fitting ``/first-rows`` into a byte budget, as the Hub's dataset viewer does.

The first rows are a preview shown on every dataset page: a split of long documents would
otherwise send megabytes for it. Past the budget, cells are cut to a short prefix of their JSON
(the cell becomes that string and its column is listed in the row's ``truncated_cells``), at
least ``min_rows`` rows are kept that way, and later rows come only while they still fit. Media
cells (already short signed URLs) are never cut.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

FIRST_ROWS_MAX_BYTES = 1_000_000
FIRST_ROWS_MIN_NUMBER = 10
MIN_CELL_BYTES = 100


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _cut(value: Any, limit: int) -> str:
    """The first ``limit`` bytes of the cell's JSON, never splitting a UTF-8 character."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.encode()[:limit].decode(errors="ignore")


def truncate_item(item: dict[str, Any], min_cell_bytes: int, keep: Collection[str]) -> dict[str, Any]:
    """The row item with every cell over ``min_cell_bytes`` of JSON cut to that size."""
    row, cut = {}, []
    for name, value in item["row"].items():
        if name not in keep and json_size(value) > min_cell_bytes:
            row[name] = _cut(value, min_cell_bytes)
            cut.append(name)
        else:
            row[name] = value
    return {**item, "row": row, "truncated_cells": cut}


def fit(
    items: list[dict[str, Any]],
    *,
    max_bytes: int = FIRST_ROWS_MAX_BYTES,
    min_rows: int = FIRST_ROWS_MIN_NUMBER,
    min_cell_bytes: int = MIN_CELL_BYTES,
    keep: Collection[str] = (),
) -> list[dict[str, Any]]:
    """``items`` (``{row_idx, row, truncated_cells}``) within ``max_bytes`` of JSON: whole if they
    fit; else the first ``min_rows`` with long cells cut, then each next row whole or cut while
    the total stays within the budget."""
    if json_size(items) <= max_bytes:
        return items
    kept = [truncate_item(item, min_cell_bytes, keep) for item in items[:min_rows]]
    total = json_size(kept)
    for item in items[min_rows:]:
        for candidate in (item, truncate_item(item, min_cell_bytes, keep)):
            size = json_size(candidate) + 1  # and the comma
            if total + size <= max_bytes:
                kept.append(candidate)
                total += size
                break
        else:
            break
    return kept
