"""Issue 9, as the attacker plays it: bob holds a write token on his own repos and wants alice's
private bytes, or a gated repo's files without a grant. Every answer must refuse without the bytes.

Attacks: 1 (content stolen by hash), 3 (gated content without a grant), 9 (reused content is
linked to the committing repo) and 11 (fine-grained scopes apply everywhere).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from dockyard.xet.hashes import (
    MerkleHash,
    chunk_hash,
    file_hash,
    parse_hash_hex,
    sha256_as_hash,
    verification_range_hash,
)
from dockyard.xet.shard import FileInfo, FileTerm
from dockyard.xet.shard_writer import serialize_shard
from dockyard.xet.xorb import decode_chunks
from tests.support.accounts import Identities, issue_token
from tests.support.git import GitClient, repo_url
from tests.support.server import LiveServer

SECRET = b"alice's private weights " + os.urandom(64)
NOTES = b"gated notes: the training recipe is secret\n"


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _batch(server: LiveServer, repo: str, token: str | None, operation: str, oid: str, size: int) -> httpx.Response:
    body = {"operation": operation, "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]}
    headers = {**_auth(token), "Accept": "application/vnd.git-lfs+json"}
    return httpx.post(f"{server.url}/{repo}.git/info/lfs/objects/batch", json=body, headers=headers)


def _commit_pointer(
    server: LiveServer, repo: str, token: str, oid: str, size: int, *, create_pr: bool = False
) -> httpx.Response:
    lines = [
        {"key": "header", "value": {"summary": "add a pointer"}},
        {"key": "lfsFile", "value": {"path": "stolen.bin", "algo": "sha256", "oid": oid, "size": size}},
    ]
    return httpx.post(
        f"{server.url}/api/models/{repo}/commit/main",
        params={"create_pr": "1"} if create_pr else {},
        content=b"\n".join(json.dumps(line).encode() for line in lines),
        headers={**_auth(token), "Content-Type": "application/x-ndjson"},
    )


def _own_repo(token: str, owner: str) -> str:
    repo = f"{owner}/mine-{uuid.uuid4().hex[:8]}"
    HfApi(token=token).create_repo(repo)
    return repo


@pytest.fixture(scope="module")
def victim(ids: Identities) -> str:
    repo = f"alice/victim-{uuid.uuid4().hex[:8]}"
    api = HfApi(token=ids.alice)
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=SECRET, path_in_repo="secret.bin", repo_id=repo)
    return repo


@pytest.fixture(scope="module")
def gated(ids: Identities, tmp_path_factory: pytest.TempPathFactory) -> str:
    repo = f"acme/gated-{uuid.uuid4().hex[:8]}"
    api = HfApi(token=ids.alice)
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=NOTES, path_in_repo="notes.txt", repo_id=repo)
    api.upload_file(path_or_fileobj=SECRET, path_in_repo="weights.bin", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    return repo


# -- attack 1 ---------------------------------------------------------------------------------------
def test_knowing_an_oid_and_size_does_not_unlock_private_content(
    server: LiveServer, ids: Identities, victim: str
) -> None:
    oid, size = hashlib.sha256(SECRET).hexdigest(), len(SECRET)
    mine = _own_repo(ids.bob, "bob")

    planned = _batch(server, mine, ids.bob, "upload", oid, size).json()["objects"][0]
    unknown = _batch(server, mine, ids.bob, "upload", hashlib.sha256(b"never stored").hexdigest(), 12).json()
    assert set(planned) == set(unknown["objects"][0])  # the answer does not say the object exists
    verified = httpx.post(planned["actions"]["verify"]["href"], json={"oid": oid, "size": size}, headers=_auth(ids.bob))
    assert verified.status_code == 404  # nothing was uploaded

    committed = _commit_pointer(server, mine, ids.bob, oid, size)
    assert committed.status_code == 400
    download = _batch(server, mine, ids.bob, "download", oid, size).json()["objects"][0]
    assert "actions" not in download
    resolved = httpx.get(f"{server.url}/{mine}/resolve/main/stolen.bin", headers=_auth(ids.bob))
    assert SECRET not in resolved.content


# -- attack 3 ---------------------------------------------------------------------------------------
def test_a_gated_repo_cannot_be_duplicated_without_a_grant(server: LiveServer, ids: Identities, gated: str) -> None:
    target = f"bob/copy-{uuid.uuid4().hex[:8]}"
    answer = httpx.post(
        f"{server.url}/api/models/{gated}/duplicate", json={"repository": target}, headers=_auth(ids.bob)
    )
    assert answer.status_code == 403
    assert answer.headers["x-error-code"] == "GatedRepo"
    assert httpx.get(f"{server.url}/api/models/{target}", headers=_auth(ids.bob)).status_code == 404


def test_a_pointer_to_a_gated_files_oid_is_refused(server: LiveServer, ids: Identities, gated: str) -> None:
    entry = HfApi(token=ids.bob).get_paths_info(gated, ["weights.bin"])[0]  # metadata stays readable
    assert entry.lfs is not None
    mine = _own_repo(ids.bob, "bob")
    committed = _commit_pointer(server, mine, ids.bob, entry.lfs.sha256, entry.lfs.size)
    assert committed.status_code == 400
    resolved = httpx.get(f"{server.url}/{mine}/resolve/main/stolen.bin", headers=_auth(ids.bob))
    assert SECRET not in resolved.content


def test_xet_tokens_for_a_gated_repo_need_a_grant(server: LiveServer, ids: Identities, gated: str) -> None:
    for kind, params in (("write", {"create_pr": "1"}), ("write", {}), ("read", {})):
        answer = httpx.get(
            f"{server.url}/api/models/{gated}/xet-{kind}-token/main", params=params, headers=_auth(ids.bob)
        )
        assert answer.status_code == 403, (kind, params, answer.text)
        assert "accessToken" not in answer.text


def test_a_gated_repos_diff_needs_the_download_right(server: LiveServer, ids: Identities, gated: str) -> None:
    sha = HfApi(token=ids.alice).model_info(gated).sha
    compare = f"{server.url}/api/models/{gated}/compare/{sha}"
    anonymous = httpx.get(compare)
    assert anonymous.status_code == 401
    assert NOTES not in anonymous.content
    refused = httpx.get(compare, headers=_auth(ids.bob))
    assert refused.status_code == 403
    assert refused.headers["x-error-code"] == "GatedRepo"
    assert httpx.get(compare, headers=_auth(ids.alice)).status_code == 200


def test_git_clone_of_a_gated_repo_needs_the_download_right(
    server: LiveServer, ids: Identities, gated: str, tmp_path: Path
) -> None:
    elsewhere = issue_token(server.data_dir, server.env, "alice", "fineGrained", ["model:acme/elsewhere:read"])
    git = GitClient.create(tmp_path / "home")
    for token in (ids.bob, elsewhere):
        cloned = git.clone(repo_url(server.url, gated, token=token), tmp_path / uuid.uuid4().hex, check=False)
        assert cloned.returncode != 0
    owner = git.clone(repo_url(server.url, gated, token=ids.alice), tmp_path / "owner", check=False)
    assert owner.returncode == 0, owner.stderr


# -- attack 9 ---------------------------------------------------------------------------------------
def test_a_commit_reusing_content_links_it_to_the_committing_repo(server: LiveServer, ids: Identities) -> None:
    public = f"alice/shared-{uuid.uuid4().hex[:8]}"
    alice = HfApi(token=ids.alice)
    alice.create_repo(public)
    data = os.urandom(4096)
    alice.upload_file(path_or_fileobj=data, path_in_repo="shared.bin", repo_id=public)
    entry = alice.get_paths_info(public, ["shared.bin"])[0]
    assert entry.lfs is not None

    mine = _own_repo(ids.bob, "bob")
    assert _commit_pointer(server, mine, ids.bob, entry.lfs.sha256, len(data)).status_code == 200
    planned = _batch(server, mine, ids.bob, "download", entry.lfs.sha256, len(data)).json()["objects"][0]
    assert httpx.get(planned["actions"]["download"]["href"]).content == data
    if entry.xet_hash:
        token = httpx.get(f"{server.url}/api/models/{mine}/xet-read-token/main", headers=_auth(ids.bob)).json()
        rebuilt = httpx.get(
            f"{token['casUrl']}/v2/reconstructions/{entry.xet_hash}", headers=_auth(token["accessToken"])
        )
        assert rebuilt.status_code == 200


def test_git_push_links_a_pointer_only_for_those_who_may_download_it(
    server: LiveServer, ids: Identities, gated: str, tmp_path: Path
) -> None:
    """A pushed pointer (no bytes sent: git-lfs has nothing to upload) follows the API's rule."""
    entry = HfApi(token=ids.bob).get_paths_info(gated, ["weights.bin"])[0]
    assert entry.lfs is not None
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{entry.lfs.sha256}\nsize {entry.lfs.size}\n"
    git = GitClient.create(tmp_path / "home")
    pushed = {}
    for name, token in (("bob", ids.bob), ("carol", ids.carol)):
        mine = _own_repo(token, name)
        work = tmp_path / name
        git.clone(repo_url(server.url, mine, token=token), work)
        git.run("config", "lfs.allowincompletepush", "true", cwd=work)
        (work / "reused.bin").write_text(pointer)
        git.commit_all(work, "reuse the gated weights")
        pushed[name] = (mine, git.run("push", "origin", "main", cwd=work, check=False))
    assert pushed["bob"][1].returncode != 0  # bob may see the oid, not download the bytes
    carols, done = pushed["carol"]
    assert done.returncode == 0, done.stderr  # a member may reuse it, and her repo now serves it
    planned = _batch(server, carols, ids.carol, "download", entry.lfs.sha256, entry.lfs.size).json()["objects"][0]
    assert httpx.get(planned["actions"]["download"]["href"]).content == SECRET


# -- attack 11 --------------------------------------------------------------------------------------
def test_a_fine_grained_token_reads_gated_content_only_inside_its_scopes(
    server: LiveServer, ids: Identities, gated: str
) -> None:
    elsewhere = issue_token(server.data_dir, server.env, "alice", "fineGrained", ["model:acme/elsewhere:read"])
    covering = issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"model:{gated}:read"])
    url = f"{server.url}/{gated}/resolve/main/notes.txt"
    refused = httpx.get(url, headers=_auth(elsewhere))
    assert refused.status_code == 403
    assert NOTES not in refused.content
    assert httpx.get(url, headers=_auth(covering)).content == NOTES


def test_a_hub_admins_fine_grained_token_is_held_to_its_scopes(
    server: LiveServer, ids: Identities, victim: str
) -> None:
    admin = f"root-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", admin, "--admin")
    scoped = issue_token(server.data_dir, server.env, admin, "fineGrained", [f"user:{admin}:write"])
    listed = httpx.get(f"{server.url}/api/models", params={"search": victim.split("/")[1]}, headers=_auth(scoped))
    assert listed.json() == []
    assert httpx.get(f"{server.url}/api/models/{victim}", headers=_auth(scoped)).status_code == 404
    assert httpx.get(f"{server.url}/api/admin/audit", headers=_auth(scoped)).status_code == 403
    whole = issue_token(server.data_dir, server.env, admin, "read")
    assert httpx.get(f"{server.url}/api/admin/audit", headers=_auth(whole)).status_code == 200


def test_org_members_are_managed_only_with_a_token_covering_the_org(server: LiveServer) -> None:
    stamp = uuid.uuid4().hex[:6]
    owner, org, newcomer = f"boss-{stamp}", f"org-{stamp}", f"new-{stamp}"
    server.cli("user", "create", owner)
    server.cli("org", "create", org, "--owner", owner)
    server.cli("user", "create", newcomer)
    members = f"{server.url}/api/organizations/{org}/members"
    other = issue_token(server.data_dir, server.env, owner, "fineGrained", [f"model:{owner}/elsewhere:write"])
    refused = httpx.put(members, json={"user": newcomer, "role": "admin"}, headers=_auth(other))
    assert refused.status_code == 403
    assert httpx.get(members, headers=_auth(other)).status_code == 403
    whole = issue_token(server.data_dir, server.env, owner, "write")
    assert newcomer not in [m["user"] for m in httpx.get(members, headers=_auth(whole)).json()]
    covering = issue_token(server.data_dir, server.env, owner, "fineGrained", [f"org:{org}:write"])
    assert httpx.put(members, json={"user": newcomer, "role": "read"}, headers=_auth(covering)).status_code == 200


def test_pull_requests_and_xet_write_tokens_need_a_write_scope_on_the_repo(server: LiveServer, ids: Identities) -> None:
    target = _own_repo(ids.alice, "alice")
    bob_elsewhere = issue_token(server.data_dir, server.env, "bob", "fineGrained", ["model:bob/elsewhere:write"])
    line = {"key": "file", "value": {"path": "x.txt", "content": base64.b64encode(b"x").decode(), "encoding": "base64"}}
    body = b"\n".join(json.dumps(x).encode() for x in ({"key": "header", "value": {"summary": "pr"}}, line))
    opened = httpx.post(
        f"{server.url}/api/models/{target}/commit/main",
        params={"create_pr": "1"},
        content=body,
        headers={**_auth(bob_elsewhere), "Content-Type": "application/x-ndjson"},
    )
    assert opened.status_code == 403
    token = httpx.get(
        f"{server.url}/api/models/{target}/xet-write-token/None",
        params={"create_pr": "1"},
        headers=_auth(bob_elsewhere),
    )
    assert token.status_code == 403
    bob_here = issue_token(server.data_dir, server.env, "bob", "fineGrained", [f"model:{target}:write"])
    allowed = httpx.post(
        f"{server.url}/api/models/{target}/commit/main",
        params={"create_pr": "1"},
        content=body,
        headers={**_auth(bob_here), "Content-Type": "application/x-ndjson"},
    )
    assert allowed.status_code == 200, allowed.text


def _fetched_chunks(fetch: dict[str, Any]) -> dict[int, tuple[MerkleHash, int]]:
    """Chunk index -> (hash, size) of one fetch of a reconstruction, read as the client reads it:
    the byte range it names, following the redirect to object storage where it presigns."""
    span = fetch["url_range"]
    ranged = {"Range": f"bytes={span['start']}-{span['end']}"}
    data = httpx.get(fetch["url"], headers=ranged, follow_redirects=True).content  # to storage, when it presigns
    first = fetch["range"]["start"]
    return {first + i: (chunk_hash(chunk), len(chunk)) for i, chunk in enumerate(decode_chunks(data))}


def _shard_rebuilding(server: LiveServer, token: str, repo: str, path: str) -> tuple[bytes, str]:
    """An upload shard that registers ``path`` (a Xet file of ``repo``) from its stored xorbs, built
    from what ``token`` may read: the file's terms, and the chunk hashes of the xorbs they name."""
    entry = HfApi(token=token).get_paths_info(repo, [path])[0]
    assert entry.lfs is not None
    assert entry.xet_hash is not None
    cas = httpx.get(f"{server.url}/api/models/{repo}/xet-read-token/main", headers=_auth(token)).json()
    plan = httpx.get(f"{cas['casUrl']}/v1/reconstructions/{entry.xet_hash}", headers=_auth(cas["accessToken"])).json()
    chunks: dict[str, dict[int, tuple[MerkleHash, int]]] = {}
    for xorb, fetches in plan["fetch_info"].items():
        chunks[xorb] = {}
        for fetch in fetches:
            chunks[xorb].update(_fetched_chunks(fetch))
    terms, leaves, checks = [], [], []
    for term in plan["terms"]:
        start, end = term["range"]["start"], term["range"]["end"]
        selected = [chunks[term["hash"]][index] for index in range(start, end)]
        terms.append(FileTerm(parse_hash_hex(term["hash"]), start, end, term["unpacked_length"]))
        leaves += selected
        checks.append(verification_range_hash(h for h, _ in selected))
    info = FileInfo(file_hash(leaves), tuple(terms), tuple(checks), sha256_as_hash(bytes.fromhex(entry.lfs.sha256)))
    return serialize_shard([info]), entry.lfs.sha256


def test_a_shard_builds_files_only_from_content_the_token_may_download(
    server: LiveServer, ids: Identities, tmp_path: Path
) -> None:
    """Alice may read acme's private repo, but a token scoped to her own sink repo may not: a shard
    sent with that token must not turn acme's chunks into a file of her sink."""
    private = f"acme/xet-{uuid.uuid4().hex[:8]}"
    alice = HfApi(token=ids.alice)
    alice.create_repo(private, private=True)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(os.urandom(300_000))
    alice.upload_file(path_or_fileobj=weights, path_in_repo="w.safetensors", repo_id=private)
    shard, oid = _shard_rebuilding(server, ids.alice, private, "w.safetensors")

    sink = _own_repo(ids.alice, "alice")
    narrow = issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"model:{sink}:write"])
    cas = httpx.get(f"{server.url}/api/models/{sink}/xet-write-token/main", headers=_auth(narrow)).json()
    answer = httpx.post(f"{cas['casUrl']}/v1/shards", content=shard, headers=_auth(cas["accessToken"]))
    assert answer.status_code == 404, answer.text
    assert _commit_pointer(server, sink, narrow, oid, 300_000).status_code == 400

    whole = httpx.get(f"{server.url}/api/models/{sink}/xet-write-token/main", headers=_auth(ids.alice)).json()
    allowed = httpx.post(f"{cas['casUrl']}/v1/shards", content=shard, headers=_auth(whole["accessToken"]))
    assert allowed.status_code == 200, allowed.text  # her full token may: she reads acme's repo
