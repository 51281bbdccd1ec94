"""Commits: upload_file/upload_folder/delete/copy through the NDJSON commit endpoint and LFS."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
)
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

from tests.compat.conftest import MULTIPART_THRESHOLD


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_commit_message_description_and_author(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    info = api.upload_file(
        path_or_fileobj=b"# Title\n",
        path_in_repo="README.md",
        repo_id=repo_id,
        commit_message="Add the card",
        commit_description="With a longer explanation.",
    )
    assert info.commit_url.endswith(f"/alice/{repo_name}/commit/{info.oid}")
    latest = api.list_repo_commits(repo_id)[0]
    assert (latest.commit_id, latest.title, latest.message) == (
        info.oid,
        "Add the card",
        "With a longer explanation.",
    )
    assert latest.authors == ["alice"]


def test_upload_folder_with_hundreds_of_files_is_one_commit(
    api: HfApi, repo_name: str, tmp_path: Path, lfs_transfer: None
) -> None:
    """Without hf_xet the client sends one commit (with it, it batches ~250 files per commit)."""
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    for index in range(300):
        path = tmp_path / f"shard-{index // 50}" / f"file-{index:03d}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"content {index}\n")
    before = len(api.list_repo_commits(repo_id))

    api.upload_folder(folder_path=tmp_path, repo_id=repo_id, commit_message="300 files")

    files = api.list_repo_files(repo_id)
    assert len([f for f in files if f.startswith("shard-")]) == 300
    assert len(api.list_repo_commits(repo_id)) == before + 1
    assert Path(hf_hub_download(repo_id, "shard-5/file-299.txt")).read_text() == "content 299\n"


def test_delete_file_folder_and_patterns(api: HfApi, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("a")
    (tmp_path / "logs" / "b.log").write_text("b")
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "drop.txt").write_text("drop")
    api.upload_folder(folder_path=tmp_path, repo_id=repo_id)

    api.delete_file("drop.txt", repo_id)
    api.delete_folder("logs", repo_id)
    assert api.list_repo_files(repo_id) == [".gitattributes", "keep.txt"]
    with pytest.raises(EntryNotFoundError):
        api.delete_file("drop.txt", repo_id)

    (tmp_path / "new.txt").write_text("new")
    api.upload_folder(folder_path=tmp_path, repo_id=repo_id, allow_patterns=["new.txt"], delete_patterns=["keep.txt"])
    assert api.list_repo_files(repo_id) == [".gitattributes", "new.txt"]


def test_create_commit_with_copy_delete_and_add(api: HfApi, repo_name: str, lfs_transfer: None) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    weights = os.urandom(300_000)
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("dir/f1.txt", b"one"),
            CommitOperationAdd("dir/model.safetensors", io.BytesIO(weights)),
        ],
        commit_message="first",
    )
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationCopy("dir/f1.txt", "copy/f1.txt"),
            CommitOperationCopy("dir/model.safetensors", "copy/model.safetensors"),
            CommitOperationDelete("dir/"),
            CommitOperationAdd("extra.txt", b"extra"),
        ],
        commit_message="copy, delete and add",
    )
    assert sorted(api.list_repo_files(repo_id)) == [
        ".gitattributes",
        "copy/f1.txt",
        "copy/model.safetensors",
        "extra.txt",
    ]
    copied = hf_hub_download(repo_id, "copy/model.safetensors")
    assert Path(copied).read_bytes() == weights
    entry = api.get_paths_info(repo_id, ["copy/model.safetensors"])[0]
    assert entry.lfs is not None
    assert entry.lfs.sha256 == hashlib.sha256(weights).hexdigest()


def test_stale_parent_commit_is_refused_and_nothing_lost(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    parent = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=b"first", path_in_repo="a.txt", repo_id=repo_id, parent_commit=parent)
    head = api.model_info(repo_id).sha

    with pytest.raises(HfHubHTTPError) as error:
        api.upload_file(path_or_fileobj=b"second", path_in_repo="b.txt", repo_id=repo_id, parent_commit=parent)
    assert error.value.response.status_code == 412

    assert api.model_info(repo_id).sha == head
    assert api.list_repo_files(repo_id) == [".gitattributes", "a.txt"]


def test_lfs_basic_upload_verify_and_download(api: HfApi, repo_name: str, lfs_transfer: None, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    source = tmp_path / "model.safetensors"
    source.write_bytes(os.urandom(1_500_000))

    api.upload_file(path_or_fileobj=source, path_in_repo="model.safetensors", repo_id=repo_id)

    entry = api.get_paths_info(repo_id, ["model.safetensors"])[0]
    assert entry.lfs is not None
    assert (entry.lfs.sha256, entry.size) == (_sha256(source), 1_500_000)
    assert _sha256(hf_hub_download(repo_id, "model.safetensors")) == _sha256(source)


def test_lfs_multipart_upload(api: HfApi, repo_name: str, lfs_transfer: None, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(MULTIPART_THRESHOLD + 3_000_001))  # three parts

    api.upload_file(path_or_fileobj=source, path_in_repo="big.bin", repo_id=repo_id)

    assert _sha256(hf_hub_download(repo_id, "big.bin")) == _sha256(source)


def test_files_over_10mb_or_matching_patterns_are_stored_as_lfs(api: HfApi, repo_name: str, lfs_transfer: None) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    big_text = b"x" * (10 * 1024 * 1024 + 1)
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("notes.txt", big_text),
            CommitOperationAdd("tiny.bin", b"\x00\x01"),
            CommitOperationAdd("small.txt", b"small"),
        ],
        commit_message="mixed",
    )
    entries = {e.path: e for e in api.get_paths_info(repo_id, ["notes.txt", "tiny.bin", "small.txt"])}
    assert entries["notes.txt"].lfs is not None
    assert entries["tiny.bin"].lfs is not None
    assert entries["small.txt"].lfs is None
    assert Path(hf_hub_download(repo_id, "notes.txt")).read_bytes() == big_text


def test_pull_request_commit(api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    info = api.upload_file(path_or_fileobj=b"proposal", path_in_repo="pr.txt", repo_id=repo_id, create_pr=True)
    assert info.pr_num == 1
    assert info.pr_revision == "refs/pr/1"
    assert "pr.txt" not in api.list_repo_files(repo_id)
    assert "pr.txt" in api.list_repo_files(repo_id, revision="refs/pr/1")
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [pr.ref for pr in refs.pull_requests] == ["refs/pr/1"]
    assert Path(hf_hub_download(repo_id, "pr.txt", revision="refs/pr/1")).read_bytes() == b"proposal"


def test_list_lfs_files(api: HfApi, repo_name: str, lfs_transfer: None) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    content = os.urandom(100_000)
    api.upload_file(path_or_fileobj=io.BytesIO(content), path_in_repo="weights/w.bin", repo_id=repo_id)
    files = list(api.list_lfs_files(repo_id))
    assert [(f.filename, f.file_oid, f.size, f.ref) for f in files] == [
        ("weights/w.bin", hashlib.sha256(content).hexdigest(), 100_000, "refs/heads/main")
    ]
