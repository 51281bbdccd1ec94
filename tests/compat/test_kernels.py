"""Kernels, the fourth repo type (``repo_type="kernel"``, URL prefix ``kernels/``), with the real
client, httpx and git: the same generic routes as models, datasets and spaces, and an id space of
their own (``alice/x`` the kernel is not ``alice/x`` the model).

1. lifecycle with huggingface_hub: create_repo, upload_file/upload_folder (small and large files,
   both transfers), kernel_info (also at a revision) and repo_info, files, refs, commits, branches,
   tags, hf_hub_download/snapshot_download, move, settings, delete;
2. listing ``/api/kernels``, and the separate id space;
3. privacy: a private kernel is invisible to outsiders;
4. git clone and push of a kernel;
5. the ``hf`` CLI uploads and downloads a kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, KernelInfo, hf_hub_download, snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError

from tests.support.accounts import Identities
from tests.support.git import GitClient, repo_url
from tests.support.server import LiveServer

KERNEL = "kernel"
MIB = 1024 * 1024
HF = str(Path(sys.executable).with_name("hf"))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _build_tree(root: Path) -> dict[str, bytes]:
    """A kernel repo's usual shape: a card, and builds per torch/CUDA variant."""
    files = {
        "README.md": b"---\nlicense: apache-2.0\ntags:\n- kernel\n---\n# Activation kernels\n",
        "build/torch28-cxx11-cu128-x86_64-linux/activation/__init__.py": b"from ._ops import ops\n",
        "build/torch28-cxx11-cu128-x86_64-linux/activation/_ops.py": b"ops = None\n",
        "build.toml": b"[general]\nname = 'activation'\n",
    }
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return files


# -- 1. lifecycle with the real client -------------------------------------------------------------
def test_kernel_repo_lifecycle_with_the_real_client(
    api: HfApi, repo_name: str, server: LiveServer, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    url = api.create_repo(repo_id, repo_type=KERNEL)
    assert (url.repo_type, url.repo_id, url.endpoint) == (KERNEL, repo_id, server.url)
    assert str(url) == f"{server.url}/kernels/{repo_id}"

    folder = tmp_path / "kernel"
    files = _build_tree(folder)
    first = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type=KERNEL, commit_message="Build")
    assert first.oid is not None
    info = api.kernel_info(repo_id)
    assert isinstance(info, KernelInfo)
    assert (info.id, info.author, info.sha, info.private, info.gated) == (repo_id, "alice", first.oid, False, False)
    assert (info.likes, info.downloads) == (0, 0)
    assert info.last_modified is not None
    assert isinstance(api.repo_info(repo_id, repo_type=KERNEL), KernelInfo)

    assert set(api.list_repo_files(repo_id, repo_type=KERNEL)) == {".gitattributes", *files}
    assert api.file_exists(repo_id, "build.toml", repo_type=KERNEL)
    commits = api.list_repo_commits(repo_id, repo_type=KERNEL)
    assert commits[0].commit_id == first.oid
    assert commits[0].title == "Build"

    api.create_branch(repo_id, branch="v1", repo_type=KERNEL)
    api.create_tag(repo_id, tag="v1.0.0", repo_type=KERNEL)
    refs = api.list_repo_refs(repo_id, repo_type=KERNEL)
    assert {b.name for b in refs.branches} == {"main", "v1"}
    assert [t.name for t in refs.tags] == ["v1.0.0"]

    second = api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="VERSION", repo_id=repo_id, repo_type=KERNEL)
    assert api.kernel_info(repo_id).sha == second.oid
    assert api.kernel_info(repo_id, revision="v1.0.0").sha == first.oid

    cache = tmp_path / "cache"
    path = "build/torch28-cxx11-cu128-x86_64-linux/activation/__init__.py"
    assert Path(hf_hub_download(repo_id, path, repo_type=KERNEL, cache_dir=cache)).read_bytes() == files[path]
    snapshot = Path(snapshot_download(repo_id, repo_type=KERNEL, revision="v1", cache_dir=cache))
    assert (snapshot / "build.toml").read_bytes() == files["build.toml"]
    assert not (snapshot / "VERSION").exists()


def test_large_kernel_builds_go_through_both_transfers(
    api: HfApi, repo_name: str, transfer: str, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type=KERNEL)
    shared_object = os.urandom(11 * MIB)  # past the regular-file limit: LFS or Xet
    path = "build/torch28-cxx11-cu128-x86_64-linux/activation/_activation.abi3.so"
    api.upload_file(path_or_fileobj=shared_object, path_in_repo=path, repo_id=repo_id, repo_type=KERNEL)

    (entry,) = api.get_paths_info(repo_id, [path], repo_type=KERNEL)
    assert entry.lfs is not None
    assert entry.lfs.size == len(shared_object)
    downloaded = hf_hub_download(repo_id, path, repo_type=KERNEL, cache_dir=tmp_path / "cache")
    assert Path(downloaded).read_bytes() == shared_object


def test_move_settings_and_delete_a_kernel(api: HfApi, repo_name: str, server: LiveServer, ids: Identities) -> None:
    repo_id, moved = f"alice/{repo_name}", f"alice/{repo_name}-moved"
    api.create_repo(repo_id, repo_type=KERNEL)
    api.upload_file(path_or_fileobj=b"x\n", path_in_repo="build.toml", repo_id=repo_id, repo_type=KERNEL)

    api.move_repo(repo_id, moved, repo_type=KERNEL)
    assert api.kernel_info(moved).id == moved
    settings = httpx.put(
        f"{server.url}/api/kernels/{moved}/settings", json={"private": True}, headers=_bearer(ids.alice)
    )
    assert settings.status_code == 200, settings.text
    assert api.kernel_info(moved).private is True
    with pytest.raises(RepositoryNotFoundError):
        api.kernel_info(moved, token=ids.bob)

    api.delete_repo(moved, repo_type=KERNEL)
    with pytest.raises(RepositoryNotFoundError):
        api.kernel_info(moved)


# -- 2. listing and the separate id space ---------------------------------------------------------
def test_kernels_have_their_own_listing_and_id_space(api: HfApi, repo_name: str, server: LiveServer) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type=KERNEL)
    api.upload_file(path_or_fileobj=b"kernel\n", path_in_repo="who.txt", repo_id=repo_id, repo_type=KERNEL)
    api.create_repo(repo_id)  # a model of the same name is another repo
    api.upload_file(path_or_fileobj=b"model\n", path_in_repo="who.txt", repo_id=repo_id)

    assert api.kernel_info(repo_id).sha != api.model_info(repo_id).sha
    assert httpx.get(f"{server.url}/kernels/{repo_id}/resolve/main/who.txt").content == b"kernel\n"
    assert httpx.get(f"{server.url}/{repo_id}/resolve/main/who.txt").content == b"model\n"

    listed = httpx.get(f"{server.url}/api/kernels", params={"search": repo_name}).json()
    assert [(item["id"], item["author"]) for item in listed] == [(repo_id, "alice")]
    assert "modelId" not in listed[0]
    assert [m.id for m in api.list_models(search=repo_name)] == [repo_id]
    assert list(api.list_datasets(search=repo_name)) == []


def test_a_private_kernel_is_invisible_to_outsiders(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type=KERNEL, private=True)
    api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="build.toml", repo_id=repo_id, repo_type=KERNEL)

    assert api.kernel_info(repo_id).private is True
    for token in (ids.bob, False):
        with pytest.raises(RepositoryNotFoundError):
            api.kernel_info(repo_id, token=token)
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(repo_id, "build.toml", repo_type=KERNEL, token=token, cache_dir=tmp_path / "c")
    listed = httpx.get(f"{server.url}/api/kernels", params={"search": repo_name}, headers=_bearer(ids.bob))
    assert listed.json() == []


# -- 4. git ---------------------------------------------------------------------------------------
def test_git_clone_and_push_of_a_kernel(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type=KERNEL)
    api.upload_file(path_or_fileobj=b"[general]\n", path_in_repo="build.toml", repo_id=repo_id, repo_type=KERNEL)
    git = GitClient.create(tmp_path / "git-home")
    url = repo_url(server.url, repo_id, repo_type=KERNEL, token=ids.alice)
    assert "/kernels/" in url
    work = tmp_path / "work"
    git.clone(url, work)
    assert (work / "build.toml").read_bytes() == b"[general]\n"

    git.run("lfs", "track", "*.so", cwd=work)
    binary = os.urandom(MIB)
    (work / "build" / "torch28").mkdir(parents=True)
    (work / "build" / "torch28" / "_ops.so").write_bytes(binary)
    head = git.commit_all(work, "Add a build")
    git.run("push", "origin", "main", cwd=work)

    assert api.kernel_info(repo_id).sha == head
    assert next(c.title for c in api.list_repo_commits(repo_id, repo_type=KERNEL)) == "Add a build"
    fetched = hf_hub_download(repo_id, "build/torch28/_ops.so", repo_type=KERNEL, cache_dir=tmp_path / "cache")
    assert Path(fetched).read_bytes() == binary
    # the model route of the same name knows nothing of it
    assert git.clone(repo_url(server.url, repo_id, token=ids.alice), tmp_path / "model", check=False).returncode != 0


# -- 5. the hf CLI --------------------------------------------------------------------------------
def test_hf_cli_uploads_and_downloads_a_kernel(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, repo_type=KERNEL)
    source = tmp_path / "build.toml"
    source.write_bytes(b"[general]\nname = 'cli'\n")
    env = {**os.environ, "HF_TOKEN": ids.alice, "HF_ENDPOINT": server.url}

    def hf(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([HF, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done

    hf("upload", repo_id, str(source), "build.toml", "--repo-type", KERNEL)
    target = tmp_path / "out"
    hf("download", repo_id, "build.toml", "--repo-type", KERNEL, "--local-dir", str(target))
    assert (target / "build.toml").read_bytes() == source.read_bytes()
