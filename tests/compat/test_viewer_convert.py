"""The dataset viewer's processing (issue 13, part 1): every dataset commit is split into configs
and splits as ``datasets`` sees them and exported as Parquet on ``refs/convert/parquet``; the
export is listed by ``/api/datasets/{id}/parquet`` and loads with ``datasets`` itself. Rows are
compared with what was uploaded; the jobs are awaited by polling what the server answers."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
import wave
import zipfile
import zlib
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset
from huggingface_hub import HfApi

from tests.support.accounts import Identities
from tests.support.factories import dataset_folder, split_rows, table_rows, write_csv, write_jsonl
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["calm", "stormy"]), "score": Value("float64")})
PARQUET_REF = "refs/convert/parquet"
TIMEOUT = 120.0


def _status(server: LiveServer, repo_id: str, revision: str | None = None) -> dict[str, Any]:
    """What the steps recorded, through the ``dockyard viewer status`` command."""
    args = ["viewer", "status", repo_id] + (["--revision", revision] if revision else [])
    return dict(json.loads(server.cli(*args).stdout))


def _processed(server: LiveServer, repo_id: str, revision: str | None = None) -> dict[str, Any]:
    """Wait until every step has an outcome for every key, then the report."""
    report: dict[str, Any] = {}

    def done() -> bool:
        nonlocal report
        report = _status(server, repo_id, revision)
        return all(step["status"] != "pending" for step in report["steps"].values())

    assert wait_until(done, timeout=TIMEOUT, poll=0.5), report
    return report


def _get(server: LiveServer, token: str | None, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}{path}", headers=headers, timeout=60, **kwargs)


def _shard_rows(server: LiveServer, token: str, url: str) -> list[dict[str, Any]]:
    """Follow a listed URL (a redirect to resolve on refs/convert/parquet) and read the Parquet."""
    response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, follow_redirects=True, timeout=60)
    assert response.status_code == 200, response.text
    return list(pq.read_table(io.BytesIO(response.content)).to_pylist())


def _tree(api: HfApi, repo_id: str) -> dict[str, Any]:
    return {
        entry.path: entry
        for entry in api.list_repo_tree(repo_id, repo_type="dataset", revision=PARQUET_REF, recursive=True)
    }


def test_pushed_parquet_is_referenced_and_loads_from_the_export(
    server: LiveServer, api: HfApi, token: str, repo_name: str, cache_dir: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    original = DatasetDict(
        {split: Dataset.from_list(table_rows(split), features=FEATURES) for split in ("train", "test")}
    )
    original.push_to_hub(repo_id)

    report = _processed(server, repo_id)
    assert {(s["config"], s["split"], s["num_rows"]) for s in report["splits"]} == {
        ("default", "train", 6),
        ("default", "test", 6),
    }
    listing = _get(server, token, f"/api/datasets/{repo_id}/parquet").json()
    assert set(listing) == {"default"}
    assert set(listing["default"]) == {"train", "test"}
    assert listing["default"]["train"][0].endswith(f"/api/datasets/{repo_id}/parquet/default/train/0.parquet")
    exported = _tree(api, repo_id)
    data = {e.path: e for e in api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)}
    for split in ("train", "test"):
        source = next(e for path, e in data.items() if path.startswith(f"data/{split}-"))
        shard = exported[f"default/{split}/0000.parquet"]
        assert shard.lfs is not None
        assert source.lfs is not None
        assert shard.lfs.sha256 == source.lfs.sha256  # referenced, not copied

    loaded = load_dataset(repo_id, revision=PARQUET_REF, cache_dir=str(cache_dir))
    for split in ("train", "test"):
        assert loaded[split].features == original[split].features
        assert loaded[split].to_list() == original[split].to_list()
    info = next(s for s in report["splits"] if s["split"] == "train")
    assert Features.from_dict(info["features"]) == FEATURES
    assert info["num_bytes"] > 0


def test_parquet_with_oversized_row_groups_is_rewritten(
    server: LiveServer, api: HfApi, token: str, repo_name: str
) -> None:
    """One row group of 150,000 rows is too coarse for random access: the export rewrites it in
    row groups of at most 100,000 rows (the default) instead of referencing it."""
    repo_id = f"alice/{repo_name}"
    table = pa.table({"n": pa.array(range(150_000), pa.int64()), "word": [f"w{i % 97}" for i in range(150_000)]})
    source = io.BytesIO()
    pq.write_table(table, source, row_group_size=150_000)
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=source.getvalue(), path_in_repo="data/train.parquet", repo_id=repo_id, repo_type="dataset"
    )
    report = _processed(server, repo_id)
    assert [(s["split"], s["num_rows"]) for s in report["splits"]] == [("train", 150_000)]
    (url,) = _get(server, token, f"/api/datasets/{repo_id}/parquet/default/train").json()
    exported = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, follow_redirects=True, timeout=60)
    parquet = pq.ParquetFile(io.BytesIO(exported.content))
    groups = [parquet.metadata.row_group(i).num_rows for i in range(parquet.metadata.num_row_groups)]
    assert sum(groups) == 150_000
    assert max(groups) <= 100_000
    assert parquet.read().column("n").to_pylist() == list(range(150_000))
    shard = _tree(api, repo_id)["default/train/0000.parquet"]
    assert shard.lfs is not None
    assert shard.lfs.sha256 != hashlib.sha256(source.getvalue()).hexdigest()  # rewritten, not referenced


def _upload_folder(api: HfApi, repo_id: str, folder: Path) -> str:
    api.create_repo(repo_id, repo_type="dataset")
    return api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset").oid


def test_raw_csv_and_jsonl_are_converted(
    server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path
) -> None:
    rows = split_rows()
    for fmt in ("csv", "jsonl"):
        repo_id = f"alice/{repo_name}-{fmt}"
        _upload_folder(api, repo_id, dataset_folder(tmp_path / fmt, fmt, rows))
        report = _processed(server, repo_id)
        assert {s["split"]: s["num_rows"] for s in report["splits"]} == {"train": 6, "test": 6}
        listing = _get(server, token, f"/api/datasets/{repo_id}/parquet/default").json()
        for split in ("train", "test"):
            (url,) = listing[split]
            assert _shard_rows(server, token, url) == rows[split]
        assert _get(server, token, f"/api/datasets/{repo_id}/parquet/default/train").json() == listing["train"]
        shard = _tree(api, repo_id)["default/train/0000.parquet"]
        assert shard.lfs is not None  # stored like an upload
        metadata = pq.ParquetFile(
            io.BytesIO(_get(server, token, listing["train"][0].split(server.url)[1], follow_redirects=True).content)
        ).metadata
        assert metadata.row_group(0).column(0).has_offset_index  # the page index is written


ROWS = [{"text": f"line {i}", "label": i % 2} for i in range(5)]
CSV = "text,label\n" + "".join(f"{row['text']},{row['label']}\n" for row in ROWS)


def _zipped(name: str, data: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def _arrow_stream() -> bytes:
    table = pa.Table.from_pylist(ROWS)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue()


def _webdataset() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for i, row in enumerate(ROWS):
            for ext, data in (("txt", row["text"].encode()), ("json", json.dumps({"label": row["label"]}).encode())):
                member = tarfile.TarInfo(f"{i:04d}.{ext}")
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


WDS_ROWS = [
    {"__key__": f"{i:04d}", "__url__": "data/train-0000.tar", "json": {"label": row["label"]}, "txt": row["text"]}
    for i, row in enumerate(ROWS)
]
FORMATS: dict[str, tuple[str, bytes, list[dict[str, Any]]]] = {
    "gzip-compressed CSV": ("data/train.csv.gz", gzip.compress(CSV.encode()), ROWS),
    "TSV": ("data/train.tsv", CSV.replace(",", "\t").encode(), ROWS),
    "text": ("data/train.txt", b"first line\nsecond line\n", [{"text": "first line"}, {"text": "second line"}]),
    "CSV in a zip": ("data/train.zip", _zipped("inner.csv", CSV), ROWS),
    "Arrow": ("data/train.arrow", _arrow_stream(), ROWS),
    "WebDataset": ("data/train-0000.tar", _webdataset(), WDS_ROWS),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_formats_are_converted(server: LiveServer, api: HfApi, token: str, repo_name: str, fmt: str) -> None:
    repo_id = f"alice/{repo_name}"
    path, data, expected = FORMATS[fmt]
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id, repo_type="dataset")
    report = _processed(server, repo_id)
    assert [(s["split"], s["num_rows"], s["error"]) for s in report["splits"]] == [("train", len(expected), None)]
    (url,) = _get(server, token, f"/api/datasets/{repo_id}/parquet/default/train").json()
    rows = _shard_rows(server, token, url)
    assert [{key: row[key] for key in sorted(row)} for row in rows] == [
        {key: row[key] for key in sorted(row)} for row in expected
    ]


def test_card_with_several_configs(server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    folder = tmp_path / "configs"
    write_csv(folder / "first" / "train.csv", table_rows("train"))
    write_jsonl(folder / "second" / "rows.jsonl", table_rows("test", count=4))
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: first\n  data_files:\n  - split: train\n    path: first/train.csv\n"
        "- config_name: second\n  data_files:\n  - split: validation\n    path: second/*.jsonl\n---\n# Two configs\n"
    )
    _upload_folder(api, repo_id, folder)
    report = _processed(server, repo_id)
    assert [(s["config"], s["split"], s["num_rows"]) for s in report["splits"]] == [
        ("first", "train", 6),
        ("second", "validation", 4),
    ]
    listing = _get(server, token, f"/api/datasets/{repo_id}/parquet").json()
    assert _shard_rows(server, token, listing["second"]["validation"][0]) == table_rows("test", count=4)
    assert set(_tree(api, repo_id)) >= {"first/train/0000.parquet", "second/validation/0000.parquet"}


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x80\x10\x10" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_image_folder_with_metadata(server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    folder = tmp_path / "images"
    (folder / "train").mkdir(parents=True)
    images = {f"{i}.png": _png(3 + i, 2) for i in range(3)}
    for name, data in images.items():
        (folder / "train" / name).write_bytes(data)
    (folder / "train" / "metadata.csv").write_text("file_name,caption\n0.png,zero\n1.png,one\n2.png,two\n")
    _upload_folder(api, repo_id, folder)
    report = _processed(server, repo_id)
    assert [(s["split"], s["num_rows"]) for s in report["splits"]] == [("train", 3)]
    assert Features.from_dict(report["splits"][0]["features"])["image"].__class__.__name__ == "Image"
    (url,) = _get(server, token, f"/api/datasets/{repo_id}/parquet/default/train").json()
    rows = _shard_rows(server, token, url)
    assert {row["caption"]: row["image"]["bytes"] for row in rows} == {
        "zero": images["0.png"],
        "one": images["1.png"],
        "two": images["2.png"],
    }


def _wav(frames: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(struct.pack(f"<{frames}h", *range(frames)))
    return out.getvalue()


def test_audio_folder_with_metadata(server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    folder = tmp_path / "audio"
    (folder / "train").mkdir(parents=True)
    sounds = {"a.wav": _wav(80), "b.wav": _wav(160)}
    for name, data in sounds.items():
        (folder / "train" / name).write_bytes(data)
    (folder / "train" / "metadata.csv").write_text("file_name,transcript\na.wav,short\nb.wav,longer\n")
    _upload_folder(api, repo_id, folder)
    report = _processed(server, repo_id)
    assert [(s["split"], s["num_rows"]) for s in report["splits"]] == [("train", 2)]
    assert report["splits"][0]["features"]["audio"]["_type"] == "Audio"
    (url,) = _get(server, token, f"/api/datasets/{repo_id}/parquet/default/train").json()
    rows = _shard_rows(server, token, url)
    assert {row["transcript"]: row["audio"]["bytes"] for row in rows} == {
        "short": sounds["a.wav"],
        "longer": sounds["b.wav"],
    }


def test_malformed_split_fails_alone(
    server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    folder = tmp_path / "bad"
    write_csv(folder / "data" / "train.csv", table_rows("train"))
    (folder / "data" / "test.csv").write_text('text,label,score\n"fine",1,0.5\na,b,c,d,e\n"x",0,1\n')
    _upload_folder(api, repo_id, folder)
    report = _processed(server, repo_id)
    by_split = {s["split"]: s for s in report["splits"]}
    assert by_split["train"]["num_rows"] == 6
    assert by_split["train"]["error_code"] is None
    assert by_split["test"]["num_rows"] is None
    assert by_split["test"]["shards"] == []
    assert by_split["test"]["error_code"] == "FileFormatError"
    assert by_split["test"]["error"]
    assert report["steps"]["convert-parquet"]["status"] == "error"
    assert set(_get(server, token, f"/api/datasets/{repo_id}/parquet/default").json()) == {"train"}


def test_zip_bomb_is_refused(server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    folder = tmp_path / "bomb"
    write_csv(folder / "data" / "train.csv", table_rows("train"))
    (folder / "data").mkdir(exist_ok=True)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("test.csv", b"text,label,score\n" + b"a" * (64 * 1024 * 1024) + b",0,1\n")
    (folder / "data" / "test.zip").write_bytes(bomb.getvalue())
    _upload_folder(api, repo_id, folder)
    report = _processed(server, repo_id)
    by_split = {s["split"]: s for s in report["splits"]}
    assert by_split["train"]["num_rows"] == 6
    assert by_split["test"]["error_code"] == "TooBigContentError", by_split["test"]
    assert "decompression" in by_split["test"]["error"]


def test_private_dataset_export_is_hidden(
    server: LiveServer, ids: Identities, api: HfApi, token: str, repo_name: str, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type="dataset", private=True)
    api.upload_folder(
        folder_path=str(dataset_folder(tmp_path / "private", "csv", split_rows())), repo_id=repo_id, repo_type="dataset"
    )
    _processed(server, repo_id)
    paths = [
        f"/api/datasets/{repo_id}/parquet",
        f"/api/datasets/{repo_id}/parquet/default",
        f"/api/datasets/{repo_id}/parquet/default/train",
        f"/api/datasets/{repo_id}/parquet/default/train/0.parquet",
    ]
    for path in paths:
        assert _get(server, token, path).status_code in (200, 302)
        for outsider in (ids.bob, None):
            refused = _get(server, outsider, path)
            assert refused.status_code in (401, 404), (path, refused.status_code)
            assert refused.headers.get("x-error-code") == "RepoNotFound"
            assert b"parquet" not in refused.content.replace(b"/parquet", b"")


def test_new_commit_updates_results_and_keeps_the_old_revision(
    server: LiveServer, api: HfApi, token: str, repo_name: str, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    first = _upload_folder(api, repo_id, dataset_folder(tmp_path / "v1", "csv", split_rows(("train",), count=3)))
    old = _processed(server, repo_id, first)
    second = api.upload_folder(
        folder_path=str(dataset_folder(tmp_path / "v2", "csv", split_rows(("train",), count=5))),
        repo_id=repo_id,
        repo_type="dataset",
    ).oid
    new = _processed(server, repo_id, second)
    assert [s["num_rows"] for s in new["splits"]] == [5]
    assert _status(server, repo_id, first)["splits"] == old["splits"]  # the old revision's cache is intact
    (old_shard,) = old["splits"][0]["shards"]
    (new_shard,) = new["splits"][0]["shards"]
    assert old_shard["commit"] != new_shard["commit"]
    old_file = api.hf_hub_download(
        repo_id, old_shard["filename"], repo_type="dataset", revision=old_shard["commit"], cache_dir=str(tmp_path / "c")
    )
    assert pq.read_table(old_file).to_pylist() == table_rows("train", count=3)
    assert api.list_repo_refs(repo_id, repo_type="dataset").converts[0].ref == PARQUET_REF
    # Queuing the steps again (an operator's command) is idempotent: nothing is recomputed.
    assert server.cli("viewer", "process", repo_id).stdout.strip() == second
    assert _processed(server, repo_id, second)["splits"] == new["splits"]
