"""Scanning a commit on a real hub: results keyed by content, read back in the Hub's shapes."""

from __future__ import annotations

import json
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.accounts import service as accounts
from dockyard.auth.identity import Caller
from dockyard.db.base import Base
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.jobs import queue
from dockyard.jobs.worker import Worker
from dockyard.repos import service as repos
from dockyard.repos.importer import commit_files
from dockyard.repos.models import Repo
from dockyard.scanning import models as _models  # noqa: F401  (registers the table on Base.metadata)
from dockyard.scanning import service
from dockyard.scanning.jobs import SCAN_COMMIT
from dockyard.scanning.models import ContentScan
from tests.unit.scanning import corpus


@pytest.fixture
def scan_hub(hub: Hub) -> Hub:
    Base.metadata.create_all(hub.db.engine)  # until the migration for content_scans exists
    return hub


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "payload-ran"
    yield path
    assert not path.exists(), "a payload was executed during scanning"


def make_repo(hub: Hub, name: str) -> tuple[Repo, Caller]:
    with hub.db.write() as session:
        user = accounts.find_account(session, "alice") or accounts.create_user(session, "alice")
        caller = Caller(user=user, role="write")
        repo = repos.create_repo(
            hub, session, caller, repo_type=RepoType.MODEL, organization=None, name=name, private=False
        )
    return repo, caller


def safetensors_bytes() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(8)


def files(marker: Path) -> dict[str, bytes]:
    return {
        "evil.pkl": corpus.payloads(marker)["posix.system"](4),  # LFS by the default .gitattributes
        "model.safetensors": safetensors_bytes(),
        "broken.safetensors": struct.pack("<Q", 999) + b"{}",
        "pytorch_model.bin": corpus.torch_save(corpus.tiny_model().state_dict()),
        "optimizer.dill": pickle.dumps({"lr": 0.1}),  # a regular git blob
        "checkpoint": corpus.torch_zip(corpus.payloads(marker)["builtins.eval"](4)),  # found by magic bytes
        "LICENSE": b"MIT License\n",
        "config.json": b"{}",
    }


def test_a_commit_is_scanned_and_reported_in_the_hub_shapes(scan_hub: Hub, marker: Path) -> None:
    repo, caller = make_repo(scan_hub, "scanned")
    commit = commit_files(scan_hub, repo, caller, files(marker), "upload").commit_id
    git = scan_hub.git.open(repo.uid)

    with scan_hub.db.read() as session:
        before = service.repo_security_status(session, scan_hub, repo, commit)
        queued = service.file_statuses(session, git.iter_files(commit))
    assert before == {"scansDone": False, "filesWithIssues": []}
    assert queued["evil.pkl"]["status"] == "queued"
    assert queued["config.json"]["status"] == "safe"

    summary = service.scan_commit(scan_hub, repo.id, commit)
    assert summary.scanned == {
        "LICENSE": "safe",
        "broken.safetensors": "error",
        "checkpoint": "unsafe",
        "evil.pkl": "unsafe",
        "model.safetensors": "safe",
        "optimizer.dill": "safe",
        "pytorch_model.bin": "safe",
    }

    with scan_hub.db.read() as session:
        statuses = service.file_statuses(session, git.list_tree(commit, recursive=True))
        repo_status = service.repo_security_status(session, scan_hub, repo, commit)

    assert statuses["evil.pkl"] == {
        "status": "unsafe",
        "avScan": {"status": "unscanned", "virusFound": None, "virusNames": None},
        "pickleImportScan": {
            "status": "unsafe",
            "highestSafetyLevel": "dangerous",
            "imports": [{"module": "posix", "name": "system", "safety": "dangerous"}],
        },
        "message": "imports that can run code when loaded",
    }
    torch_scan = statuses["pytorch_model.bin"]["pickleImportScan"]
    assert statuses["pytorch_model.bin"]["status"] == "safe"
    assert torch_scan["highestSafetyLevel"] == "innocuous"
    assert {"module": "torch._utils", "name": "_rebuild_tensor_v2", "safety": "innocuous"} in torch_scan["imports"]
    assert statuses["optimizer.dill"]["pickleImportScan"] == {
        "status": "safe",
        "highestSafetyLevel": "innocuous",
        "imports": [],
    }
    assert statuses["model.safetensors"] == {
        "status": "safe",
        "avScan": {"status": "unscanned", "virusFound": None, "virusNames": None},
        "pickleImportScan": None,
    }
    assert statuses["broken.safetensors"]["status"] == "error"
    assert statuses["config.json"]["pickleImportScan"] is None

    assert repo_status["scansDone"] is True
    assert [(issue["path"], issue["level"]) for issue in repo_status["filesWithIssues"]] == [
        ("broken.safetensors", "error"),
        ("checkpoint", "unsafe"),
        ("evil.pkl", "unsafe"),
    ]
    evil = repo_status["filesWithIssues"][2]
    assert evil["pickleImports"] == [{"module": "posix", "name": "system", "safety": "dangerous"}]


def test_identical_content_is_scanned_once_hub_wide(scan_hub: Hub, marker: Path) -> None:
    repo, caller = make_repo(scan_hub, "first")
    first = commit_files(scan_hub, repo, caller, files(marker), "upload").commit_id
    assert len(service.scan_commit(scan_hub, repo.id, first).scanned) == 7

    again = service.scan_commit(scan_hub, repo.id, first)
    assert again.scanned == {}
    assert sorted(again.skipped) == sorted(f for f in files(marker) if f != "config.json")

    other, _ = make_repo(scan_hub, "second")
    second = commit_files(scan_hub, other, caller, {"copy.pkl": files(marker)["evil.pkl"]}, "same bytes").commit_id
    assert service.scan_commit(scan_hub, other.id, second).skipped == ["copy.pkl"]
    with scan_hub.db.read() as session:
        copied = service.file_statuses(session, scan_hub.git.open(other.uid).iter_files(second))["copy.pkl"]
    assert copied["status"] == "unsafe"


def test_an_outdated_scanner_version_is_scanned_again(scan_hub: Hub, marker: Path) -> None:
    repo, caller = make_repo(scan_hub, "rescan")
    commit = commit_files(scan_hub, repo, caller, {"evil.pkl": files(marker)["evil.pkl"]}, "upload").commit_id
    service.scan_commit(scan_hub, repo.id, commit)
    with scan_hub.db.write() as session:
        for row in session.query(ContentScan):
            row.scanner_version = "0.0.1"
    assert service.scan_commit(scan_hub, repo.id, commit).scanned == {"evil.pkl": "unsafe"}


def test_the_job_scans_the_commit(scan_hub: Hub, marker: Path) -> None:
    repo, caller = make_repo(scan_hub, "by-job")
    commit = commit_files(scan_hub, repo, caller, {"evil.pkl": files(marker)["evil.pkl"]}, "upload").commit_id
    with scan_hub.db.write() as session:
        queue.enqueue(session, SCAN_COMMIT, {"repo_id": repo.id, "commit_id": commit})
    Worker(scan_hub).run_until_idle()
    with scan_hub.db.read() as session:
        assert service.repo_security_status(session, scan_hub, repo, commit)["scansDone"] is True


def test_a_deleted_repo_or_a_vanished_commit_is_nothing_to_scan(scan_hub: Hub) -> None:
    repo, _ = make_repo(scan_hub, "gone")
    assert service.scan_commit(scan_hub, repo.id, "0" * 40).scanned == {}
    assert service.scan_commit(scan_hub, 987_654, "0" * 40).scanned == {}
