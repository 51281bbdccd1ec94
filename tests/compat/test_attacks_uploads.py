"""Attacks on the upload paths (issue 9, attacks 2 and 7), played against a live server.

Attack 2: multipart LFS parts of uneven length, sent chunked (no Content-Length), whose bytes in
arrival order are exactly a victim's file while the parts overlap and leave a hole. Attack 7:
request bodies with no size limit, on the routes anyone may call and on the upload routes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator

import httpx
import pytest
from huggingface_hub import HfApi

from tests.compat.conftest import MULTIPART_CHUNK
from tests.support.accounts import Identities
from tests.support.server import LiveServer

KIB = 1024
MIB = 1024 * KIB
LFS_HEADERS = {"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}


def _chunked(data: bytes, piece: int = 256 * KIB) -> Iterator[bytes]:
    """A body httpx sends with ``Transfer-Encoding: chunked``: the server learns its length only by reading it."""
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def public_repo(api: HfApi, repo_name: str) -> str:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"# hello\n", path_in_repo="README.md", repo_id=repo_id)
    return repo_id


# -- attack 2: overwriting stored content through multipart parts -------------------------------
def test_uneven_multipart_parts_cannot_overwrite_a_victims_file(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str, lfs_transfer: None
) -> None:
    victim = HfApi(token=ids.bob)
    secret = f"bob/{repo_name}"
    victim.create_repo(secret, private=True)
    weights = os.urandom(2 * MULTIPART_CHUNK + MIB)  # three parts: 4 MiB, 4 MiB, 1 MiB
    victim.upload_file(path_or_fileobj=weights, path_in_repo="model.bin", repo_id=secret)
    oid = hashlib.sha256(weights).hexdigest()

    # The attacker knows the oid and size (a public model's pointer, say) and uploads "the same file".
    mine = f"alice/{repo_name}-copy"
    api.create_repo(mine)
    batch = httpx.post(
        f"{server.url}/{mine}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": oid, "size": len(weights)}],
        },
        headers={**_auth(ids.alice), **LFS_HEADERS},
    )
    actions = batch.json()["objects"][0]["actions"]
    header = actions["upload"]["header"]
    overlap = 100 * KIB  # part 1 runs 100 KiB into part 2; part 2 stops 100 KiB short: a hole
    pieces = [
        weights[: MULTIPART_CHUNK + overlap],
        weights[MULTIPART_CHUNK + overlap : 2 * MULTIPART_CHUNK],
        weights[2 * MULTIPART_CHUNK :],
    ]
    assert b"".join(pieces) == weights  # in arrival order, the bytes are the real file
    answers = [httpx.put(header[f"{number:05d}"], content=_chunked(piece)) for number, piece in enumerate(pieces, 1)]
    if header["00001"].startswith(server.url):  # parts through Dockyard: each must be exactly its length
        assert answers[0].status_code == 413
        assert answers[1].status_code == 400
    parts = [{"partNumber": n, "etag": a.headers.get("etag", "")} for n, a in enumerate(answers, 1)]
    completed = httpx.post(actions["upload"]["href"], json={"oid": oid, "parts": parts})
    assert completed.status_code >= 400

    downloaded = victim.hf_hub_download(secret, "model.bin", force_download=True)
    with open(downloaded, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == oid


def test_a_single_upload_longer_than_announced_is_refused_while_it_streams(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    content = os.urandom(1000)
    oid = hashlib.sha256(content).hexdigest()
    batch = httpx.post(
        f"{server.url}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(content)}]},
        headers={**_auth(ids.alice), **LFS_HEADERS},
    )
    upload = batch.json()["objects"][0]["actions"]["upload"]["href"]
    if not upload.startswith(server.url):
        return  # presigned storage URL: the storage enforces the signed Content-Length itself
    endless = httpx.put(upload, content=_chunked(content + os.urandom(2 * MIB)))
    assert endless.status_code == 413
    assert httpx.put(upload, content=_chunked(content)).status_code == 200


# -- attack 7: bodies with no size limit --------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_anonymous_routes_take_small_bodies_only(server: LiveServer, public_repo: str, chunked: bool) -> None:
    """Nobody needs a token to send these; each answers 413 once the body passes its small limit."""
    padding = "x" * (3 * MIB)
    requests = [
        (f"/api/models/{public_repo}/ask-access", json.dumps({"reason": padding[: 200 * KIB]})),
        (f"/api/models/{public_repo}/paths-info/main", json.dumps({"paths": ["README.md"], "pad": padding})),
        ("/api/validate-yaml", json.dumps({"content": f"---\nlicense: mit\n---\n{padding}", "repoType": "model"})),
        ("/v1/telemetry", json.dumps({"events": padding[: 200 * KIB]})),
        ("/-/cas/v1/telemetry", json.dumps({"events": padding[: 200 * KIB]})),
    ]
    for path, body in requests:
        data = body.encode()
        content = _chunked(data) if chunked else data
        answer = httpx.post(f"{server.url}{path}", content=content, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, path
        assert answer.headers["x-error-code"] == "PayloadTooLarge", path


def test_small_bodies_still_work_on_anonymous_routes(server: LiveServer, public_repo: str) -> None:
    info = httpx.post(f"{server.url}/api/models/{public_repo}/paths-info/main", data={"paths": ["README.md"]})
    assert [entry["path"] for entry in info.json()] == ["README.md"]
    chunked = httpx.post(
        f"{server.url}/api/models/{public_repo}/paths-info/main",
        content=_chunked(json.dumps({"paths": ["README.md"]}).encode()),
        headers={"Content-Type": "application/json"},
    )
    assert [entry["path"] for entry in chunked.json()] == ["README.md"]
    assert httpx.post(f"{server.url}/v1/telemetry", json={"event": "done"}).status_code == 200


def test_git_upload_pack_body_is_limited(server: LiveServer, public_repo: str) -> None:
    """A clone's negotiation is a few KiB; an endless one is cut off instead of spooled to disk."""
    flood = httpx.post(
        f"{server.url}/{public_repo}.git/git-upload-pack",
        content=_chunked(b"0032want " + b"0" * (65 * MIB), piece=MIB),
        headers={"Content-Type": "application/x-git-upload-pack-request"},
        timeout=60,
    )
    assert flood.status_code == 413


def test_json_api_bodies_have_a_default_limit(server: LiveServer, ids: Identities, repo_name: str) -> None:
    """Routes whose body FastAPI parses (pydantic models) are capped too, chunked or not."""
    body = json.dumps({"name": repo_name, "organization": None, "pad": "x" * (17 * MIB)}).encode()
    for content in (body, _chunked(body, piece=MIB)):
        answer = httpx.post(
            f"{server.url}/api/repos/create",
            content=content,
            headers={**_auth(ids.alice), "Content-Type": "application/json"},
            timeout=60,
        )
        assert answer.status_code == 413


def test_a_shard_naming_too_many_terms_is_refused(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str
) -> None:
    """One stored chunk named over and over: a small shard that would make the server hash for ages."""
    from dockyard.xet.chunking import iter_chunks
    from dockyard.xet.hashes import MerkleHash, chunk_hash, file_hash, verification_range_hash
    from dockyard.xet.shard import MAX_SHARD_TERMS, FileInfo, FileTerm
    from dockyard.xet.shard_writer import serialize_shard

    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    content = os.urandom(300)
    api.upload_file(path_or_fileobj=content, path_in_repo="tiny.safetensors", repo_id=repo_id)
    xet_hash = api.get_paths_info(repo_id, ["tiny.safetensors"])[0].xet_hash
    token = httpx.get(f"{server.url}/api/models/{repo_id}/xet-write-token/main", headers=_auth(ids.alice)).json()
    as_alice = {"Authorization": f"Bearer {token['accessToken']}"}
    cas = token["casUrl"]
    xorb = httpx.get(f"{cas}/v1/reconstructions/{xet_hash}", headers=as_alice).json()["terms"][0]["hash"]

    (chunk,) = [chunk_hash(c) for c in iter_chunks(content)]
    count = MAX_SHARD_TERMS + 1
    term = FileTerm(MerkleHash.from_hex(xorb), 0, 1, len(content))
    verification = verification_range_hash([chunk])
    leaves = [(chunk, len(content))] * count
    info = FileInfo(file_hash(leaves), (term,) * count, (verification,) * count)
    refused = httpx.post(f"{cas}/v1/shards", content=serialize_shard([info], []), headers=as_alice, timeout=60)
    assert refused.status_code == 400
    assert "more terms than the limit" in refused.headers["x-error-message"]

    huge = FileInfo(file_hash(leaves[:1]), (FileTerm(MerkleHash.from_hex(xorb), 0, 1, 2**32 - 1),) * 13)
    too_large = httpx.post(f"{cas}/v1/shards", content=serialize_shard([huge], []), headers=as_alice)
    assert too_large.status_code == 400
    assert "larger than" in too_large.headers["x-error-message"]


# -- errors keep their meaning: content a row promises but storage lacks is a 503 ----------------
def test_lfs_content_missing_from_storage_is_a_storage_error(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str, lfs_transfer: None
) -> None:
    from dockyard.storage.base import lfs_key

    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    content = os.urandom(300 * KIB)
    oid = hashlib.sha256(content).hexdigest()
    api.upload_file(path_or_fileobj=content, path_in_repo="model.bin", repo_id=repo_id)
    server.lose_blob(lfs_key(oid))

    resolved = httpx.get(f"{server.url}/{repo_id}/resolve/main/model.bin", headers=_auth(ids.alice))
    batch = httpx.post(
        f"{server.url}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": oid, "size": len(content)}]},
        headers={**_auth(ids.alice), **LFS_HEADERS},
    )
    fetched = httpx.get(batch.json()["objects"][0]["actions"]["download"]["href"])
    for answer in (resolved, fetched):
        _assert_missing_bytes_reported(answer)


def test_xet_content_missing_from_storage_is_a_storage_error(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str
) -> None:
    from dockyard.xet.reader import xorb_key

    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=os.urandom(300 * KIB), path_in_repo="w.safetensors", repo_id=repo_id)
    xet_hash = api.get_paths_info(repo_id, ["w.safetensors"])[0].xet_hash
    token = httpx.get(f"{server.url}/api/models/{repo_id}/xet-read-token/main", headers=_auth(ids.alice)).json()
    plan = httpx.get(f"{token['casUrl']}/v1/reconstructions/{xet_hash}", headers=_auth(token["accessToken"])).json()
    (term,) = plan["terms"]
    server.lose_blob(xorb_key(term["hash"]))

    resolved = httpx.get(f"{server.url}/{repo_id}/resolve/main/w.safetensors", headers=_auth(ids.alice))
    fetched = httpx.get(plan["fetch_info"][term["hash"]][0]["url"])
    for answer in (resolved, fetched):
        _assert_missing_bytes_reported(answer)


def _assert_missing_bytes_reported(answer: httpx.Response) -> None:
    """Bytes Dockyard streams itself: a 503 storage error (a row says they exist), never a 404 nor a
    cut-off 200. Where object storage serves them (presigned URLs, the scaled shape), Dockyard
    redirects without reading them, and the storage answers for its own missing key."""
    if answer.status_code in (302, 307):
        answer = httpx.get(answer.headers["location"])
    if "x-error-code" in answer.headers:
        assert answer.status_code == 503
        assert answer.headers["x-error-code"] == "StorageUnavailable"
    else:  # the S3-compatible server's own NoSuchKey
        assert answer.status_code == 404
