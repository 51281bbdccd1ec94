"""A commit that landed is recorded, even when the server dies (or recording fails) right after
its branch moved: the audit event, the scan and the repo's sha catch up after a restart.

The crash tests start their own server with ``DOCKYARD_CRASH_AT`` set, so the process really exits
(``os._exit``) at that step; then a normal server on the same data takes over.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFile

from dockyard import faults
from tests.support.accounts import Identities, issue_token
from tests.support.git import GitClient, repo_url
from tests.support.server import LiveServer, Restart
from tests.support.waiting import wait_until

# A pickle that would run os.system("true") if anyone loaded it: the scanner must call it unsafe.
EVIL_PICKLE = b"cposix\nsystem\n(S'true'\ntR."


def _commit_until_crash(
    server: LiveServer, token: str, content: bytes, path: str, repo_id: str, *, jobs: bool = False
) -> None:
    """Upload with a real client in its own process; the server (or, with ``jobs``, the process
    that runs the jobs: the separate worker where there is one) dies at its crash point."""
    code = f"from huggingface_hub import HfApi; HfApi().upload_file(path_or_fileobj={content!r}, path_in_repo={path!r}, repo_id={repo_id!r})"  # noqa: E501
    env = dict(os.environ, HF_ENDPOINT=server.url, HF_TOKEN=token)
    client = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        crashing = server.worker if jobs and server.worker is not None else server.process
        assert crashing is not None
        assert crashing.wait(timeout=60) == 70, "the server did not reach the crash point"
    finally:
        client.kill()
        client.wait()


def _commit_events(server: LiveServer, repo_id: str, suffix: str) -> list[dict]:  # type: ignore[type-arg]
    return _events(server, repo_id, suffix, "repo.commit")


def _events(server: LiveServer, repo_id: str, suffix: str, action: str) -> list[dict]:  # type: ignore[type-arg]
    """alice's ``action`` audit events on ``repo_id``, read by a hub admin."""
    server.cli("user", "create", f"root-{suffix}", "--admin")
    root = issue_token(server.data_dir, server.env, f"root-{suffix}", "write")
    events = httpx.get(
        f"{server.url}/api/admin/audit",
        params={"actor": "alice", "limit": 500},
        headers={"Authorization": f"Bearer {root}"},
    ).json()
    return [e for e in events if e["target"] == f"model:{repo_id}" and e["action"] == action]


def _security_status(api: HfApi, repo_id: str, path: str) -> str:
    for entry in api.list_repo_tree(repo_id, expand=True):
        if isinstance(entry, RepoFile) and entry.path == path:
            return entry.security.status if entry.security else "none"  # type: ignore[union-attr,no-any-return]
    return "missing"


def test_a_commit_that_landed_before_a_crash_is_recorded_after_the_restart(crashable: tuple[Restart, str]) -> None:
    restart, token = crashable
    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    repo_id = "alice/crash-records"
    api.create_repo(repo_id)
    before = api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo_id).oid

    server = restart(faults.COMMIT_REF_MOVED)  # dies after the branch moved, before any record
    _commit_until_crash(server, token, EVIL_PICKLE, "evil.pkl", repo_id)

    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    landed = api.list_repo_commits(repo_id)[0]
    assert landed.title == "Upload evil.pkl with huggingface_hub"  # the commit happened ...
    assert landed.commit_id != before
    # ... and the restarted server records it: the repo row, the scan and the audit event.
    assert wait_until(lambda: api.model_info(repo_id).sha == landed.commit_id, timeout=30)
    assert wait_until(lambda: _security_status(api, repo_id, "evil.pkl") == "unsafe", timeout=30)
    events = _commit_events(server, repo_id, "crash")
    assert [e["details"]["commit"] for e in events].count(landed.commit_id) == 1
    recovered = next(e for e in events if e["details"]["commit"] == landed.commit_id)
    assert recovered["ip"] == "127.0.0.1"  # the origin of the lost request, kept with its intent


def test_a_commit_whose_records_fail_still_answers_and_is_recorded(
    server: LiveServer, ids: Identities, repo_name: str
) -> None:
    api = HfApi(endpoint=server.url, token=ids.alice)
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    # An integer of 5,000 digits: the metadata cannot be extracted; the commit must not fail for it.
    config = b'{"model_type": "bert", "n": ' + b"9" * 5000 + b"}"
    info = api.upload_file(path_or_fileobj=config, path_in_repo="config.json", repo_id=repo_id)
    head = api.list_repo_commits(repo_id)[0].commit_id
    assert info.oid == head  # the commit answered with its id, not a 500
    api.upload_file(path_or_fileobj=EVIL_PICKLE, path_in_repo="evil.pkl", repo_id=repo_id)
    assert wait_until(lambda: _security_status(api, repo_id, "evil.pkl") == "unsafe", timeout=30)
    assert [e["details"]["commit"] for e in _commit_events(server, repo_id, repo_name)].count(head) == 1


def test_a_push_that_landed_before_a_crash_is_recorded_after_the_restart(
    crashable: tuple[Restart, str], tmp_path: Path
) -> None:
    restart, token = crashable
    server = restart(None)
    repo_id = "alice/crash-push"
    HfApi(endpoint=server.url, token=token).create_repo(repo_id)
    git = GitClient.create(tmp_path / "git-home")
    work = tmp_path / "work"
    git.clone(repo_url(server.url, repo_id, token=token), work)
    (work / "evil.pkl").write_bytes(EVIL_PICKLE)
    pushed = git.commit_all(work, "add a pickle")

    server = restart(faults.PUSH_REFS_MOVED)  # dies after git moved the branch, before any record
    git.run("push", "origin", "main", cwd=work, check=False)
    assert server.process is not None
    assert server.process.wait(timeout=60) == 70, "the server did not reach the crash point"

    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    assert api.list_repo_commits(repo_id)[0].commit_id == pushed
    assert wait_until(lambda: api.model_info(repo_id).sha == pushed, timeout=30)
    assert wait_until(lambda: _security_status(api, repo_id, "evil.pkl") == "unsafe", timeout=30)
    events = [e for e in _events(server, repo_id, "push", "repo.push") if e["details"]["commit"] == pushed]
    assert len(events) == 1


def test_a_job_held_by_a_crashed_server_runs_after_the_restart(crashable: tuple[Restart, str]) -> None:
    restart, token = crashable
    server = restart(None)
    repo_id = "alice/crash-job"
    HfApi(endpoint=server.url, token=token).create_repo(repo_id)

    server = restart(faults.JOB_RUNNING + "scanning.scan_commit")  # dies holding the scan job
    _commit_until_crash(server, token, EVIL_PICKLE, "evil.pkl", repo_id, jobs=True)

    # The job's lease has minutes to run, but its holder is gone: the restarted server takes it
    # back at once and runs it.
    server = restart(None)
    api = HfApi(endpoint=server.url, token=token)
    assert api.list_repo_commits(repo_id)[0].title == "Upload evil.pkl with huggingface_hub"
    assert wait_until(lambda: _security_status(api, repo_id, "evil.pkl") == "unsafe", timeout=30)
