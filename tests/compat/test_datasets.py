"""datasets against Dockyard: push_to_hub / load_dataset, raw files with inferred splits,
``data_files=``, streaming, and private datasets. Rows are compared with what was uploaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import HfApi

from tests.support.accounts import Identities
from tests.support.factories import dataset_folder, split_rows, table_rows, write_jsonl

FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["calm", "stormy"]), "score": Value("float64")})


def local_dataset(split: str) -> Dataset:
    return Dataset.from_list(table_rows(split), features=FEATURES)


def test_dataset_push_to_hub_then_load_dataset(api: HfApi, repo_name: str, transfer: str, cache_dir: Path) -> None:
    repo_id = f"alice/{repo_name}"
    original = local_dataset("train")
    original.push_to_hub(repo_id)

    loaded = load_dataset(repo_id, split="train", cache_dir=str(cache_dir))

    assert loaded.features == original.features
    assert loaded.to_list() == original.to_list()
    files = api.list_repo_files(repo_id, repo_type="dataset")
    assert "README.md" in files
    assert any(path.startswith("data/train-") and path.endswith(".parquet") for path in files)


def test_dataset_dict_push_to_hub_keeps_its_splits(api: HfApi, repo_name: str, cache_dir: Path) -> None:
    repo_id = f"alice/{repo_name}"
    original = DatasetDict({split: local_dataset(split) for split in ("train", "test")})
    original.push_to_hub(repo_id)

    loaded = load_dataset(repo_id, cache_dir=str(cache_dir))

    assert set(loaded) == {"train", "test"}
    for split in ("train", "test"):
        assert loaded[split].features == original[split].features
        assert loaded[split].to_list() == original[split].to_list()
    card = api.dataset_info(repo_id).card_data
    assert card is not None
    assert {split["name"] for split in card["dataset_info"]["splits"]} == {"train", "test"}


def test_pushing_again_replaces_the_data_and_old_commits_stay_loadable(
    api: HfApi, repo_name: str, cache_dir: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    first = local_dataset("train")
    first_commit = first.push_to_hub(repo_id)
    second = Dataset.from_list(table_rows("test", count=3), features=FEATURES)
    second.push_to_hub(repo_id, split="train", commit_message="fewer rows")

    assert load_dataset(repo_id, split="train", cache_dir=str(cache_dir)).to_list() == second.to_list()
    pinned = load_dataset(repo_id, split="train", revision=first_commit.oid, cache_dir=str(cache_dir))
    assert pinned.to_list() == first.to_list()
    parquet_files = [path for path in api.list_repo_files(repo_id, repo_type="dataset") if path.endswith(".parquet")]
    assert len(parquet_files) == 1
    card = api.dataset_info(repo_id).card_data
    assert card is not None
    assert card["dataset_info"]["splits"][0]["num_examples"] == len(second)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_load_dataset_infers_splits_from_uploaded_file_names(
    api: HfApi, repo_name: str, fmt: str, tmp_path: Path, cache_dir: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    rows = split_rows()
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_folder(folder_path=dataset_folder(tmp_path / "upload", fmt, rows), repo_id=repo_id, repo_type="dataset")

    loaded = load_dataset(repo_id, cache_dir=str(cache_dir))

    assert set(loaded) == {"train", "test"}
    assert loaded["train"].to_list() == rows["train"]
    assert loaded["test"].to_list() == rows["test"]
    assert loaded["train"].column_names == ["text", "label", "score"]


def test_load_dataset_with_explicit_data_files(api: HfApi, repo_name: str, tmp_path: Path, cache_dir: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type="dataset")
    rows = split_rows(("train", "test"), count=4)
    for name, split in (("first", "train"), ("second", "test")):
        api.upload_file(
            path_or_fileobj=write_jsonl(tmp_path / f"{name}.jsonl", rows[split]),
            path_in_repo=f"raw/{name}.jsonl",
            repo_id=repo_id,
            repo_type="dataset",
        )

    by_split = load_dataset(
        repo_id,
        data_files={"train": "raw/first.jsonl", "validation": "raw/second.jsonl"},
        cache_dir=str(cache_dir),
    )
    assert set(by_split) == {"train", "validation"}
    assert by_split["train"].to_list() == rows["train"]
    assert by_split["validation"].to_list() == rows["test"]

    globbed = load_dataset(repo_id, data_files="raw/*.jsonl", split="train", cache_dir=str(cache_dir))
    assert sorted(globbed["text"]) == sorted(row["text"] for row in rows["train"] + rows["test"])


def test_streaming_yields_the_same_rows(api: HfApi, repo_name: str, tmp_path: Path, cache_dir: Path) -> None:
    csv_repo, pushed_repo = f"alice/{repo_name}-csv", f"alice/{repo_name}-pushed"
    rows = split_rows()
    api.create_repo(csv_repo, repo_type="dataset")
    api.upload_folder(folder_path=dataset_folder(tmp_path / "csv", "csv", rows), repo_id=csv_repo, repo_type="dataset")
    pushed = DatasetDict({split: local_dataset(split) for split in ("train", "test")})
    pushed.push_to_hub(pushed_repo)

    streamed_csv = load_dataset(csv_repo, split="test", streaming=True, cache_dir=str(cache_dir))
    assert list(streamed_csv) == rows["test"]
    streamed_pushed = load_dataset(pushed_repo, streaming=True, cache_dir=str(cache_dir))
    assert set(streamed_pushed) == {"train", "test"}
    assert list(streamed_pushed["train"]) == pushed["train"].to_list()
    assert list(streamed_pushed["test"].take(2)) == pushed["test"].to_list()[:2]


def test_private_dataset_needs_the_token(
    repo_name: str, ids: Identities, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_id = f"alice/{repo_name}"
    original = local_dataset("train")
    original.push_to_hub(repo_id, private=True, token=ids.alice)
    monkeypatch.delenv("HF_TOKEN", raising=False)

    def load(**kwargs: Any) -> Dataset:
        return load_dataset(repo_id, split="train", cache_dir=str(cache_dir), **kwargs)

    with pytest.raises(DatasetNotFoundError):
        load()
    with pytest.raises(DatasetNotFoundError):
        load(token=ids.bob)
    assert load(token=ids.alice).to_list() == original.to_list()
    assert list(load(token=ids.alice_read, streaming=True).take(3)) == original.to_list()[:3]
