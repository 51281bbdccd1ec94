"""``/first-rows`` fitted into its byte budget: what is cut, what is kept, in which order."""

from __future__ import annotations

from typing import Any

from dockyard.viewer.truncation import fit, json_size


def _items(count: int, text_bytes: int) -> list[dict[str, Any]]:
    return [
        {
            "row_idx": i,
            "row": {"text": "é" * (text_bytes // 2), "n": i, "image": {"src": "u" * 300}},
            "truncated_cells": [],
        }
        for i in range(count)
    ]


def test_rows_that_fit_are_untouched() -> None:
    items = _items(20, 1000)
    assert fit(items, max_bytes=10**6) is items


def test_long_cells_are_cut_and_listed_media_kept() -> None:
    fitted = fit(_items(100, 50_000), max_bytes=100_000, min_rows=10, min_cell_bytes=100, keep=["image"])
    assert json_size(fitted) <= 100_000
    assert len(fitted) > 10  # cut rows are small: more than the minimum fit
    assert [item["row_idx"] for item in fitted] == list(range(len(fitted)))
    assert all(item["truncated_cells"] == ["text"] for item in fitted[:10])
    assert fitted[10]["truncated_cells"] == []  # the next row fits whole: it comes whole
    for item in fitted:
        cut = item["truncated_cells"] == ["text"]
        assert item["row"]["text"] == ("é" * 50 if cut else "é" * 25_000)  # 100 bytes: no character split
        assert item["row"]["n"] == item["row_idx"]
        assert item["row"]["image"] == {"src": "u" * 300}


def test_the_minimum_rows_stay_even_over_the_budget() -> None:
    fitted = fit(_items(30, 50_000), max_bytes=1_000, min_rows=10, min_cell_bytes=100, keep=["image"])
    assert len(fitted) == 10
    assert all(item["truncated_cells"] == ["text"] for item in fitted)


def test_later_rows_come_whole_while_they_fit() -> None:
    items = _items(3, 200_000) + _items(5, 100)
    for i, item in enumerate(items):
        item["row_idx"] = i
    fitted = fit(items, max_bytes=5_000, min_rows=3, min_cell_bytes=100, keep=["image"])
    assert [item["truncated_cells"] for item in fitted] == [["text"]] * 3 + [[]] * 5
