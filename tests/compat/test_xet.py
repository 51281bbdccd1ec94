"""Xet: what a default install (hf_xet on) does for uploads and downloads, and deduplication."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url

from dockyard.xet.hashes import MerkleHash
from tests.support.accounts import Identities, issue_token
from tests.support.server import LiveServer


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    return path


def test_default_client_uploads_through_xet_and_downloads_both_ways(
    api: HfApi, repo_name: str, big_file: Path, server: LiveServer, ids: Identities, cache_dir: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=big_file, path_in_repo="model.safetensors", repo_id=repo_id)

    entry = api.get_paths_info(repo_id, ["model.safetensors"])[0]
    assert entry.lfs is not None
    assert entry.lfs.sha256 == _sha256(big_file)
    assert entry.xet_hash is not None
    meta = get_hf_file_metadata(hf_hub_url(repo_id, "model.safetensors"), token=ids.alice)
    assert meta.xet_file_data is not None
    assert meta.xet_file_data.file_hash == entry.xet_hash

    through_xet = hf_hub_download(repo_id, "model.safetensors", cache_dir=cache_dir)
    assert _sha256(through_xet) == _sha256(big_file)

    plain = httpx.get(
        f"{server.url}/{repo_id}/resolve/main/model.safetensors", headers={"Authorization": f"Bearer {ids.alice}"}
    )
    assert plain.status_code == 200
    assert hashlib.sha256(plain.content).hexdigest() == _sha256(big_file)
    ranged = httpx.get(
        f"{server.url}/{repo_id}/resolve/main/model.safetensors",
        headers={"Authorization": f"Bearer {ids.alice}", "Range": "bytes=1000000-2500000"},
    )
    assert ranged.status_code == 206
    assert ranged.content == big_file.read_bytes()[1_000_000:2_500_001]


def test_client_without_xet_downloads_a_xet_file(
    api: HfApi, repo_name: str, big_file: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=big_file, path_in_repo="weights.bin", repo_id=repo_id)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    assert _sha256(hf_hub_download(repo_id, "weights.bin", cache_dir=cache_dir)) == _sha256(big_file)


def test_lfs_uploaded_file_is_served_to_xet_clients(
    api: HfApi, repo_name: str, big_file: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    from huggingface_hub import constants

    with monkeypatch.context() as patch:
        patch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        api.upload_file(path_or_fileobj=big_file, path_in_repo="weights.bin", repo_id=repo_id)
    assert _sha256(hf_hub_download(repo_id, "weights.bin", cache_dir=cache_dir)) == _sha256(big_file)


def test_pull_request_upload_through_xet(api: HfApi, repo_name: str, big_file: Path, cache_dir: Path) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    info = api.upload_file(path_or_fileobj=big_file, path_in_repo="pr.bin", repo_id=repo_id, create_pr=True)
    assert info.pr_num == 1
    path = hf_hub_download(repo_id, "pr.bin", revision="refs/pr/1", cache_dir=cache_dir)
    assert _sha256(path) == _sha256(big_file)


def test_reupload_of_similar_content_is_deduplicated(
    api: HfApi, repo_name: str, tmp_path: Path, server: LiveServer
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    original = os.urandom(4 * 1024 * 1024)
    (tmp_path / "v1.bin").write_bytes(original)
    api.upload_file(path_or_fileobj=tmp_path / "v1.bin", path_in_repo="v1.bin", repo_id=repo_id)
    before = httpx.get(
        f"{server.url}/api/models/{repo_id}/storage", headers={"Authorization": f"Bearer {api.token}"}
    ).json()

    changed = bytearray(original)
    changed[2_000_000:2_000_100] = os.urandom(100)
    (tmp_path / "v2.bin").write_bytes(bytes(changed))
    api.upload_file(path_or_fileobj=tmp_path / "v2.bin", path_in_repo="v2.bin", repo_id=repo_id)
    after = httpx.get(
        f"{server.url}/api/models/{repo_id}/storage", headers={"Authorization": f"Bearer {api.token}"}
    ).json()

    assert after["logicalBytes"] - before["logicalBytes"] == len(changed)
    assert after["storedBytes"] - before["storedBytes"] < len(changed) * 0.2


def test_write_token_requires_write_access(server: LiveServer, ids: Identities, api: HfApi, repo_name: str) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    url = f"{server.url}/api/models/{repo_id}/xet-write-token/main"
    assert httpx.get(url, headers={"Authorization": f"Bearer {ids.alice_read}"}).status_code == 403
    assert httpx.get(url, headers={"Authorization": f"Bearer {ids.bob}"}).status_code == 403
    granted = httpx.get(url, headers={"Authorization": f"Bearer {ids.alice}"})
    assert granted.status_code == 200
    body = granted.json()
    assert set(body) == {"accessToken", "exp", "casUrl"}
    assert granted.headers["x-xet-access-token"] == body["accessToken"]
    assert granted.headers["x-xet-cas-url"] == body["casUrl"]
    read = httpx.get(
        f"{server.url}/api/models/{repo_id}/xet-read-token/main", headers={"Authorization": f"Bearer {ids.alice}"}
    )
    cas = read.json()["casUrl"]
    xorb = httpx.post(
        f"{cas}/v1/xorbs/default/{'0' * 64}",
        content=b"junk",
        headers={"Authorization": f"Bearer {read.json()['accessToken']}"},
    )
    assert xorb.status_code == 403


def _cas_token(server: LiveServer, token: str, repo_id: str, kind: str = "write") -> tuple[str, str]:
    granted = httpx.get(
        f"{server.url}/api/models/{repo_id}/xet-{kind}-token/main", headers={"Authorization": f"Bearer {token}"}
    ).json()
    return granted["casUrl"], granted["accessToken"]


def test_malformed_xorbs_and_shards_are_refused(
    server: LiveServer, ids: Identities, api: HfApi, repo_name: str
) -> None:
    from dockyard.xet.chunking import iter_chunks
    from dockyard.xet.hashes import chunk_hash, xorb_hash
    from dockyard.xet.xorb import build_xorb

    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    cas, token = _cas_token(server, ids.alice, repo_id)
    auth = {"Authorization": f"Bearer {token}"}
    chunks = list(iter_chunks(os.urandom(200_000)))
    real = build_xorb(chunks)
    claimed = xorb_hash([(chunk_hash(c), len(c)) for c in chunks]).hex()

    wrong_hash = httpx.post(f"{cas}/v1/xorbs/default/{'1' * 64}", content=real.data, headers=auth)
    assert wrong_hash.status_code == 400
    truncated = httpx.post(f"{cas}/v1/xorbs/default/{claimed}", content=real.data[:-10], headers=auth)
    assert truncated.status_code == 400
    garbage = httpx.post(f"{cas}/v1/xorbs/default/{claimed}", content=os.urandom(5000), headers=auth)
    assert garbage.status_code == 400
    accepted = httpx.post(f"{cas}/v1/xorbs/default/{claimed}", content=real.data, headers=auth)
    assert accepted.status_code == 200
    assert accepted.json() == {"was_inserted": True}
    again = httpx.post(f"{cas}/v1/xorbs/default/{claimed}", content=real.data, headers=auth)
    assert again.json() == {"was_inserted": False}

    bad_shard = httpx.post(f"{cas}/v2/shards", content=os.urandom(3000), headers=auth)
    assert bad_shard.status_code == 400
    no_auth = httpx.post(f"{cas}/v1/xorbs/default/{claimed}", content=real.data)
    assert no_auth.status_code == 401


def test_private_content_is_neither_deduplicated_nor_reconstructed_for_outsiders(
    server: LiveServer, ids: Identities, repo_name: str, tmp_path: Path
) -> None:
    from dockyard.xet.chunking import iter_chunks
    from dockyard.xet.hashes import chunk_hash

    alice, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    private_id, bob_id = f"alice/{repo_name}-private", f"bob/{repo_name}"
    alice.create_repo(private_id, private=True)
    bob.create_repo(bob_id)
    secret = os.urandom(2 * 1024 * 1024)
    (tmp_path / "secret.bin").write_bytes(secret)
    alice.upload_file(path_or_fileobj=tmp_path / "secret.bin", path_in_repo="secret.bin", repo_id=private_id)
    file_hash = alice.get_paths_info(private_id, ["secret.bin"])[0].xet_hash
    first_chunk = chunk_hash(next(iter_chunks(secret))).hex()

    cas, alice_token = _cas_token(server, ids.alice, private_id, "read")
    _, bob_token = _cas_token(server, ids.bob, bob_id, "write")
    as_alice = {"Authorization": f"Bearer {alice_token}"}
    as_bob = {"Authorization": f"Bearer {bob_token}"}
    assert httpx.get(f"{cas}/v1/chunks/default/{first_chunk}", headers=as_alice).status_code == 200
    assert httpx.get(f"{cas}/v1/chunks/default/{first_chunk}", headers=as_bob).status_code == 404
    assert httpx.get(f"{cas}/v1/reconstructions/{file_hash}", headers=as_alice).status_code == 200
    assert httpx.get(f"{cas}/v1/reconstructions/{file_hash}", headers=as_bob).status_code == 404
    assert httpx.get(f"{cas}/v2/reconstructions/{file_hash}", headers=as_bob).status_code == 404

    # Even knowing every hash, bob cannot register a file of his own built from alice's private xorb.
    xorb = httpx.get(f"{cas}/v1/reconstructions/{file_hash}", headers=as_alice).json()["terms"][0]["hash"]
    stolen = _shard_reading(MerkleHash.from_hex(xorb), list(iter_chunks(secret)))
    assert httpx.post(f"{cas}/v1/shards", content=stolen, headers=as_bob).status_code == 404
    assert httpx.post(f"{cas}/v2/shards", content=stolen, headers=as_bob).status_code == 404


def _shard_reading(xorb: MerkleHash, chunks: list[bytes]) -> bytes:
    """An upload shard declaring one file made of all of ``xorb``'s chunks."""
    from dockyard.xet.hashes import chunk_hash, file_hash, verification_range_hash
    from dockyard.xet.shard import FileInfo, FileTerm
    from dockyard.xet.shard_writer import serialize_shard

    entries = [(chunk_hash(c), len(c)) for c in chunks]
    term = FileTerm(xorb, 0, len(chunks), sum(size for _, size in entries))
    info = FileInfo(file_hash(entries), (term,), (verification_range_hash(h for h, _ in entries),))
    return serialize_shard([info], [])


def test_incompressible_file_larger_than_one_xorb(api: HfApi, repo_name: str, tmp_path: Path, cache_dir: Path) -> None:
    """Random weights do not compress: a full xorb is 64 MiB of chunk data plus headers and footer."""
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    source = tmp_path / "random.safetensors"
    source.write_bytes(os.urandom(70 * 1024 * 1024))
    api.upload_file(path_or_fileobj=source, path_in_repo="random.safetensors", repo_id=repo_id)

    assert api.get_paths_info(repo_id, ["random.safetensors"])[0].xet_hash is not None
    downloaded = hf_hub_download(repo_id, "random.safetensors", cache_dir=cache_dir)
    assert _sha256(downloaded) == _sha256(source)


def test_gated_content_is_deduplicated_only_after_access_is_granted(
    server: LiveServer, ids: Identities, repo_name: str, tmp_path: Path
) -> None:
    from dockyard.xet.chunking import iter_chunks
    from dockyard.xet.hashes import chunk_hash

    alice, bob = HfApi(token=ids.alice), HfApi(token=ids.bob)
    gated_id, bob_id = f"alice/{repo_name}-gated", f"bob/{repo_name}"
    alice.create_repo(gated_id)
    bob.create_repo(bob_id)
    weights = os.urandom(1024 * 1024)
    (tmp_path / "w.bin").write_bytes(weights)
    alice.upload_file(path_or_fileobj=tmp_path / "w.bin", path_in_repo="w.safetensors", repo_id=gated_id)
    alice.update_repo_settings(gated_id, gated="auto")
    first_chunk = chunk_hash(next(iter_chunks(weights))).hex()

    cas, bob_token = _cas_token(server, ids.bob, bob_id, "write")
    query = f"{cas}/v1/chunks/default/{first_chunk}"
    assert httpx.get(query, headers={"Authorization": f"Bearer {bob_token}"}).status_code == 404
    asked = httpx.post(
        f"{server.url}/api/models/{gated_id}/ask-access", json={}, headers={"Authorization": f"Bearer {ids.bob}"}
    )
    assert asked.status_code == 200
    _, bob_token = _cas_token(server, ids.bob, bob_id, "write")
    assert httpx.get(query, headers={"Authorization": f"Bearer {bob_token}"}).status_code == 200


def test_fine_grained_token_deduplicates_only_against_what_it_may_read(
    server: LiveServer, ids: Identities, repo_name: str, tmp_path: Path
) -> None:
    """alice's own private repo is readable with her role token, not with a token scoped elsewhere."""
    from dockyard.xet.chunking import iter_chunks
    from dockyard.xet.hashes import chunk_hash

    alice = HfApi(token=ids.alice)
    private_id, other_id = f"alice/{repo_name}-private", f"alice/{repo_name}-other"
    alice.create_repo(private_id, private=True)
    alice.create_repo(other_id)
    content = os.urandom(1024 * 1024)
    (tmp_path / "w.bin").write_bytes(content)
    alice.upload_file(path_or_fileobj=tmp_path / "w.bin", path_in_repo="w.safetensors", repo_id=private_id)
    first_chunk = chunk_hash(next(iter_chunks(content))).hex()

    scoped = issue_token(server.data_dir, server.env, "alice", "fineGrained", [f"model:{other_id}:write"])
    for token, expected in ((ids.alice, 200), (scoped, 404)):
        cas, cas_token = _cas_token(server, token, other_id, "write")
        answer = httpx.get(f"{cas}/v1/chunks/default/{first_chunk}", headers={"Authorization": f"Bearer {cas_token}"})
        assert answer.status_code == expected


def test_reupload_after_deleting_the_repo(api: HfApi, repo_name: str, big_file: Path, cache_dir: Path) -> None:
    """The client's chunk cache still names the deleted repo's xorbs; the new upload may use them."""
    first, second = f"alice/{repo_name}-first", f"alice/{repo_name}-second"
    api.create_repo(first, private=True)
    api.upload_file(path_or_fileobj=big_file, path_in_repo="model.safetensors", repo_id=first)
    api.delete_repo(first)

    api.create_repo(second)
    api.upload_file(path_or_fileobj=big_file, path_in_repo="model.safetensors", repo_id=second)
    downloaded = hf_hub_download(second, "model.safetensors", cache_dir=cache_dir)
    assert _sha256(downloaded) == _sha256(big_file)
