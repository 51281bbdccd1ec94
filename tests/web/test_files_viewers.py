"""The file viewers read only what they show: a 5 GB file costs a page its first KBs, a
safetensors file its header, a Parquet file its footer and first batch (no server needed)."""

from __future__ import annotations

from dockyard.web.viewers import Source, parquet, safetensors, text
from dockyard.web.viewers import csv as csv_viewer
from dockyard.web.viewers import json as json_viewer
from tests.web.files_fixtures import parquet_bytes, safetensors_bytes

FIVE_GB = 5 * 1024**3


class CountingSource:
    """A file of ``size`` bytes (``data`` repeated), counting the bytes read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.read = data, size, 0

    def read_range(self, start: int, end: int) -> bytes:
        assert 0 <= start <= end < self.size
        self.read += end - start + 1
        repeats = (end + 1) // len(self.data) + 1
        return (self.data * repeats)[start : end + 1] if repeats < 10_000 else self._slow(start, end)

    def _slow(self, start: int, end: int) -> bytes:
        return bytes(self.data[i % len(self.data)] for i in range(start, end + 1))

    def source(self, path: str) -> Source:
        return Source(path, self.size, self.read_range)


def test_a_huge_text_file_costs_its_first_kilobytes() -> None:
    counter = CountingSource(b"a line of text\n", FIVE_GB)
    shown = text.view(counter.source("big.txt"))
    assert shown.kind == "code"
    assert counter.read <= text.TEXT_LIMIT
    assert "first 256 KB" in shown.notes[0]


def test_a_huge_json_file_is_shown_as_its_first_kilobytes() -> None:
    counter = CountingSource(b'{"k": 1}\n', FIVE_GB)
    shown = json_viewer.view(counter.source("big.json"))
    assert shown.kind == "code"
    assert counter.read <= text.TEXT_LIMIT


def test_a_huge_csv_file_costs_its_first_rows() -> None:
    counter = CountingSource(b"a,b\n1,2\n", FIVE_GB)
    shown = csv_viewer.view(counter.source("big.csv"))
    assert shown.table is not None
    assert shown.table.columns == ["a", "b"]
    assert len(shown.table.rows) == csv_viewer.MAX_ROWS
    assert counter.read <= csv_viewer.CSV_READ


def test_a_binary_file_is_not_shown_as_text() -> None:
    shown = text.view(CountingSource(b"\x00\x01\x02\xff", 4096).source("blob.dat"))
    assert shown.kind == "binary"


def test_safetensors_costs_only_its_header() -> None:
    data = safetensors_bytes()
    counter = CountingSource(data, len(data))
    shown = safetensors.view(counter.source("model.safetensors"))
    header_length = int.from_bytes(data[:8], "little")
    assert sorted((t.name, t.dtype, t.shape) for t in shown.tensors) == [
        ("embed.weight", "F32", [4, 3]),
        ("head.bias", "I64", [3]),
    ]
    assert shown.parameters == 15
    assert counter.read == 8 + header_length


def test_a_damaged_safetensors_header_is_reported_not_shown() -> None:
    bad = (1_000_000).to_bytes(8, "little") + b"{}"
    shown = safetensors.view(CountingSource(bad, len(bad)).source("bad.safetensors"))
    assert shown.kind == "binary"
    assert "invalid header" in shown.notes[0]


def test_parquet_rows_come_through_ranged_reads() -> None:
    data = parquet_bytes()
    counter = CountingSource(data, len(data))
    shown = parquet.view(counter.source("cities.parquet"))
    assert shown.table is not None
    assert shown.table.rows[2] == ["Hanoi", "8053663"]
    assert shown.table.total_rows == 3


def test_a_damaged_parquet_file_is_a_download() -> None:
    shown = parquet.view(CountingSource(b"PAR1 not really", 15).source("bad.parquet"))
    assert shown.kind == "binary"
