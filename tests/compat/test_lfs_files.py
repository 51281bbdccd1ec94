"""A repo's large files: paged listing, permanent deletion (a real history rewrite over every
ref), and cross-repo copies (``lfs-files/duplicate``), through the real client."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationCopy, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError

from tests.support.accounts import Identities, create_identities
from tests.support.backends import Backend, free_port
from tests.support.git import GitClient, repo_url
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch_by_sha(
    tmp_path: Path, server: LiveServer, token: str, repo_id: str, sha: str
) -> subprocess.CompletedProcess[str]:
    client = GitClient.create(tmp_path / f"home-{uuid.uuid4().hex[:6]}")
    work = tmp_path / f"fetch-{uuid.uuid4().hex[:6]}"
    client.run("init", "-q", str(work))
    return client.run("fetch", "-q", repo_url(server.url, repo_id, token=token), sha, cwd=work, check=False)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_list_lfs_files_is_paged(api: HfApi, repo_name: str, server: LiveServer, token: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    blobs = {f"w{i}.bin": os.urandom(50_000) for i in range(5)}
    api.create_commit(
        repo_id, [CommitOperationAdd(path, data) for path, data in blobs.items()], commit_message="weights"
    )
    listed = list(api.list_lfs_files(repo_id))
    assert sorted((f.filename, f.file_oid, f.size, f.ref) for f in listed) == sorted(
        (path, _sha(data), 50_000, "refs/heads/main") for path, data in blobs.items()
    )
    assert all(len(f.oid) == 40 and f.pushed_at is not None for f in listed)
    pages, url = [], f"{server.url}/api/models/{repo_id}/lfs-files?limit=2"
    while url:
        response = httpx.get(url, headers=_auth(token))
        assert response.status_code == 200
        pages.append([item["fileOid"] for item in response.json()])
        url = response.links.get("next", {}).get("url")
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(oid for page in pages for oid in page) == sorted(_sha(data) for data in blobs.values())
    bad = httpx.get(f"{server.url}/api/models/{repo_id}/lfs-files?cursor=nonsense", headers=_auth(token))
    assert bad.status_code == 400


def test_permanently_delete_lfs_files_rewrites_every_ref(
    api: HfApi, repo_name: str, server: LiveServer, token: str, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    secret, kept = os.urandom(60_000), os.urandom(60_000)
    api.create_commit(
        repo_id,
        [CommitOperationAdd("leak/secret.bin", secret), CommitOperationAdd("keep.bin", kept)],
        commit_message="add weights",
    )
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n# Card\n", path_in_repo="README.md", repo_id=repo_id)
    api.create_tag(repo_id, tag="v1", tag_message="release")  # an annotated tag
    api.create_branch(repo_id, branch="dev")
    api.upload_file(path_or_fileobj=b"dev only", path_in_repo="dev.txt", repo_id=repo_id, revision="dev")
    old_head = api.model_info(repo_id).sha
    old_commits = [c.commit_id for c in api.list_repo_commits(repo_id)]
    assert old_head is not None

    doomed = [f for f in api.list_lfs_files(repo_id) if f.filename.startswith("leak/")]
    assert [f.file_oid for f in doomed] == [_sha(secret)]
    api.permanently_delete_lfs_files(repo_id, doomed)

    assert [f.filename for f in api.list_lfs_files(repo_id)] == ["keep.bin"]
    for revision in ("main", "dev", "v1"):
        files = api.list_repo_files(repo_id, revision=revision)
        assert "leak/secret.bin" not in files, revision
        assert "keep.bin" in files, revision
    assert "dev.txt" in api.list_repo_files(repo_id, revision="dev")
    new_commits = api.list_repo_commits(repo_id)
    assert len(new_commits) == len(old_commits)
    assert new_commits[-1].commit_id == old_commits[-1]  # history before the file is shared, not rewritten
    assert not {c.commit_id for c in new_commits[:-1]} & set(old_commits)
    assert api.model_info(repo_id).sha == new_commits[0].commit_id
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(repo_id, revision=old_head)  # the old history no longer answers
    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "dev"}
    assert [t.name for t in refs.tags] == ["v1"]
    path = hf_hub_download(repo_id, "keep.bin", cache_dir=tmp_path)
    assert Path(path).read_bytes() == kept
    assert wait_until(  # the prune job removes the old commits: not even git fetch by sha finds them
        lambda: _fetch_by_sha(tmp_path, server, token, repo_id, old_head).returncode != 0, timeout=60, poll=0.5
    ), "the rewritten commit can still be fetched by sha"

    # The object is gone from the repo: a commit naming it without its bytes is refused.
    lines = [
        {"key": "header", "value": {"summary": "bring it back"}},
        {"key": "lfsFile", "value": {"path": "again.bin", "algo": "sha256", "oid": _sha(secret)}},
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    answer = httpx.post(
        f"{server.url}/api/models/{repo_id}/commit/main",
        content=body,
        headers={**_auth(token), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 400


def test_permanent_deletion_needs_the_admin_right(api: HfApi, repo_name: str, ids: Identities) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=os.urandom(50_000), path_in_repo="w.bin", repo_id=repo_id)
    files = list(api.list_lfs_files(repo_id))
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token=ids.alice_read).permanently_delete_lfs_files(repo_id, files)
    assert error.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as outsider:  # bob sees the public repo but does not own it
        HfApi(token=ids.bob).permanently_delete_lfs_files(repo_id, files)
    assert outsider.value.response.status_code == 403
    assert [f.file_oid for f in api.list_lfs_files(repo_id)] == [f.file_oid for f in files]


def test_cross_repo_copy_links_readable_content(
    api: HfApi, repo_name: str, ids: Identities, server: LiveServer, tmp_path: Path
) -> None:
    source, target = f"alice/{repo_name}-src", f"alice/{repo_name}-dst"
    api.create_repo(source, private=True)
    api.create_repo(target)
    weights = os.urandom(80_000)
    api.upload_file(path_or_fileobj=weights, path_in_repo="w.bin", repo_id=source)
    api.create_commit(
        target,
        [CommitOperationCopy("w.bin", "copied/w.bin", src_repo_id=source, src_repo_type="model")],
        commit_message="copy across repos",
    )
    path = hf_hub_download(target, "copied/w.bin", cache_dir=tmp_path)
    assert Path(path).read_bytes() == weights
    assert [f.file_oid for f in api.list_lfs_files(target)] == [_sha(weights)]

    # Per-file failures: content the source does not hold is reported, not linked.
    unknown = _sha(b"never uploaded")
    answer = httpx.post(
        f"{server.url}/api/models/{source}/lfs-files/duplicate",
        json={"target": {"type": "model", "name": target}, "files": [{"sha256": unknown, "filename": "x"}]},
        headers=_auth(ids.alice),
    )
    assert answer.status_code == 200
    assert [item["sha256"] for item in answer.json()["failed"]] == [unknown]


def test_cross_repo_copy_is_refused_without_rights(
    api: HfApi, repo_name: str, ids: Identities, server: LiveServer
) -> None:
    source, theirs = f"alice/{repo_name}", f"bob/{repo_name}"
    api.create_repo(source, private=True)
    api.upload_file(path_or_fileobj=os.urandom(50_000), path_in_repo="w.bin", repo_id=source)
    oid = next(iter(api.list_lfs_files(source))).file_oid
    HfApi(token=ids.bob).create_repo(theirs)
    files = [{"sha256": oid, "filename": "w.bin", "xetHash": None}]

    def duplicate(token: str, src: str, dst: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/api/models/{src}/lfs-files/duplicate",
            json={"target": {"type": "model", "name": dst}, "files": files},
            headers=_auth(token),
        )

    assert duplicate(ids.bob, source, theirs).status_code == 404  # bob cannot see the private source
    assert duplicate(ids.alice_read, source, source).status_code == 403  # a read token writes nowhere
    assert duplicate(ids.alice, source, theirs).status_code == 403  # alice cannot write to bob's repo
    assert list(HfApi(token=ids.bob).list_lfs_files(theirs)) == []


@pytest.fixture
def own_server(tmp_path: Path, backend: Backend) -> Iterator[tuple[LiveServer, str]]:
    """GC with no grace period would race the other tests' uploads: a server of its own."""
    live = start_server(tmp_path / "data", free_port(), backend=backend)
    try:
        yield live, create_identities(live.data_dir, live.env).alice
    finally:
        live.stop()


def test_garbage_collection_frees_permanently_deleted_bytes(
    own_server: tuple[LiveServer, str], lfs_transfer: None
) -> None:
    server, token = own_server
    api = HfApi(endpoint=server.url, token=token)
    repo_id = "alice/purged"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [CommitOperationAdd("secret.bin", os.urandom(300_000)), CommitOperationAdd("keep.bin", os.urandom(300_000))],
        commit_message="weights",
    )
    assert len(server.blob_files("lfs")) == 2
    api.permanently_delete_lfs_files(repo_id, [f for f in api.list_lfs_files(repo_id) if f.filename == "secret.bin"])
    report = json.loads(server.cli("gc", "--grace-seconds", "0").stdout)
    assert report["objects_removed"] == 1
    assert len(server.blob_files("lfs")) == 1
    assert [f.filename for f in api.list_lfs_files(repo_id)] == ["keep.bin"]
