"""The real ``huggingface_hub`` client with hf_xet on (the default), run in its own process by
xet_dedup.py, recording what hf_xet itself reports about the transfer.

    python bench/xet_client.py upload   REPO_ID LOCAL_FILE PATH_IN_REPO
    python bench/xet_client.py download REPO_ID FILENAME CACHE_DIR

Endpoint, token and switches (HF_HUB_DISABLE_XET, HF_HOME) come from the environment the caller
sets. The calls are the ordinary ``HfApi.upload_file`` / ``hf_hub_download``; the only addition is
a thin wrapper around the global ``hf_xet.XetSession`` that keeps the report hf_xet returns when
an upload commit or a download group finishes (``XetCommitReport.dedup_metrics``: new bytes,
deduplicated bytes, xorb and shard bytes uploaded; the group's progress: bytes received). Nothing
about the transfer itself is changed. The time is from the call to its return, and so is the CPU
(user + system, all threads). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPORTS: list[dict[str, Any]] = []

DEDUP_FIELDS = (
    "total_bytes",
    "new_bytes",
    "deduped_bytes",
    "deduped_bytes_by_global_dedup",
    "defrag_prevented_dedup_bytes",
    "total_chunks",
    "new_chunks",
    "deduped_chunks",
    "deduped_chunks_by_global_dedup",
    "xorb_bytes_uploaded",
    "shard_bytes_uploaded",
    "total_bytes_uploaded",
)
PROGRESS_FIELDS = ("total_bytes", "total_bytes_completed", "total_transfer_bytes", "total_transfer_bytes_completed")


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name, None) for name in names}


def _progress(obj: Any) -> dict[str, Any] | None:
    progress = getattr(obj, "progress", None)
    if callable(progress):
        progress = progress()
    return _fields(progress, PROGRESS_FIELDS) if progress is not None else None


class _Group:
    """Context manager around an upload commit / download group: finishes it itself (the report
    ``wait_to_finish`` returns is what the real ``__exit__`` would throw away) and keeps the report."""

    def __init__(self, inner: Any, kind: str) -> None:
        self._inner, self._kind = inner, kind

    def __enter__(self) -> Any:
        return self._inner.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        if exc_type is not None:
            return self._inner.__exit__(exc_type, exc, tb)
        report = self._inner.wait_to_finish()
        entry: dict[str, Any] = {"kind": self._kind, "progress": _progress(report)}
        metrics = getattr(report, "dedup_metrics", None)
        if metrics is not None:
            entry["dedup"] = _fields(metrics, DEDUP_FIELDS)
        REPORTS.append(entry)
        return False


class _Session:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def new_upload_commit(self, *args: Any, **kwargs: Any) -> _Group:
        return _Group(self._inner.new_upload_commit(*args, **kwargs), "upload")

    def new_file_download_group(self, *args: Any, **kwargs: Any) -> _Group:
        return _Group(self._inner.new_file_download_group(*args, **kwargs), "download")


def _record_xet_reports() -> None:
    from huggingface_hub.utils import _xet

    original = _xet.get_xet_session
    _xet.get_xet_session = lambda: _Session(original())  # imported from here inside each call


def _cpu() -> float:
    """CPU seconds (user + system) of this process, all its threads (hf_xet's Rust runtime included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def upload(repo_id: str, local: str, path_in_repo: str) -> dict[str, object]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
    start, cpu = time.perf_counter(), _cpu()
    info = api.upload_file(path_or_fileobj=local, path_in_repo=path_in_repo, repo_id=repo_id)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": _cpu() - cpu,
        "bytes": Path(local).stat().st_size,
        "commit": info.oid,
        "xet": REPORTS,
    }


def download(repo_id: str, filename: str, cache_dir: str) -> dict[str, object]:
    from huggingface_hub import hf_hub_download

    start, cpu = time.perf_counter(), _cpu()
    path = hf_hub_download(
        repo_id, filename, cache_dir=cache_dir, endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"]
    )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": _cpu() - cpu, "bytes": Path(path).stat().st_size, "xet": REPORTS}


def main() -> None:
    action, *args = sys.argv[1:]
    _record_xet_reports()
    result = upload(*args) if action == "upload" else download(*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
