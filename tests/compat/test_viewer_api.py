"""The dataset viewer API (issue 13, part 2) against the live server, with datasets pushed by the
real ``datasets`` library: every route's shape and content checked against the pushed rows,
search and filter against answers computed from the same rows, a private dataset invisible on
every route, and a new commit leaving the old revision's answers as they were."""

from __future__ import annotations

import io
import json
import statistics as pystats
import struct
import wave
import zlib
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from huggingface_hub import HfApi

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["calm", "stormy"]), "score": Value("float64")})
WORDS = ["harbour", "anchor", "gale", "tide", "beacon"]
ROUTES = ("is-valid", "splits", "first-rows", "rows", "search", "filter", "parquet", "info", "size", "statistics",
          "croissant")  # fmt: skip
TIMEOUT = 180.0


def _rows(split: str, count: int, tag: str = "") -> list[dict[str, Any]]:
    return [
        {
            "text": f"{tag}{split} row {i} {WORDS[i % 5]} {WORDS[(i * 3) % 5]}" + " long" * (i % 4),
            "label": i % 2,
            "score": round((i * 37 % 101) / 7, 3),
        }
        for i in range(count)
    ]


def _get(server: LiveServer, token: str | None, route: str, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/api/viewer/{route}", params=params, headers=headers, timeout=60)


def _push(repo_id: str, splits: dict[str, list[dict[str, Any]]], token: str, private: bool = False) -> str:
    data = DatasetDict({name: Dataset.from_list(rows, features=FEATURES) for name, rows in splits.items()})
    data.push_to_hub(repo_id, token=token, private=private)
    sha = HfApi(token=token).dataset_info(repo_id).sha
    assert sha is not None
    return sha


def _wait_statistics(server: LiveServer, token: str, repo_id: str, splits: list[str], revision: str) -> None:
    """The statistics step runs last: once every split has statistics, every step has run."""

    def ready() -> bool:
        return all(
            _get(server, token, "statistics", dataset=repo_id, config="default", split=s, revision=revision).status_code
            == 200
            for s in splits
        )

    assert wait_until(ready, timeout=TIMEOUT, poll=0.5)


@pytest.fixture(scope="module")
def pushed(server: LiveServer, ids: Identities) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    import uuid

    repo_id = f"alice/viewer-{uuid.uuid4().hex[:8]}"
    splits = {"train": _rows("train", 250), "test": _rows("test", 30)}
    sha = _push(repo_id, splits, ids.alice)
    _wait_statistics(server, ids.alice, repo_id, list(splits), sha)
    return repo_id, splits


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["row"] for r in rows]


def test_is_valid_splits_and_first_rows(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, splits = pushed
    valid = _get(server, ids.alice, "is-valid", dataset=repo_id).json()
    assert valid == {"preview": True, "viewer": True, "search": True, "filter": True, "statistics": True}
    listed = _get(server, ids.alice, "splits", dataset=repo_id).json()["splits"]
    assert {(s["dataset"], s["config"], s["split"]) for s in listed} == {
        (repo_id, "default", "train"),
        (repo_id, "default", "test"),
    }
    first = _get(server, ids.alice, "first-rows", dataset=repo_id, config="default", split="train").json()
    assert [f["name"] for f in first["features"]] == ["text", "label", "score"]
    assert first["features"][1] == {
        "feature_idx": 1,
        "name": "label",
        "type": FEATURES.to_dict()["label"],
    }
    assert _plain(first["rows"]) == splits["train"][:100]
    assert [r["row_idx"] for r in first["rows"]] == list(range(100))
    assert first["truncated"] is True


def test_rows_pages(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, splits = pushed
    page = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", offset=120, length=30)
    body = page.json()
    assert _plain(body["rows"]) == splits["train"][120:150]
    assert body["rows"][0]["row_idx"] == 120
    assert body["num_rows_total"] == 250
    assert body["num_rows_per_page"] == 100
    assert body["partial"] is False
    tail = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", offset=240).json()
    assert _plain(tail["rows"]) == splits["train"][240:]
    too_long = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", length=101)
    assert too_long.status_code == 422
    assert too_long.headers["x-error-code"] == "InvalidParameter"
    missing = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="nope")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "ResponseNotFound"


def test_search_and_filter_match_the_rows(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, splits = pushed
    train = splits["train"]
    found = _get(server, ids.alice, "search", dataset=repo_id, config="default", split="train", query="GALE long",
                 offset=2, length=10).json()  # fmt: skip
    expected = [i for i, r in enumerate(train) if "gale" in r["text"] and "long" in r["text"]]
    assert found["num_rows_total"] == len(expected)
    assert [r["row_idx"] for r in found["rows"]] == expected[2:12]
    assert _plain(found["rows"]) == [train[i] for i in expected[2:12]]

    where, orderby = "label = 1 AND score > 5", "score DESC"
    filtered = _get(server, ids.alice, "filter", dataset=repo_id, config="default", split="train", where=where,
                    orderby=orderby, length=20).json()  # fmt: skip
    matching = sorted((i for i, r in enumerate(train) if r["label"] == 1 and r["score"] > 5),
                      key=lambda i: (-train[i]["score"], i))  # fmt: skip
    assert filtered["num_rows_total"] == len(matching)
    assert [r["row_idx"] for r in filtered["rows"]] == matching[:20]


@pytest.mark.parametrize(
    "where", ["label = 1; DROP TABLE x", "label = 1 OR 1=1 --", "nope = 1", "label = (SELECT 1)", "text = text"]
)
def test_filter_refuses_what_it_cannot_check(server: LiveServer, ids: Identities, pushed: Any, where: str) -> None:
    repo_id, _ = pushed
    answer = _get(server, ids.alice, "filter", dataset=repo_id, config="default", split="train", where=where)
    assert answer.status_code == 400
    assert answer.headers["x-error-code"] == "InvalidParameter"


def test_parquet_info_size(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, _ = pushed
    files = _get(server, ids.alice, "parquet", dataset=repo_id).json()["parquet_files"]
    assert {(f["config"], f["split"]) for f in files} == {("default", "train"), ("default", "test")}
    train = next(f for f in files if f["split"] == "train")
    shard = httpx.get(train["url"], headers={"Authorization": f"Bearer {ids.alice}"}, follow_redirects=True)
    assert shard.status_code == 200
    assert len(shard.content) == train["size"]
    info = _get(server, ids.alice, "info", dataset=repo_id, config="default").json()["dataset_info"]
    assert Features.from_dict(info["features"]) == FEATURES
    assert {name: s["num_examples"] for name, s in info["splits"].items()} == {"train": 250, "test": 30}
    size = _get(server, ids.alice, "size", dataset=repo_id).json()["size"]
    assert size["dataset"]["num_rows"] == 280
    assert {s["split"]: s["num_rows"] for s in size["splits"]} == {"train": 250, "test": 30}
    assert size["dataset"]["num_bytes_parquet_files"] == sum(f["size"] for f in files)


def test_statistics_over_the_whole_split(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, splits = pushed
    train = splits["train"]
    body = _get(server, ids.alice, "statistics", dataset=repo_id, config="default", split="train").json()
    assert body["num_examples"] == 250
    columns = {s["column_name"]: s for s in body["statistics"]}
    label = columns["label"]
    assert label["column_type"] == "class_label"
    names = FEATURES["label"].names
    assert label["column_statistics"]["frequencies"] == {
        names[k]: sum(1 for r in train if r["label"] == k) for k in (0, 1)
    }
    score = columns["score"]["column_statistics"]
    values = [r["score"] for r in train]
    assert columns["score"]["column_type"] == "float"
    assert (score["min"], score["max"]) == (min(values), max(values))
    assert score["mean"] == pytest.approx(pystats.mean(values), abs=1e-4)
    assert score["median"] == pytest.approx(pystats.median(values), abs=1e-4)
    assert sum(score["histogram"]["hist"]) == 250
    text = columns["text"]
    assert text["column_type"] == "string_text"
    lengths = [len(r["text"]) for r in train]
    assert (text["column_statistics"]["min"], text["column_statistics"]["max"]) == (min(lengths), max(lengths))


def test_croissant(server: LiveServer, ids: Identities, pushed: Any) -> None:
    repo_id, _ = pushed
    answer = _get(server, ids.alice, "croissant", dataset=repo_id)
    assert answer.headers["content-type"].startswith("application/ld+json")
    body = answer.json()
    assert body["@type"] == "sc:Dataset"
    (record,) = body["recordSet"]
    assert [f["source"]["extract"]["column"] for f in record["field"]] == ["text", "label", "score"]
    assert {f["dataType"] for f in record["field"]} == {"sc:Text", "sc:Integer", "sc:Float"}


def test_private_dataset_is_invisible_on_every_route(server: LiveServer, ids: Identities, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    sha = _push(repo_id, {"train": _rows("train", 12, tag="secretive ")}, ids.alice, private=True)
    _wait_statistics(server, ids.alice, repo_id, ["train"], sha)
    params = {"dataset": repo_id, "config": "default", "split": "train", "query": "row", "where": "label = 1"}
    for route in ROUTES:
        assert _get(server, ids.alice, route, **params).status_code == 200, route
        for token in (None, ids.bob):
            answer = _get(server, token, route, **params)
            assert answer.status_code in (401, 404), (route, answer.status_code)
            assert answer.headers.get("x-error-code") in ("RepoNotFound", None)
            assert "secretive" not in answer.text
            assert sha not in answer.text


def test_new_commit_leaves_the_old_revision_intact(server: LiveServer, ids: Identities, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    first = _push(repo_id, {"train": _rows("train", 40, tag="old ")}, ids.alice)
    _wait_statistics(server, ids.alice, repo_id, ["train"], first)
    before = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", revision=first).json()
    second = _push(repo_id, {"train": _rows("train", 55, tag="new ")}, ids.alice)
    assert second != first
    _wait_statistics(server, ids.alice, repo_id, ["train"], second)
    now = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train").json()
    assert now["num_rows_total"] == 55
    assert now["rows"][0]["row"]["text"].startswith("new ")
    again = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", revision=first).json()
    assert again == before
    assert again["num_rows_total"] == 40
    old_stats = _get(server, ids.alice, "statistics", dataset=repo_id, config="default", split="train", revision=first)
    assert old_stats.json()["num_examples"] == 40


def _png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _wav(frames: int, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * frames)
    return out.getvalue()


MEDIA = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # how datasets stores Image and Audio


def test_images_and_audio_come_back_as_signed_urls(server: LiveServer, ids: Identities, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    images = [_png(10 + i, 20 + i) for i in range(8)]
    sounds = [_wav(800 * (i + 1)) for i in range(8)]
    features = {"image": {"_type": "Image"}, "audio": {"_type": "Audio"}, "n": {"dtype": "int64", "_type": "Value"}}
    table = pa.table(
        {
            "image": pa.array([{"bytes": b, "path": None} for b in images], MEDIA),
            "audio": pa.array([{"bytes": b, "path": None} for b in sounds], MEDIA),
            "n": list(range(8)),
        }
    ).replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": features}})})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    api = HfApi(token=ids.alice)
    api.create_repo(repo_id, repo_type="dataset", private=True)
    sha = api.upload_file(
        path_or_fileobj=buffer.getvalue(), path_in_repo="data/train-00000-of-00001.parquet", repo_id=repo_id,
        repo_type="dataset",
    ).oid  # fmt: skip
    _wait_statistics(server, ids.alice, repo_id, ["train"], sha)
    first = _get(server, ids.alice, "first-rows", dataset=repo_id, config="default", split="train").json()
    row = first["rows"][5]["row"]
    assert (row["image"]["width"], row["image"]["height"]) == (15, 25)
    picture = httpx.get(row["image"]["src"])  # no credentials: the URL is the grant
    assert picture.status_code == 200
    assert picture.content == images[5]
    assert picture.headers["content-type"] == "image/png"
    (sound,) = row["audio"]
    assert sound["type"] == "audio/wav"
    assert httpx.get(sound["src"]).content == sounds[5]
    forged = sound["src"][:-3] + ("AAA" if not sound["src"].endswith("AAA") else "BBB")
    assert httpx.get(forged).status_code == 401
    stats = _get(server, ids.alice, "statistics", dataset=repo_id, config="default", split="train").json()
    columns = {s["column_name"]: s for s in stats["statistics"]}
    assert columns["image"]["column_type"] == "image"
    assert (columns["image"]["column_statistics"]["min"], columns["image"]["column_statistics"]["max"]) == (10, 17)
    assert columns["audio"]["column_type"] == "audio"
    assert columns["audio"]["column_statistics"]["max"] == pytest.approx(8 * 800 / 8000)


def test_a_malformed_split_answers_its_error_and_the_other_works(
    server: LiveServer, ids: Identities, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api = HfApi(token=ids.alice)
    api.create_repo(repo_id, repo_type="dataset")
    good = "text,label\n" + "".join(f"line {i},{i % 2}\n" for i in range(9))
    bad = 'text,label\n"fine",1\na,b,c,d,e\n"x",0\n'
    api.upload_file(path_or_fileobj=good.encode(), path_in_repo="data/train.csv", repo_id=repo_id, repo_type="dataset")
    sha = api.upload_file(
        path_or_fileobj=bad.encode(), path_in_repo="data/test.csv", repo_id=repo_id, repo_type="dataset"
    ).oid
    _wait_statistics(server, ids.alice, repo_id, ["train"], sha)

    def test_split_settled() -> bool:
        answer = _get(server, ids.alice, "statistics", dataset=repo_id, config="default", split="test")
        return answer.headers.get("x-error-code") != "ResponseNotReady"

    assert wait_until(test_split_settled, timeout=TIMEOUT, poll=0.5)
    for route in ("rows", "first-rows", "search", "filter", "statistics"):
        answer = _get(server, ids.alice, route, dataset=repo_id, config="default", split="test", query="x",
                      where="label = 1")  # fmt: skip
        assert answer.status_code == 500, route
        assert answer.headers["x-error-code"] == "FileFormatError", route
    rows = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train").json()
    assert [r["row"]["text"] for r in rows["rows"]] == [f"line {i}" for i in range(9)]
    parquet = _get(server, ids.alice, "parquet", dataset=repo_id).json()
    assert [f["split"] for f in parquet["parquet_files"]] == ["train"]
    assert [(f["split"], bool(f["error"])) for f in parquet["failed"]] == [("test", True)]
    for route in ("info", "size"):
        answer = _get(server, ids.alice, route, dataset=repo_id).json()
        assert [(f["split"], bool(f["error"])) for f in answer["failed"]] == [("test", True)], route
        assert answer["pending"] == [], route
    info = _get(server, ids.alice, "info", dataset=repo_id).json()["dataset_info"]
    assert list(info["default"]["splits"]) == ["train"]


def test_first_rows_of_long_documents_fit_the_preview_budget(server: LiveServer, ids: Identities) -> None:
    """Sixty 60 KB documents (3.6 MB): ``/first-rows`` stays under the Hub's 1 MB, listing each
    cut cell in ``truncated_cells``; ``/rows`` still gives the whole documents."""
    import uuid

    repo_id = f"alice/viewer-long-{uuid.uuid4().hex[:8]}"
    documents = [
        {"text": f"document {i} " + WORDS[i % 5] * (60_000 // len(WORDS[i % 5])), "label": i % 2, "score": float(i)}
        for i in range(60)
    ]
    sha = _push(repo_id, {"train": documents}, ids.alice)
    _wait_statistics(server, ids.alice, repo_id, ["train"], sha)

    answer = _get(server, ids.alice, "first-rows", dataset=repo_id, config="default", split="train")
    assert answer.status_code == 200, answer.text
    assert len(answer.content) < 1_100_000
    first = answer.json()
    assert first["truncated"] is (len(first["rows"]) < len(documents))
    assert [item["row_idx"] for item in first["rows"]] == list(range(len(first["rows"])))
    assert all(item["truncated_cells"] == ["text"] for item in first["rows"][:10])
    for item in first["rows"]:
        wanted = documents[item["row_idx"]]
        if item["truncated_cells"]:
            assert wanted["text"].startswith(item["row"]["text"])
            assert len(item["row"]["text"]) == 100
        else:
            assert item["row"]["text"] == wanted["text"]
        assert (item["row"]["label"], item["row"]["score"]) == (wanted["label"], wanted["score"])

    whole = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", offset=0, length=5)
    assert [item["row"]["text"] for item in whole.json()["rows"]] == [d["text"] for d in documents[:5]]
    assert all(item["truncated_cells"] == [] for item in whole.json()["rows"])


def test_an_older_export_finishing_last_leaves_the_ref_on_the_head(server: LiveServer, ids: Identities) -> None:
    """Two workers: the head's export lands, then an older revision's (redone here through
    ``dockyard viewer process --redo``). ``refs/convert/parquet`` ends with the head's files again,
    and the older revision's answers still read its own export."""
    import uuid

    repo_id = f"alice/viewer-order-{uuid.uuid4().hex[:8]}"
    api = HfApi(token=ids.alice)
    old = _push(repo_id, {"train": _rows("train", 40)}, ids.alice)
    _wait_statistics(server, ids.alice, repo_id, ["train"], old)
    new = _push(repo_id, {"train": _rows("train", 40, tag="v2 "), "test": _rows("test", 7)}, ids.alice)
    _wait_statistics(server, ids.alice, repo_id, ["train", "test"], new)

    def export() -> tuple[list[str], int]:
        files = api.list_repo_files(repo_id, repo_type="dataset", revision="refs/convert/parquet")
        commits = api.list_repo_commits(repo_id, repo_type="dataset", revision="refs/convert/parquet")
        return sorted(f for f in files if f.endswith(".parquet")), len(commits)

    head_files, commits_before = export()
    assert any(f.startswith("default/test/") for f in head_files)

    server.cli("viewer", "process", repo_id, "--revision", old, "--redo", "convert-parquet")
    assert wait_until(lambda: export()[1] == commits_before + 2, timeout=TIMEOUT, poll=0.5)  # old's, then the head's
    assert export()[0] == head_files
    top = api.list_repo_commits(repo_id, repo_type="dataset", revision="refs/convert/parquet")[0]
    assert new in (top.message or "")

    rows_old = _get(server, ids.alice, "rows", dataset=repo_id, config="default", split="train", revision=old)
    assert _plain(rows_old.json()["rows"])[0]["text"] == _rows("train", 40)[0]["text"]
