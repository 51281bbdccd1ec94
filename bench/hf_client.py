"""The real ``huggingface_hub`` client, run in its own process by core_transfer.py.

    python bench/hf_client.py upload   REPO_ID LOCAL_FILE PATH_IN_REPO
    python bench/hf_client.py download REPO_ID FILENAME CACHE_DIR
    python bench/hf_client.py snapshot REPO_ID CACHE_DIR

The endpoint and token come from HF_ENDPOINT / HF_TOKEN (read by the client at import), and the
transport switches (HF_HUB_DISABLE_XET=1) from the environment the caller sets. The time reported
is from the call to its return: interpreter start and imports are not counted. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download, snapshot_download


def upload(repo_id: str, local: str, path_in_repo: str) -> dict[str, object]:
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
    start = time.perf_counter()
    info = api.upload_file(path_or_fileobj=local, path_in_repo=path_in_repo, repo_id=repo_id)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "bytes": Path(local).stat().st_size, "commit": info.oid}


def download(repo_id: str, filename: str, cache_dir: str) -> dict[str, object]:
    start = time.perf_counter()
    path = hf_hub_download(
        repo_id, filename, cache_dir=cache_dir, endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"]
    )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "bytes": Path(path).stat().st_size}


def snapshot(repo_id: str, cache_dir: str) -> dict[str, object]:
    start = time.perf_counter()
    folder = snapshot_download(
        repo_id, cache_dir=cache_dir, endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"]
    )
    seconds = time.perf_counter() - start
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    return {"seconds": seconds, "files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def main() -> None:
    action, *args = sys.argv[1:]
    actions = {"upload": upload, "download": download, "snapshot": snapshot}
    result = actions[action](*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
