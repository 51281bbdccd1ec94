"""Bucket operations through the real clients: bucket bytes in the storage report, namespace
quotas that refuse an upload before its data is sent (LFS batch and Xet xorbs), and garbage
collection that treats bucket files as roots.

Quotas are set on a fresh organisation per test, so they never limit other tests; garbage
collection without a grace period would race other tests' uploads, so it gets a server of its own.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import select

from dockyard.accounts import service as accounts
from dockyard.errors import QuotaExceededError
from dockyard.lfs.models import LfsObject
from dockyard.quotas import service as quotas
from tests.support.accounts import Identities, create_identities, issue_token
from tests.support.backends import Backend, free_port
from tests.support.buckets import File, add_files, create_org, delete_file, hub_session
from tests.support.server import LiveServer, start_server

QUOTA = 1_000_000


@pytest.fixture(scope="module")
def root(server: LiveServer) -> str:
    """A hub administrator's write token (quotas are theirs to set)."""
    name = f"root-{uuid.uuid4().hex[:8]}"
    server.cli("user", "create", name, "--admin")
    return issue_token(server.data_dir, server.env, name, "write")


@pytest.fixture
def org(server: LiveServer) -> str:
    name = f"quota-{uuid.uuid4().hex[:8]}"
    create_org(server, name, owner="alice")
    return name


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _set_quota(server: LiveServer, root: str, namespace: str, max_bytes: int) -> dict[str, object]:
    response = httpx.put(
        f"{server.url}/api/admin/quotas/{namespace}", json={"maxBytes": max_bytes}, headers=_auth(root)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- usage -------------------------------------------------------------------------------------------
def test_bucket_bytes_in_the_storage_report(server: LiveServer, ids: Identities, root: str, org: str) -> None:
    api = HfApi(endpoint=server.url, token=ids.alice)
    api.create_bucket(f"{org}/logs", private=True)
    api.create_bucket(f"{org}/ckpt")
    add_files(server, f"{org}/logs", [File("a.txt", size=10), File("b.txt", size=20)])
    add_files(server, f"{org}/ckpt", [File("step-1", size=300, xet_hash="b" * 64)])

    bucket = httpx.get(f"{server.url}/api/buckets/{org}/logs/storage", headers=_auth(ids.alice)).json()
    assert (bucket["id"], bucket["files"], bucket["logicalBytes"]) == (f"{org}/logs", 2, 30)
    hidden = httpx.get(f"{server.url}/api/buckets/{org}/logs/storage", headers=_auth(ids.bob))
    assert hidden.status_code == 404

    namespace = httpx.get(f"{server.url}/api/organizations/{org}/storage", headers=_auth(ids.alice)).json()
    assert namespace["buckets"]["count"] == 2
    assert (namespace["buckets"]["files"], namespace["buckets"]["logicalBytes"]) == (3, 330)
    assert namespace["quota"] == {"maxBytes": None, "usedBytes": 330}

    _set_quota(server, root, org, QUOTA)
    report = json.loads(server.cli("storage", "report", "--namespace", org).stdout)
    by_id = {b["id"]: b for b in report["buckets"]}
    assert (by_id[f"{org}/logs"]["logicalBytes"], by_id[f"{org}/ckpt"]["logicalBytes"]) == (30, 300)
    assert report["bucketsTotal"]["logicalBytes"] == 330
    assert report["quota"] == {"maxBytes": QUOTA, "usedBytes": 330}

    delete_file(server, f"{org}/logs", "b.txt")
    shown = json.loads(server.cli("storage", "quota", "show", org).stdout)
    assert (shown["bucketBytes"], shown["usedBytes"], shown["maxBytes"]) == (310, 310, QUOTA)


# -- quotas ------------------------------------------------------------------------------------------
def test_quota_refuses_an_lfs_upload_with_a_clear_message(
    server: LiveServer, ids: Identities, root: str, org: str, tmp_path: Path, lfs_transfer: None
) -> None:
    api = HfApi(endpoint=server.url, token=ids.alice)
    repo_id = f"{org}/weights"
    api.create_repo(repo_id)
    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(os.urandom(400_000))
    large.write_bytes(os.urandom(800_000))
    assert _set_quota(server, root, org, QUOTA)["maxBytes"] == QUOTA
    api.upload_file(path_or_fileobj=small, path_in_repo="small.bin", repo_id=repo_id)  # 400 kB of 1 MB

    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=large, path_in_repo="large.bin", repo_id=repo_id)
    assert refused.value.response.status_code == 403
    assert refused.value.response.headers["x-error-code"] == "StorageQuotaExceeded"
    assert f"Storage quota exceeded for {org}: 400000 of 1000000 bytes used" in str(refused.value)
    assert [f.rfilename for f in api.model_info(repo_id, files_metadata=True).siblings or []].count("large.bin") == 0

    server.cli("storage", "quota", "clear", org)
    api.upload_file(path_or_fileobj=large, path_in_repo="large.bin", repo_id=repo_id)


def test_quota_refusal_comes_before_any_upload_url(server: LiveServer, ids: Identities, root: str, org: str) -> None:
    """The LFS batch is answered whole with the refusal: no object gets an upload action."""
    HfApi(endpoint=server.url, token=ids.alice).create_repo(f"{org}/batch")
    _set_quota(server, root, org, QUOTA)
    objects = [{"oid": uuid.uuid4().hex * 2, "size": 600_000}, {"oid": uuid.uuid4().hex * 2, "size": 600_000}]
    answer = httpx.post(
        f"{server.url}/{org}/batch.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": objects},
        headers={**_auth(ids.alice), "Accept": "application/vnd.git-lfs+json"},
    )
    assert answer.status_code == 403
    assert "actions" not in answer.text
    assert "Storage quota exceeded" in answer.json()["message"]
    fits = httpx.post(
        f"{server.url}/{org}/batch.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": objects[:1]},
        headers={**_auth(ids.alice), "Accept": "application/vnd.git-lfs+json"},
    )
    assert fits.status_code == 200
    assert "upload" in fits.json()["objects"][0]["actions"]


def test_quota_refuses_xet_xorbs_before_their_body(
    server: LiveServer, ids: Identities, root: str, org: str, tmp_path: Path
) -> None:
    api = HfApi(endpoint=server.url, token=ids.alice)
    repo_id = f"{org}/xet"
    api.create_repo(repo_id)
    _set_quota(server, root, org, 100_000)
    (tmp_path / "big.bin").write_bytes(os.urandom(500_000))
    # hf_xet reports the status and the xorb URL, not the server's message (a client limitation).
    with pytest.raises(ConnectionError, match=r"403 Forbidden.*/v1/xorbs/"):
        api.upload_file(path_or_fileobj=tmp_path / "big.bin", path_in_repo="big.bin", repo_id=repo_id)
    assert "big.bin" not in api.list_repo_files(repo_id)


def test_ensure_room_counts_bucket_bytes(server: LiveServer, ids: Identities, root: str, org: str) -> None:
    """What the bucket batch calls before adding a file: the namespace's repos and buckets count."""
    HfApi(endpoint=server.url, token=ids.alice).create_bucket(f"{org}/b")
    add_files(server, f"{org}/b", [File("x", size=700)])
    _set_quota(server, root, org, 1000)
    with hub_session(server) as session:
        account = accounts.get_account(session, org)
        quotas.ensure_room(session, account.id, 300)  # exactly full is allowed
        with pytest.raises(QuotaExceededError, match=f"Storage quota exceeded for {org}: 700 of 1000"):
            quotas.ensure_room(session, account.id, 301)


def test_bucket_uploads_and_copies_respect_the_quota(
    server: LiveServer, ids: Identities, root: str, org: str, tmp_path: Path
) -> None:
    """A bucket's Xet upload is refused before its bytes are stored, and an addFile by hash (no
    bytes at all) is refused per path with the quota's message."""
    api = HfApi(endpoint=server.url, token=ids.alice)
    bucket = f"{org}/ckpt"
    api.create_bucket(bucket)
    (tmp_path / "ckpt.bin").write_bytes(os.urandom(300_000))
    _set_quota(server, root, org, 100_000)
    with pytest.raises(ConnectionError, match=r"403 Forbidden.*/v1/xorbs/"):
        api.batch_bucket_files(bucket, add=[(str(tmp_path / "ckpt.bin"), "step-1.bin")])
    httpx.delete(f"{server.url}/api/admin/quotas/{org}", headers=_auth(root)).raise_for_status()
    api.batch_bucket_files(bucket, add=[(str(tmp_path / "ckpt.bin"), "step-1.bin")])
    xet_hash = next(iter(api.get_bucket_paths_info(bucket, ["step-1.bin"]))).xet_hash
    _set_quota(server, root, org, 400_000)
    line = {"type": "addFile", "path": "step-2.bin", "xetHash": xet_hash, "mtime": 1}
    answer = httpx.post(
        f"{server.url}/api/buckets/{bucket}/batch",
        content=json.dumps(line).encode(),
        headers={**_auth(ids.alice), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 422
    assert "Storage quota exceeded" in answer.json()["failed"][0]["error"]
    assert [e.path for e in api.list_bucket_tree(bucket)] == ["step-1.bin"]


# -- garbage collection ------------------------------------------------------------------------------
@pytest.fixture
def gc_server(tmp_path: Path, backend: Backend) -> Iterator[tuple[LiveServer, str]]:
    live = start_server(tmp_path / "data", free_port(), backend=backend)
    try:
        yield live, create_identities(live.data_dir, live.env).alice
    finally:
        live.stop()


def _gc(server: LiveServer, grace: int = 0) -> dict[str, int]:
    return dict(json.loads(server.cli("gc", "--grace-seconds", str(grace)).stdout))


def test_gc_keeps_bucket_referenced_xorbs_until_the_file_goes(
    gc_server: tuple[LiveServer, str], tmp_path: Path
) -> None:
    """A repo file's Xet content is put in a bucket (as a copy from a repo does), then the repo
    goes: the bucket alone keeps the xorbs; once the bucket file goes they are freed, after the
    grace period."""
    server, token = gc_server
    api = HfApi(endpoint=server.url, token=token)
    api.create_repo("alice/src")
    content = os.urandom(1_500_000)
    (tmp_path / "w.bin").write_bytes(content)
    api.upload_file(path_or_fileobj=tmp_path / "w.bin", path_in_repo="w.bin", repo_id="alice/src")
    with hub_session(server) as session:
        [xet_hash] = session.scalars(select(LfsObject.xet_hash).where(LfsObject.size == len(content)))
    assert xet_hash is not None
    api.create_bucket("alice/keep")
    add_files(server, "alice/keep", [File("w.bin", size=len(content), xet_hash=xet_hash)])
    xorbs = len(server.blob_files("xet/xorbs"))
    assert xorbs >= 1

    api.delete_repo("alice/src")
    kept = _gc(server)
    assert (kept["objects_removed"], kept["xet_files_removed"], kept["xorbs_removed"]) == (1, 0, 0)
    assert len(server.blob_files("xet/xorbs")) == xorbs

    delete_file(server, "alice/keep", "w.bin")
    assert _gc(server, grace=3600)["xorbs_removed"] == 0  # young content waits out the grace period
    freed = _gc(server)
    assert (freed["xet_files_removed"], freed["xorbs_removed"]) == (1, xorbs)
    assert freed["bytes_freed"] > 0
    assert server.blob_files("xet/xorbs") == []


def test_gc_keeps_xorbs_a_repo_still_uses_after_the_bucket_goes(
    gc_server: tuple[LiveServer, str], tmp_path: Path
) -> None:
    server, token = gc_server
    api = HfApi(endpoint=server.url, token=token)
    api.create_repo("alice/stays")
    content = os.urandom(700_000)
    (tmp_path / "s.bin").write_bytes(content)
    api.upload_file(path_or_fileobj=tmp_path / "s.bin", path_in_repo="s.bin", repo_id="alice/stays")
    with hub_session(server) as session:
        [xet_hash] = session.scalars(select(LfsObject.xet_hash).where(LfsObject.size == len(content)))
    api.create_bucket("alice/gone")
    add_files(server, "alice/gone", [File("s.bin", size=len(content), xet_hash=str(xet_hash))])
    api.delete_bucket("alice/gone")
    report = _gc(server)
    assert (report["xet_files_removed"], report["xorbs_removed"]) == (0, 0)
    path = api.hf_hub_download("alice/stays", "s.bin", cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == content
