"""Bucket content through the real client: HfApi.batch_bucket_files uploads through Xet (the
default path, SKIP_SHA256), copies by hash move no bytes, and /buckets/{id}/resolve serves Xet
metadata and plain bytes. Everything is checked over HTTP, plus the CAS's own rows where the
claim is about what is stored."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BucketBatchError, BucketNotFoundError, HfHubHTTPError

from tests.support.accounts import Identities, create_identities, issue_token
from tests.support.backends import Backend, free_port
from tests.support.buckets import audit_details, file_row, xorb_count
from tests.support.server import LiveServer, start_server


@pytest.fixture
def bucket(api: HfApi) -> str:
    bucket_id = f"alice/bf-{uuid.uuid4().hex[:10]}"
    api.create_bucket(bucket_id)
    return bucket_id


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(os.urandom(2 * 1024 * 1024 + 77))
    return path


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _batch(server: LiveServer, bucket: str, token: str, body: bytes) -> httpx.Response:
    headers = {**_auth(token), "Content-Type": "application/x-ndjson"}
    return httpx.post(f"{server.url}/api/buckets/{bucket}/batch", content=body, headers=headers)


def _tree(api: HfApi, bucket: str) -> dict[str, object]:
    return {f.path: f for f in api.list_bucket_tree(bucket)}


# -- upload, list, download ----------------------------------------------------------------------
def test_upload_through_xet_list_and_download(
    server: LiveServer, api: HfApi, bucket: str, weights: Path, tmp_path: Path
) -> None:
    api.batch_bucket_files(bucket, add=[(weights, "ckpt/model.safetensors"), (b'{"a": 1}', "config.json")])
    tree = {f.path: f for f in api.list_bucket_tree(bucket)}
    assert set(tree) == {"ckpt/model.safetensors", "config.json"}
    model = tree["ckpt/model.safetensors"]
    assert model.size == weights.stat().st_size
    assert model.mtime is not None
    assert abs(model.mtime.timestamp() - weights.stat().st_mtime) < 0.002
    # The CAS registered the file without a sha256 (the client sent SKIP_SHA256) and with its size.
    assert file_row(server, model.xet_hash) == (weights.stat().st_size, None)
    info = api.bucket_info(bucket)
    assert (info.total_files, info.size) == (2, weights.stat().st_size + 8)

    out = tmp_path / "out"
    api.download_bucket_files(bucket, [("ckpt/model.safetensors", out / "m.bin"), ("config.json", out / "c.json")])
    assert (out / "m.bin").read_bytes() == weights.read_bytes()
    assert (out / "c.json").read_bytes() == b'{"a": 1}'
    assert [d.get("added") for d in audit_details(server, "bucket.batch", f"bucket:{bucket}")] == [2]


def test_overwrite_and_delete(api: HfApi, bucket: str, tmp_path: Path) -> None:
    api.batch_bucket_files(bucket, add=[(b"one", "a.txt"), (b"two", "b.txt")])
    first = _tree(api, bucket)["a.txt"]
    api.batch_bucket_files(bucket, add=[(b"one, again", "a.txt")], delete=["b.txt", "never-there.txt"])
    tree = _tree(api, bucket)
    assert set(tree) == {"a.txt"}
    assert tree["a.txt"].xet_hash != first.xet_hash
    assert tree["a.txt"].size == 10
    api.download_bucket_files(bucket, [("a.txt", tmp_path / "a.txt")])
    assert (tmp_path / "a.txt").read_bytes() == b"one, again"
    assert api.bucket_info(bucket).total_files == 1


def test_empty_file(server: LiveServer, api: HfApi, bucket: str, tmp_path: Path) -> None:
    api.batch_bucket_files(bucket, add=[(b"", "empty.txt")])
    assert _tree(api, bucket)["empty.txt"].size == 0
    api.download_bucket_files(bucket, [("empty.txt", tmp_path / "e")])
    assert (tmp_path / "e").read_bytes() == b""
    plain = httpx.get(f"{server.url}/buckets/{bucket}/resolve/empty.txt", headers=_auth(api.token))
    assert (plain.status_code, plain.content, plain.headers["content-length"]) == (200, b"", "0")


# -- resolve ---------------------------------------------------------------------------------------
def test_resolve_head_gives_xet_metadata(server: LiveServer, api: HfApi, bucket: str, weights: Path) -> None:
    api.batch_bucket_files(bucket, add=[(weights, "dir/model.safetensors")])
    entry = _tree(api, bucket)["dir/model.safetensors"]
    metadata = api.get_bucket_file_metadata(bucket, "dir/model.safetensors")
    assert metadata.size == weights.stat().st_size
    assert metadata.xet_file_data.file_hash == entry.xet_hash
    assert metadata.xet_file_data.refresh_route == f"{server.url}/api/buckets/{bucket}/xet-read-token"
    head = httpx.head(f"{server.url}/buckets/{bucket}/resolve/dir%2Fmodel.safetensors", headers=_auth(api.token))
    assert head.headers["etag"] == f'"{entry.xet_hash}"'
    assert head.headers["x-content-type-options"] == "nosniff"


def test_plain_get_with_range_for_clients_without_xet(
    server: LiveServer, api: HfApi, bucket: str, weights: Path
) -> None:
    data = weights.read_bytes()
    api.batch_bucket_files(bucket, add=[(weights, "w.bin"), (b"<html><script>x</script>", "page.html")])
    url = f"{server.url}/buckets/{bucket}/resolve/w.bin"
    whole = httpx.get(url, headers=_auth(api.token))
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).digest() == hashlib.sha256(data).digest()
    part = httpx.get(url, headers={**_auth(api.token), "Range": "bytes=1000000-1099999"})
    assert part.status_code == 206
    assert part.content == data[1000000:1100000]
    assert part.headers["content-range"] == f"bytes 1000000-1099999/{len(data)}"
    tail = httpx.get(url, headers={**_auth(api.token), "Range": "bytes=-10"})
    assert tail.content == data[-10:]
    beyond = httpx.get(url, headers={**_auth(api.token), "Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416
    page = httpx.get(f"{server.url}/buckets/{bucket}/resolve/page.html", headers=_auth(api.token))
    assert page.headers["content-type"].startswith("text/html")  # the stored type, sent back...
    assert page.headers["content-disposition"].startswith("attachment")  # ...but never rendered here
    assert "sandbox" in page.headers["content-security-policy"]
    missing = httpx.get(f"{server.url}/buckets/{bucket}/resolve/nope.bin", headers=_auth(api.token))
    assert (missing.status_code, missing.headers["x-error-code"]) == (404, "EntryNotFound")


def test_client_without_xet_reads_through_resolve(
    api: HfApi, bucket: str, weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HfFileSystem's reads are plain ranged GETs on /resolve (what a client without hf_xet gets)."""
    from huggingface_hub import HfFileSystem, constants

    api.batch_bucket_files(bucket, add=[(weights, "w.bin")])
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    fs = HfFileSystem(token=api.token)
    with fs.open(f"hf://buckets/{bucket}/w.bin", "rb", block_size=64 * 1024) as handle:
        handle.seek(123_456)
        assert handle.read(5000) == weights.read_bytes()[123_456:128_456]


# -- privacy ---------------------------------------------------------------------------------------
def test_private_bucket_content_is_hidden(
    server: LiveServer, api: HfApi, ids: Identities, weights: Path, tmp_path: Path
) -> None:
    bucket = f"alice/pv-{uuid.uuid4().hex[:8]}"
    api.create_bucket(bucket, private=True)
    api.batch_bucket_files(bucket, add=[(weights, "secret.bin")])
    for token, status in ((ids.bob, 404), (None, 401)):
        for method, path in (
            ("HEAD", "/resolve/secret.bin"),
            ("GET", "/resolve/secret.bin"),
        ):
            answer = httpx.request(method, f"{server.url}/buckets/{bucket}{path}", headers=_auth(token))
            assert answer.status_code == status, (token, method, path)
        for kind in ("read", "write"):
            answer = httpx.get(f"{server.url}/api/buckets/{bucket}/xet-{kind}-token", headers=_auth(token))
            assert answer.status_code == status
            assert "accessToken" not in answer.text
        assert _batch(server, bucket, token or "", b'{"type": "deleteFile", "path": "secret.bin"}\n').status_code == (
            status
        )
    with pytest.raises(BucketNotFoundError):
        HfApi(token=ids.bob).download_bucket_files(
            bucket, [("secret.bin", tmp_path / "x")], raise_on_missing_files=True
        )
    assert "secret.bin" in _tree(api, bucket)


def test_fine_grained_token_for_another_bucket(server: LiveServer, api: HfApi, ids: Identities, bucket: str) -> None:
    other = f"alice/bo-{uuid.uuid4().hex[:8]}"
    api.create_bucket(other)
    scoped = issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"bucket:{other}:write"])
    denied = httpx.get(f"{server.url}/api/buckets/{bucket}/xet-write-token", headers=_auth(scoped))
    assert denied.status_code == 403
    assert "accessToken" not in denied.text
    batch = _batch(server, bucket, scoped, b'{"type": "deleteFile", "path": "x"}\n')
    assert batch.status_code == 403
    allowed = httpx.get(f"{server.url}/api/buckets/{other}/xet-write-token", headers=_auth(scoped))
    assert allowed.status_code == 200
    assert allowed.json()["accessToken"]
    HfApi(token=scoped).batch_bucket_files(other, add=[(b"scoped upload", "s.txt")])
    assert "s.txt" in _tree(api, other)


def test_xet_tokens_need_the_right_level(server: LiveServer, api: HfApi, ids: Identities, bucket: str) -> None:
    read = httpx.get(f"{server.url}/api/buckets/{bucket}/xet-read-token", headers=_auth(ids.bob))
    assert read.status_code == 200
    assert {"accessToken", "exp", "casUrl"} <= set(read.json())
    write = httpx.get(f"{server.url}/api/buckets/{bucket}/xet-write-token", headers=_auth(ids.bob))
    assert write.status_code == 403
    cas, token = read.json()["casUrl"], read.json()["accessToken"]
    xorb = httpx.post(f"{cas}/v1/xorbs/default/{'0' * 64}", content=b"x", headers=_auth(token))
    assert xorb.status_code == 403  # a read grant cannot upload


# -- the batch's answers -------------------------------------------------------------------------
def test_bad_lines_are_400_and_unknown_hashes_fail_per_path(server: LiveServer, api: HfApi, bucket: str) -> None:
    for body in (
        b"{not json\n",
        b"[1, 2]\n",
        b'{"type": "renameFile", "path": "a"}\n',
        b'{"type": "addFile", "path": 7, "xetHash": "00"}\n',
        b'{"type": "addFile", "path": "a", "xetHash": "' + b"0" * 64 + b'", "mtime": "yesterday"}\n',
        b'{"type": "addFile", "path": "a", "xetHash": "' + b"0" * 64 + b'", "contentType": "text/plain\\r\\nX: y"}\n',
        b'{"type": "deleteFile", "path": "a"}\n' * 1001,
    ):
        answer = _batch(server, bucket, api.token, body)
        assert (answer.status_code, answer.headers.get("x-error-code")) == (400, "BadRequest"), body[:80]
    unknown = "ab" * 32
    api.batch_bucket_files(bucket, add=[(b"fine", "ok.txt")])
    with pytest.raises(BucketBatchError) as raised:
        api.batch_bucket_files(
            bucket,
            copy=[("bucket", bucket, unknown, "copied.txt")],
            delete=["ok.txt"],
        )
    assert [f["path"] for f in raised.value.failures] == ["copied.txt"]
    assert raised.value.response.status_code == 200  # the delete went through
    lines = (
        f'{{"type": "addFile", "path": "x.bin", "xetHash": "{unknown}", "mtime": 1}}\n'
        '{"type": "addFile", "path": "../up", "xetHash": "' + "0" * 64 + '", "mtime": 1}\n'
    ).encode()
    all_failed = _batch(server, bucket, api.token, lines)
    assert all_failed.status_code == 422
    assert [f["path"] for f in all_failed.json()["failed"]] == ["x.bin", "../up"]
    assert set(_tree(api, bucket)) == set()


def test_a_hash_is_not_a_capability(server: LiveServer, api: HfApi, ids: Identities, weights: Path) -> None:
    """Bob knows the hash of a file in alice's private bucket: neither addFile nor copyFile gets it."""
    private = f"alice/ph-{uuid.uuid4().hex[:8]}"
    api.create_bucket(private, private=True)
    api.batch_bucket_files(private, add=[(weights, "secret.bin")])
    secret_hash = _tree(api, private)["secret.bin"].xet_hash
    bobs = f"bob/mine-{uuid.uuid4().hex[:8]}"
    bob = HfApi(token=ids.bob)
    bob.create_bucket(bobs)
    with pytest.raises(BucketBatchError) as raised:
        bob.batch_bucket_files(bobs, copy=[("bucket", private, secret_hash, "stolen.bin")])
    assert raised.value.response.status_code == 422
    line = f'{{"type": "addFile", "path": "stolen.bin", "xetHash": "{secret_hash}", "mtime": 1}}\n'.encode()
    added = _batch(server, bobs, ids.bob, line)
    assert added.status_code == 422
    assert list(bob.list_bucket_tree(bobs)) == []


# -- server-side copies --------------------------------------------------------------------------
def test_copy_bucket_to_bucket_stores_no_new_xorbs(
    server: LiveServer, api: HfApi, bucket: str, weights: Path, tmp_path: Path
) -> None:
    api.batch_bucket_files(bucket, add=[(weights, "models/a.safetensors"), (b"cfg", "models/config.json")])
    target = f"alice/bt-{uuid.uuid4().hex[:8]}"
    api.create_bucket(target)
    before = xorb_count(server)
    api.copy_files(f"hf://buckets/{bucket}/models/", f"hf://buckets/{target}/backup/")
    assert xorb_count(server) == before
    tree = _tree(api, target)
    assert set(tree) == {"backup/a.safetensors", "backup/config.json"}
    assert tree["backup/a.safetensors"].xet_hash == _tree(api, bucket)["models/a.safetensors"].xet_hash
    api.download_bucket_files(target, [("backup/a.safetensors", tmp_path / "a")])
    assert (tmp_path / "a").read_bytes() == weights.read_bytes()


def test_copy_repo_to_bucket_stores_no_new_xorbs(
    server: LiveServer, api: HfApi, bucket: str, weights: Path, tmp_path: Path
) -> None:
    repo = f"alice/r-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=str(weights), path_in_repo="model.safetensors", repo_id=repo)
    before = xorb_count(server)
    api.copy_files(f"hf://{repo}/model.safetensors", f"hf://buckets/{bucket}/from-repo.safetensors")
    assert xorb_count(server) == before
    api.download_bucket_files(bucket, [("from-repo.safetensors", tmp_path / "m")])
    assert (tmp_path / "m").read_bytes() == weights.read_bytes()
    # addFile takes a hash the caller may download elsewhere (here: alice's public repo) as well,
    # into a bucket that never held it.
    xet_hash = _tree(api, bucket)["from-repo.safetensors"].xet_hash
    fresh = f"alice/bf-{uuid.uuid4().hex[:10]}"
    api.create_bucket(fresh)
    line = f'{{"type": "addFile", "path": "again.safetensors", "xetHash": "{xet_hash}", "mtime": 5}}\n'.encode()
    assert _batch(server, fresh, api.token, line).json() == {"failed": []}
    assert _tree(api, fresh)["again.safetensors"].size == weights.stat().st_size
    assert xorb_count(server) == before


def test_copy_from_a_repo_the_caller_cannot_download_fails(
    server: LiveServer, api: HfApi, ids: Identities, weights: Path
) -> None:
    repo = f"alice/pr-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=str(weights), path_in_repo="w.bin", repo_id=repo)
    xet_hash = next(iter(api.get_paths_info(repo, ["w.bin"]))).xet_hash
    assert xet_hash
    bobs = f"bob/cp-{uuid.uuid4().hex[:8]}"
    bob = HfApi(token=ids.bob)
    bob.create_bucket(bobs)
    with pytest.raises(BucketBatchError):
        bob.batch_bucket_files(bobs, copy=[("model", repo, xet_hash, "w.bin")])
    assert list(bob.list_bucket_tree(bobs)) == []


def test_upload_under_a_bucket_grant_deduplicates_against_the_bucket(
    server: LiveServer, api: HfApi, bucket: str, weights: Path, tmp_path: Path
) -> None:
    """The same content uploaded again under the bucket's grant sends no new xorbs."""
    api.batch_bucket_files(bucket, add=[(weights, "one.bin")])
    before = xorb_count(server)
    copy = tmp_path / "again.bin"
    copy.write_bytes(weights.read_bytes())
    api.batch_bucket_files(bucket, add=[(copy, "two.bin")])
    assert xorb_count(server) == before
    tree = _tree(api, bucket)
    assert tree["one.bin"].xet_hash == tree["two.bin"].xet_hash


def test_http_errors_are_hub_shaped(server: LiveServer, api: HfApi) -> None:
    answer = httpx.get(f"{server.url}/api/buckets/alice/no-such-{uuid.uuid4().hex[:6]}/xet-write-token",
                       headers=_auth(api.token))  # fmt: skip
    assert (answer.status_code, answer.headers["x-error-code"]) == (404, "RepoNotFound")
    with pytest.raises(HfHubHTTPError):
        api.get_bucket_file_metadata(f"alice/no-such-{uuid.uuid4().hex[:6]}", "x")


# -- the dedup boundary ----------------------------------------------------------------------------
def _bucket_cas(server: LiveServer, token: str, bucket: str, kind: str) -> tuple[str, dict[str, str]]:
    answer = httpx.get(f"{server.url}/api/buckets/{bucket}/xet-{kind}-token", headers=_auth(token))
    assert answer.status_code == 200, answer.text
    return answer.json()["casUrl"], _auth(answer.json()["accessToken"])


def test_private_bucket_content_is_neither_deduplicated_nor_reconstructed_for_outsiders(
    server: LiveServer, api: HfApi, ids: Identities
) -> None:
    from dockyard.xet.chunking import iter_chunks
    from dockyard.xet.hashes import MerkleHash, chunk_hash
    from tests.compat.test_xet import _shard_reading

    private, bobs = f"alice/pd-{uuid.uuid4().hex[:8]}", f"bob/pd-{uuid.uuid4().hex[:8]}"
    api.create_bucket(private, private=True)
    HfApi(token=ids.bob).create_bucket(bobs)
    secret = os.urandom(2 * 1024 * 1024)
    api.batch_bucket_files(private, add=[(secret, "secret.bin")])
    file_hash = _tree(api, private)["secret.bin"].xet_hash
    first_chunk = chunk_hash(next(iter_chunks(secret))).hex()

    cas, as_alice = _bucket_cas(server, ids.alice, private, "read")
    _, as_bob = _bucket_cas(server, ids.bob, bobs, "write")
    _, as_alice_elsewhere = _bucket_cas(server, ids.alice, bobs, "read")  # a public bucket's grant
    assert httpx.get(f"{cas}/v1/chunks/default/{first_chunk}", headers=as_alice).status_code == 200
    assert httpx.get(f"{cas}/v1/chunks/default/{first_chunk}", headers=as_bob).status_code == 404
    assert httpx.get(f"{cas}/v1/reconstructions/{file_hash}", headers=as_alice).status_code == 200
    assert httpx.get(f"{cas}/v1/reconstructions/{file_hash}", headers=as_bob).status_code == 404
    # A grant reconstructs only what its own bucket holds, whoever its user is.
    assert httpx.get(f"{cas}/v2/reconstructions/{file_hash}", headers=as_alice_elsewhere).status_code == 404

    xorb = httpx.get(f"{cas}/v1/reconstructions/{file_hash}", headers=as_alice).json()["terms"][0]["hash"]
    stolen = _shard_reading(MerkleHash.from_hex(xorb), list(iter_chunks(secret)))
    assert httpx.post(f"{cas}/v1/shards", content=stolen, headers=as_bob).status_code == 404

    # Made public, the same content is offered to bob's bucket: dedup works across buckets.
    api.update_bucket_settings(private, private=False)
    assert httpx.get(f"{cas}/v1/chunks/default/{first_chunk}", headers=as_bob).status_code == 200


# -- garbage collection --------------------------------------------------------------------------
@pytest.fixture
def own_server(tmp_path: Path, backend: Backend) -> Iterator[tuple[LiveServer, str]]:
    """GC with no grace period would race the other tests' uploads: a server of its own."""
    live = start_server(tmp_path / "data", free_port(), backend=backend)
    try:
        yield live, create_identities(live.data_dir, live.env).alice
    finally:
        live.stop()


def test_gc_keeps_what_bucket_files_name(own_server: tuple[LiveServer, str]) -> None:
    server, token = own_server
    api = HfApi(endpoint=server.url, token=token)
    bucket = f"alice/gc-{uuid.uuid4().hex[:8]}"
    api.create_bucket(bucket)
    data = os.urandom(300_000)
    api.batch_bucket_files(bucket, add=[(data, "kept.bin")])
    report = json.loads(server.cli("gc", "--grace-seconds", "0").stdout)
    assert report["xet_files_removed"] == 0
    answer = httpx.get(f"{server.url}/buckets/{bucket}/resolve/kept.bin", headers=_auth(token))
    assert answer.status_code == 200
    assert answer.content == data


def test_adding_old_content_by_hash_claims_it_from_garbage_collection(
    server: LiveServer, api: HfApi, bucket: str
) -> None:
    """Content nothing has named for days, added again by its hash, is marked in use in the batch's
    own transaction: a sweep running at that moment (on PostgreSQL it re-checks its guarded
    DELETE against these rows) keeps it instead of freeing what the new path is about to name."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from dockyard.xet.models import XetFile, XetFileXorb, XetXorb
    from tests.support.buckets import hub_session

    api.batch_bucket_files(bucket, add=[(os.urandom(200_000), "old.bin")])
    xet_hash = str(_tree(api, bucket)["old.bin"].xet_hash)  # type: ignore[attr-defined]
    long_ago = datetime.now(UTC) - timedelta(days=30)
    with hub_session(server) as session:
        xorbs = list(session.scalars(select(XetFileXorb.xorb_hash).where(XetFileXorb.file_hash == xet_hash)))
        session.execute(update(XetFile).where(XetFile.file_hash == xet_hash).values(created_at=long_ago))
        session.execute(update(XetXorb).where(XetXorb.hash.in_(xorbs)).values(last_used_at=long_ago))
    assert xorbs

    line = {"type": "addFile", "path": "again.bin", "xetHash": xet_hash, "mtime": 1}
    assert _batch(server, bucket, api.token, json.dumps(line).encode() + b"\n").status_code == 200

    recent = datetime.now(UTC) - timedelta(hours=1)
    with hub_session(server) as session:
        assert session.get_one(XetFile, xet_hash).created_at > recent
        assert all(session.get_one(XetXorb, x).last_used_at > recent for x in xorbs)
