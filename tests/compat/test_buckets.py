"""Storage buckets through the real client: HfApi's bucket methods and the `hf buckets` CLI
against a live server. Bucket files are put in place by tests/support/buckets.py until the Xet
batch lands; everything read back goes over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BucketNotFoundError, HfHubHTTPError

from tests.support.accounts import Identities, issue_token
from tests.support.buckets import File, add_files, audit_targets, create_org, delete_file
from tests.support.server import LiveServer

HF = str(Path(sys.executable).with_name("hf"))


@pytest.fixture
def bucket_name() -> str:
    return f"b-{uuid.uuid4().hex[:10]}"


def _hf(token: str, *args: str) -> str:
    done = subprocess.run([HF, *args], env=dict(os.environ, HF_TOKEN=token), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _get(server: LiveServer, path: str, token: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}{path}", params=params, headers=headers)


# -- lifecycle ---------------------------------------------------------------------------------------
def test_create_info_list_delete(server: LiveServer, api: HfApi, bucket_name: str) -> None:
    url = api.create_bucket(bucket_name)  # no namespace: the client sends "me"
    assert (url.bucket_id, url.url) == (f"alice/{bucket_name}", f"{server.url}/buckets/alice/{bucket_name}")
    info = api.bucket_info(f"alice/{bucket_name}")
    assert (info.id, info.private, info.size, info.total_files) == (f"alice/{bucket_name}", False, 0, 0)
    assert abs((datetime.now(UTC) - info.created_at).total_seconds()) < 60
    assert f"alice/{bucket_name}" in [b.id for b in api.list_buckets(search=bucket_name)]
    api.delete_bucket(f"alice/{bucket_name}")
    with pytest.raises(BucketNotFoundError):
        api.bucket_info(f"alice/{bucket_name}")
    api.delete_bucket(f"alice/{bucket_name}", missing_ok=True)
    assert f"bucket:alice/{bucket_name}" in audit_targets(server, "bucket.created")
    assert f"bucket:alice/{bucket_name}" in audit_targets(server, "bucket.deleted")


def test_existing_bucket_is_409_with_its_url(server: LiveServer, api: HfApi, ids: Identities, bucket_name: str) -> None:
    api.create_bucket(f"alice/{bucket_name}")
    with pytest.raises(HfHubHTTPError) as raised:
        api.create_bucket(f"alice/{bucket_name}")
    assert raised.value.response.status_code == 409
    assert raised.value.response.json()["url"] == f"{server.url}/buckets/alice/{bucket_name}"
    assert api.create_bucket(f"alice/{bucket_name}", exist_ok=True).bucket_id == f"alice/{bucket_name}"


def test_org_default_visibility_applies_when_unsaid(server: LiveServer, api: HfApi, bucket_name: str) -> None:
    org = f"lab-{uuid.uuid4().hex[:8]}"
    create_org(server, org, owner="alice")  # a new organisation's default is private
    api.create_bucket(f"{org}/{bucket_name}")
    api.create_bucket(f"{org}/{bucket_name}-pub", visibility="public")
    api.create_bucket(f"alice/{bucket_name}")
    assert api.bucket_info(f"{org}/{bucket_name}").private is True
    assert api.bucket_info(f"{org}/{bucket_name}-pub").private is False
    assert api.bucket_info(f"alice/{bucket_name}").private is False


def test_invalid_names_and_bodies_are_4xx(server: LiveServer, ids: Identities, bucket_name: str) -> None:
    auth = {"Authorization": f"Bearer {ids.alice}"}
    bad_name = httpx.post(f"{server.url}/api/buckets/alice/a--b", json={}, headers=auth)
    bad_visibility = httpx.post(f"{server.url}/api/buckets/alice/{bucket_name}", json={"visibility": "x"}, headers=auth)
    not_json = httpx.post(f"{server.url}/api/buckets/alice/{bucket_name}", content=b"{", headers=auth)
    anonymous = httpx.post(f"{server.url}/api/buckets/me/{bucket_name}", json={})
    elsewhere = httpx.post(f"{server.url}/api/buckets/bob/{bucket_name}", json={}, headers=auth)
    assert [r.status_code for r in (bad_name, bad_visibility, not_json, anonymous, elsewhere)] == [
        400,
        400,
        400,
        401,
        403,
    ]


def test_move_and_visibility(server: LiveServer, api: HfApi, ids: Identities, bucket_name: str) -> None:
    api.create_bucket(f"alice/{bucket_name}")
    api.move_bucket(f"alice/{bucket_name}", f"acme/{bucket_name}-moved")
    with pytest.raises(BucketNotFoundError):
        api.bucket_info(f"alice/{bucket_name}")
    moved = f"acme/{bucket_name}-moved"
    assert api.bucket_info(moved).id == moved
    api.update_bucket_settings(moved, private=True)
    assert api.bucket_info(moved).private is True
    assert HfApi(token=ids.carol).bucket_info(moved).private is True  # an org read member sees it
    with pytest.raises(HfHubHTTPError) as raised:
        HfApi(token=ids.carol).update_bucket_settings(moved, private=False)
    assert raised.value.response.status_code == 403
    assert f"bucket:alice/{bucket_name}" in audit_targets(server, "bucket.moved")
    assert f"bucket:{moved}" in audit_targets(server, "bucket.visibility_changed")


def test_private_bucket_is_hidden_from_others(
    server: LiveServer, api: HfApi, ids: Identities, bucket_name: str
) -> None:
    bucket = f"alice/{bucket_name}"
    api.create_bucket(bucket, private=True)
    with pytest.raises(BucketNotFoundError) as raised:
        HfApi(token=ids.bob).bucket_info(bucket)
    assert raised.value.response.status_code == 404
    anonymous = _get(server, f"/api/buckets/{bucket}")
    missing = _get(server, f"/api/buckets/alice/{bucket_name}-none", ids.bob)
    assert (anonymous.status_code, anonymous.headers["x-error-code"]) == (401, "RepoNotFound")
    assert (missing.status_code, missing.headers["x-error-code"]) == (404, "RepoNotFound")
    assert bucket_name not in anonymous.text
    assert [b.id for b in HfApi(token=ids.bob).list_buckets("alice", search=bucket_name)] == []
    assert [b.id for b in api.list_buckets("alice", search=bucket_name)] == [bucket]
    with pytest.raises(BucketNotFoundError):
        HfApi(token=ids.bob).delete_bucket(bucket)
    with pytest.raises(BucketNotFoundError):
        list(HfApi(token=ids.bob).list_bucket_tree(bucket))
    assert api.bucket_info(bucket).id == bucket


def test_fine_grained_scopes(server: LiveServer, api: HfApi, bucket_name: str) -> None:
    bucket = f"alice/{bucket_name}"
    api.create_bucket(bucket, private=True)
    reader = HfApi(token=issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"bucket:{bucket}:read"]))
    writer = HfApi(token=issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"bucket:{bucket}:write"]))
    other = HfApi(token=issue_token(server.data_dir, server.env, "alice", "fineGrained", ["bucket:alice/other:write"]))
    model_scope = HfApi(
        token=issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"model:{bucket}:write"])
    )
    assert reader.bucket_info(bucket).id == bucket
    with pytest.raises(HfHubHTTPError) as raised:
        reader.update_bucket_settings(bucket, private=False)
    assert raised.value.response.status_code == 403
    for outside in (other, model_scope):
        with pytest.raises(BucketNotFoundError):
            outside.bucket_info(bucket)
    assert [b.id for b in other.list_buckets("alice", search=bucket_name)] == []
    assert [b.id for b in reader.list_buckets("alice", search=bucket_name)] == [bucket]
    writer.update_bucket_settings(bucket, private=False)
    assert api.bucket_info(bucket).private is False


def test_hf_buckets_cli(server: LiveServer, ids: Identities, api: HfApi, bucket_name: str) -> None:
    _hf(ids.alice, "buckets", "create", f"alice/{bucket_name}", "--private")
    assert api.bucket_info(f"alice/{bucket_name}").private is True
    listed = json.loads(_hf(ids.alice, "buckets", "list", "--search", bucket_name, "--format", "json"))
    assert [item["id"] for item in listed] == [f"alice/{bucket_name}"]
    info = json.loads(_hf(ids.alice, "buckets", "info", f"alice/{bucket_name}", "--format", "json"))
    assert (info["id"], info["private"], info["total_files"]) == (f"alice/{bucket_name}", True, 0)


def test_listing_is_paged_with_link(server: LiveServer, api: HfApi, ids: Identities, bucket_name: str) -> None:
    for i in range(3):
        api.create_bucket(f"alice/{bucket_name}-{i}")
    first = _get(server, "/api/buckets/alice", ids.alice, search=bucket_name, limit="2")
    second = httpx.get(first.links["next"]["url"], headers={"Authorization": f"Bearer {ids.alice}"})
    assert [b["id"] for b in first.json() + second.json()] == [f"alice/{bucket_name}-{i}" for i in range(3)]
    assert "next" not in second.links
    assert len(list(api.list_buckets(search=bucket_name))) == 3


# -- files -------------------------------------------------------------------------------------------
FILES = [
    File("a.txt", size=10, content_type="text/plain"),
    File("logs.json", size=3),
    File("logs/1.txt", size=1, mtime=1727278262346),
    File("logs/2.txt", size=2),
    File("logs/deep/3.txt", size=3),
]


@pytest.fixture
def filled(server: LiveServer, api: HfApi, bucket_name: str) -> str:
    bucket = f"alice/{bucket_name}"
    api.create_bucket(bucket)
    add_files(server, bucket, FILES)
    return bucket


def test_tree_recursive_and_immediate_children(api: HfApi, filled: str) -> None:
    everything = list(api.list_bucket_tree(filled, recursive=True))
    assert [e.path for e in everything] == sorted(f.path for f in FILES)
    assert {e.type for e in everything} == {"file"}
    root = list(api.list_bucket_tree(filled, recursive=False))
    # In git's tree order, as the Hub's repo trees: a folder sorts as "logs/", after "logs.json".
    assert [(e.type, e.path) for e in root] == [("file", "a.txt"), ("file", "logs.json"), ("directory", "logs")]
    assert root[2].uploaded_at is not None
    logs = list(api.list_bucket_tree(filled, prefix="logs/", recursive=False))
    assert [(e.type, e.path) for e in logs] == [
        ("file", "logs/1.txt"),
        ("file", "logs/2.txt"),
        ("directory", "logs/deep"),
    ]
    assert [e.path for e in api.list_bucket_tree(filled, prefix="logs/deep")] == ["logs/deep/3.txt"]


def test_tree_prefix_naming_a_file_answers_that_file(api: HfApi, filled: str) -> None:
    [entry] = list(api.list_bucket_tree(filled, prefix="logs/1.txt"))
    assert (entry.path, entry.size, entry.xet_hash) == ("logs/1.txt", 1, FILES[2].xet_hash)
    assert entry.mtime == datetime(2024, 9, 25, 15, 31, 2, 346000, tzinfo=UTC)  # the sent milliseconds, exactly


def test_paths_info_leaves_missing_paths_out(server: LiveServer, api: HfApi, ids: Identities, filled: str) -> None:
    found = list(api.get_bucket_paths_info(filled, ["a.txt", "missing.bin", "logs/2.txt", "logs"]))
    assert [(f.path, f.size) for f in found] == [("a.txt", 10), ("logs/2.txt", 2)]
    raw = httpx.post(
        f"{server.url}/api/buckets/{filled}/paths-info",
        json={"paths": ["a.txt"]},
        headers={"Authorization": f"Bearer {ids.alice}"},
    ).json()
    assert raw[0]["contentType"] == "text/plain"
    too_many = httpx.post(
        f"{server.url}/api/buckets/{filled}/paths-info",
        json={"paths": [f"f{i}" for i in range(1001)]},
        headers={"Authorization": f"Bearer {ids.alice}"},
    )
    assert too_many.status_code == 400


def test_info_counts_follow_the_files(server: LiveServer, api: HfApi, filled: str) -> None:
    info = api.bucket_info(filled)
    assert (info.total_files, info.size) == (5, 19)
    add_files(server, filled, [File("a.txt", size=4)])  # an overwrite replaces the reference
    assert delete_file(server, filled, "logs.json")
    info = api.bucket_info(filled)
    assert (info.total_files, info.size) == (4, 10)


def test_tree_pages_and_skips_large_folders(server: LiveServer, api: HfApi, ids: Identities, filled: str) -> None:
    add_files(server, filled, [File(f"many/{i:04d}.bin") for i in range(1001)])
    assert len(list(api.list_bucket_tree(filled, prefix="many/"))) == 1001  # two pages of the client's paging
    root = list(api.list_bucket_tree(filled, recursive=False))
    assert [e.path for e in root] == ["a.txt", "logs.json", "logs", "many"]
    auth = {"Authorization": f"Bearer {ids.alice}"}
    response = httpx.get(f"{server.url}/api/buckets/{filled}/tree?recursive=false&limit=2", headers=auth)
    pages = [[e["path"] for e in response.json()]]
    while "next" in response.links and len(pages) < 5:  # the Link carries the query on
        response = httpx.get(response.links["next"]["url"], headers=auth)
        pages.append([e["path"] for e in response.json()])
    assert pages == [["a.txt", "logs.json"], ["logs", "many"]]
    bad = _get(server, f"/api/buckets/{filled}/tree", ids.alice, cursor="!!")
    assert bad.status_code == 400


def test_encoded_prefix(server: LiveServer, ids: Identities, filled: str) -> None:
    response = _get(server, f"/api/buckets/{filled}/tree/logs%2Fdeep", ids.alice)
    assert [e["path"] for e in response.json()] == ["logs/deep/3.txt"]
    nul_prefix = _get(server, f"/api/buckets/{filled}/tree/a%00b", ids.alice)
    nul_path = httpx.post(
        f"{server.url}/api/buckets/{filled}/paths-info",
        json={"paths": ["a\x00b"]},
        headers={"Authorization": f"Bearer {ids.alice}"},
    )
    assert (nul_prefix.status_code, nul_path.status_code) == (400, 400)


def test_folder_listings_follow_writes_and_deletes(server: LiveServer, api: HfApi, filled: str) -> None:
    add_files(server, filled, [File("logs-old/x.txt"), File("runs/r1/a.bin"), File("runs/r2/b.bin")])
    root = [(e.type, e.path) for e in api.list_bucket_tree(filled, recursive=False)]
    # git tree order: the folder "logs-old" sorts as "logs-old/", before "logs.json" ('-' < '.')
    assert root == [
        ("file", "a.txt"),
        ("directory", "logs-old"),
        ("file", "logs.json"),
        ("directory", "logs"),
        ("directory", "runs"),
    ]
    assert delete_file(server, filled, "runs/r1/a.bin")
    assert [e.path for e in api.list_bucket_tree(filled, prefix="runs", recursive=False)] == ["runs/r2"]
    assert delete_file(server, filled, "logs-old/x.txt")
    assert "logs-old" not in [e.path for e in api.list_bucket_tree(filled, recursive=False)]


def test_a_prefix_that_is_not_a_folder_matches_lexically(api: HfApi, filled: str) -> None:
    """As on the Hub: ``log`` lists what starts with it, folders folded."""
    entries = [(e.type, e.path) for e in api.list_bucket_tree(filled, prefix="log", recursive=False)]
    assert entries == [("file", "logs.json"), ("directory", "logs")]
