"""Uploaded pickles are scanned in the background, never loaded; the client sees the verdicts."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch
from huggingface_hub import HfApi, RepoFile

from tests.support.waiting import wait_until


class _Exploit:
    """Pickles to ``os.system("touch <marker>")`` — the scanner must flag it without running it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        import os

        return (os.system, (f"touch {self.marker}",))


def _statuses(api: HfApi, repo_id: str) -> dict[str, str]:
    return {
        entry.path: entry.security.status if entry.security else "none"  # type: ignore[union-attr]
        for entry in api.list_repo_tree(repo_id, expand=True)
        if isinstance(entry, RepoFile)
    }


def test_pickles_are_flagged_and_checkpoints_are_not(api: HfApi, repo_name: str, tmp_path: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    marker = tmp_path / "pwned"
    checkpoint = io.BytesIO()
    torch.save(torch.nn.Linear(4, 2).state_dict(), checkpoint)
    api.upload_file(path_or_fileobj=pickle.dumps(_Exploit(marker)), path_in_repo="evil.pkl", repo_id=repo_id)
    api.upload_file(path_or_fileobj=checkpoint.getvalue(), path_in_repo="pytorch_model.bin", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo_id)

    assert wait_until(lambda: "queued" not in _statuses(api, repo_id).values(), timeout=30)
    statuses = _statuses(api, repo_id)
    assert statuses["evil.pkl"] == "unsafe"
    assert statuses["pytorch_model.bin"] == "safe"
    evil = next(e for e in api.list_repo_tree(repo_id, expand=True) if e.path == "evil.pkl")
    imports = evil.security.pickle_import_scan["imports"]  # type: ignore[union-attr]
    assert {(i["module"], i["name"], i["safety"]) for i in imports} == {("posix", "system", "dangerous")}

    report = api.model_info(repo_id, securityStatus=True).security_repo_status
    assert report is not None
    assert report["scansDone"] is True
    assert [(f["path"], f["level"]) for f in report["filesWithIssues"]] == [("evil.pkl", "unsafe")]
    assert not marker.exists()  # nothing was ever unpickled
