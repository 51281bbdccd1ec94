"""Rows, search, filter and statistics over real Parquet files split into several shards and row
groups; expectations are computed from the generated data with plain Python."""

from __future__ import annotations

import json
import random
import statistics as pystats
import struct
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dockyard.viewer import features as feats
from dockyard.viewer import query, rows
from dockyard.viewer.shards import Shard, local_shards
from dockyard.viewer.statistics import split_statistics

LABELS = ["neg", "neu", "pos"]
WORDS = ["alpha", "beta", "gamma", "delta", "omega"]


def _png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _data(n: int) -> dict[str, list[Any]]:
    rng = random.Random(7)
    return {
        "text": [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))) if i % 9 else None for i in range(n)],
        "n": [rng.randint(-50, 1000) for _ in range(n)],
        "x": [rng.random() * 3 if i % 11 else None for i in range(n)],
        "label": [rng.choice([-1, 0, 1, 2]) for _ in range(n)],
        "flag": [rng.random() < 0.3 for _ in range(n)],
        "tags": [[1] * rng.randint(0, 6) for _ in range(n)],
        "image": [{"bytes": _png(rng.randint(1, 64), 5), "path": None} for _ in range(n)],
    }


FEATURES = {
    "text": {"dtype": "string", "_type": "Value"},
    "n": {"dtype": "int64", "_type": "Value"},
    "x": {"dtype": "float64", "_type": "Value"},
    "label": {"names": LABELS, "_type": "ClassLabel"},
    "flag": {"dtype": "bool", "_type": "Value"},
    "tags": {"feature": {"dtype": "int64", "_type": "Value"}, "_type": "List"},
    "image": {"_type": "Image"},
}


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[Any]], list[Shard], pa.Schema]:
    folder: Path = tmp_path_factory.mktemp("split")
    data = _data(3000)
    table = pa.table(data).replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": FEATURES}})})
    paths = []
    for i, (lo, hi) in enumerate([(0, 1234), (1234, 3000)]):
        paths.append(folder / f"{i:04d}.parquet")
        pq.write_table(table.slice(lo, hi - lo), paths[-1], row_group_size=500)
    return data, local_shards(paths), pq.read_schema(paths[0])


def test_features_from_metadata(split: Any) -> None:
    _, _, schema = split
    assert feats.features_of(schema) == FEATURES
    assert feats.feature_list(FEATURES)[3] == {"feature_idx": 3, "name": "label", "type": FEATURES["label"]}


@pytest.mark.parametrize(("offset", "length"), [(0, 10), (1230, 10), (2995, 100), (499, 2)])
def test_pages_cross_shards_and_row_groups(split: Any, offset: int, length: int) -> None:
    data, shards, _ = split
    page = rows.read_page(shards, offset, length).rows
    expected = range(offset, min(offset + length, 3000))
    assert [i for i, _ in page] == list(expected)
    assert [r["n"] for _, r in page] == [data["n"][i] for i in expected]


def test_search_matches_every_word(split: Any) -> None:
    data, shards, schema = split
    hits = query.search_rows(shards, schema, FEATURES, query="ALPHA omega", offset=3, length=7)
    expected = [i for i, t in enumerate(data["text"]) if t and "alpha" in t and "omega" in t]
    assert hits.total == len(expected)
    assert hits.row_indexes == expected[3:10]


def test_search_treats_wildcards_literally(split: Any) -> None:
    _, shards, schema = split
    assert query.search_rows(shards, schema, FEATURES, query="%", offset=0, length=5).total == 0


def test_filter_and_order(split: Any) -> None:
    data, shards, schema = split
    hits = query.filter_rows(
        shards, schema, FEATURES, where="n > 500 AND flag = true", orderby="x DESC", offset=2, length=5
    )
    matches = [i for i in range(3000) if data["n"][i] > 500 and data["flag"][i]]
    with_x = sorted((i for i in matches if data["x"][i] is not None), key=lambda i: (-data["x"][i], i))
    # DuckDB sorts NULLs last by default.
    ordered = with_x + [i for i in matches if data["x"][i] is None]
    assert hits.total == len(matches)
    assert hits.row_indexes == ordered[2:7]


def test_filter_rejects_media_columns(split: Any) -> None:
    _, shards, schema = split
    with pytest.raises(query.InvalidQueryError):
        query.filter_rows(shards, schema, FEATURES, where="image IS NULL", orderby=None, offset=0, length=5)


def _by_column(stats: dict[str, Any]) -> dict[str, Any]:
    return {s["column_name"]: (s["column_type"], s["column_statistics"]) for s in stats["statistics"]}


def test_statistics_numbers(split: Any) -> None:
    data, shards, schema = split
    stats = split_statistics(shards, schema, FEATURES)
    assert stats["num_examples"] == 3000
    columns = _by_column(stats)
    kind, n = columns["n"]
    assert kind == "int"
    assert (n["min"], n["max"]) == (min(data["n"]), max(data["n"]))
    assert n["mean"] == pytest.approx(pystats.mean(data["n"]), abs=1e-4)
    assert n["median"] == pytest.approx(pystats.median(data["n"]))
    assert n["std"] == pytest.approx(pystats.stdev(data["n"]), abs=1e-4)
    assert sum(n["histogram"]["hist"]) == 3000
    assert len(n["histogram"]["hist"]) == 10
    edges = n["histogram"]["bin_edges"]
    assert edges[0] == min(data["n"])
    assert edges[-1] == max(data["n"])
    first_bin = sum(1 for v in data["n"] if edges[0] <= v < edges[1])
    assert n["histogram"]["hist"][0] == first_bin
    kind, x = columns["x"]
    present = [v for v in data["x"] if v is not None]
    assert kind == "float"
    assert x["nan_count"] == 3000 - len(present)
    assert x["nan_proportion"] == pytest.approx((3000 - len(present)) / 3000, abs=1e-5)
    assert x["median"] == pytest.approx(pystats.median(present), abs=1e-5)


def test_statistics_categories(split: Any) -> None:
    data, shards, schema = split
    columns = _by_column(split_statistics(shards, schema, FEATURES))
    kind, label = columns["label"]
    assert kind == "class_label"
    assert label["no_label_count"] == data["label"].count(-1)
    assert label["frequencies"] == {LABELS[k]: data["label"].count(k) for k in range(3) if data["label"].count(k)}
    kind, flag = columns["flag"]
    assert kind == "bool"
    assert flag["frequencies"] == {"True": data["flag"].count(True), "False": data["flag"].count(False)}
    kind, text = columns["text"]
    lengths = [len(t) for t in data["text"] if t is not None]
    assert kind == "string_text"
    assert (text["min"], text["max"]) == (min(lengths), max(lengths))
    assert text["nan_count"] == data["text"].count(None)
    kind, tags = columns["tags"]
    assert kind == "list"
    assert tags["max"] == max(len(t) for t in data["tags"])
    kind, image = columns["image"]
    widths = [struct.unpack(">I", cell["bytes"][16:20])[0] for cell in data["image"]]
    assert kind == "image"
    assert (image["min"], image["max"]) == (min(widths), max(widths))


def test_render_image_cell_is_a_url(split: Any) -> None:
    data, shards, _ = split
    page = rows.read_page(shards, 5, 1).rows
    rendered = rows.render_rows(page, FEATURES, lambda i, col, mime: f"/asset/{i}/{col}/{mime}")
    cell = rendered[0]["row"]["image"]
    assert cell["src"] == "/asset/5/image/image/png"
    assert cell["width"] == struct.unpack(">I", data["image"][5]["bytes"][16:20])[0]
    assert rendered[0]["row_idx"] == 5


@pytest.mark.parametrize("where", ["text > 3", "x > 'abc'", "n = 'seven'"])
def test_filter_with_values_of_the_wrong_type_is_a_400(split: Any, where: str) -> None:
    _, shards, schema = split
    with pytest.raises(query.InvalidQueryError):
        query.filter_rows(shards, schema, FEATURES, where=where, orderby=None, offset=0, length=5)


def test_batches_are_sized_by_bytes(tmp_path: Path) -> None:
    small = pa.table({"n": list(range(1000))})
    large = pa.table({"doc": [bytes([i % 251]) * 200_000 for i in range(200)]})
    pq.write_table(small, tmp_path / "small.parquet")
    pq.write_table(large, tmp_path / "large.parquet", compression="zstd")
    (small_shard,) = local_shards([tmp_path / "small.parquet"])
    (large_shard,) = local_shards([tmp_path / "large.parquet"])
    assert rows.batch_rows(pq.ParquetFile(tmp_path / "small.parquet"), ["n"]) == rows.MAX_BATCH_ROWS
    per_batch = rows.batch_rows(pq.ParquetFile(tmp_path / "large.parquet"), ["doc"])
    assert rows.MIN_BATCH_ROWS <= per_batch <= rows.BATCH_BYTES // 200_000  # ~16 MiB of 200 kB cells
    sizes = [b.num_rows for b in rows.batches([large_shard], ["doc"])]
    assert sum(sizes) == 200
    assert max(sizes) == per_batch
    assert [b.column(1).to_pylist() for b in rows.batches([small_shard], ["n"])] == [list(range(1000))]


@pytest.mark.parametrize(("distinct", "kind"), [(30, "string_label"), (45, "string_text"), (5000, "string_text")])
def test_string_columns_are_labels_up_to_30_distinct_values(tmp_path: Path, distinct: int, kind: str) -> None:
    """30 values are labels with exact frequencies; 45 go through the exact count (the sketch
    cannot tell them from labels) and 5,000 are judged text by the sketch alone: all by the
    dataset-viewer's rule."""
    values = [f"value-{i % distinct:05d}" for i in range(20_000)]
    path = tmp_path / "part.parquet"
    pq.write_table(pa.table({"s": values}), path, row_group_size=3000)
    features = {"s": {"dtype": "string", "_type": "Value"}}
    found = _by_column(split_statistics(local_shards([path]), pq.read_schema(path), features))
    column_type, stats = found["s"]
    assert column_type == kind
    if kind == "string_label":
        assert stats["frequencies"] == {f"value-{i:05d}": values.count(f"value-{i:05d}") for i in range(distinct)}
    else:
        assert (stats["min"], stats["max"]) == (11, 11)
