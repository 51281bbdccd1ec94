"""The shortest path a newcomer takes: log in, create a repo, upload, download."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download


def test_upload_then_download_a_config(api: HfApi, repo_name: str, cache_dir: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b'{"hidden_size": 8}', path_in_repo="config.json", repo_id=repo_id)

    path = hf_hub_download(repo_id, "config.json", cache_dir=cache_dir)

    assert Path(path).read_bytes() == b'{"hidden_size": 8}'
