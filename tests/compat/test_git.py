"""git and git-lfs over HTTP (the real binaries): clone, pull, fetch, push, and the refusals.

1. clone: public anonymously, private with a token, datasets and spaces, LFS files uploaded
   through the API checked out by git-lfs; annotated tags made by the API survive clone and fsck.
2. push: commits, branches, tags and LFS files (uploaded and verified through the batch API), seen
   at once by the API (sha, files, commits, card data, LFS downloads); force-pushes; deleting branches.
3. refusals: no token, a read token, an outsider, a >10 MiB file outside LFS, a pointer to an LFS
   object never uploaded, a push racing an API commit (nothing is lost), the default branch.
4. pull after API commits; ``refs/pr/N`` fetchable (and pushable while the PR is open).
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.support.accounts import Identities
from tests.support.git import GitClient, have_git_lfs, repo_url
from tests.support.server import LiveServer

pytestmark = pytest.mark.skipif(not have_git_lfs(), reason="git and git-lfs are needed (apt-get install git-lfs)")

MIB = 1024 * 1024


@pytest.fixture
def git(tmp_path: Path) -> GitClient:
    return GitClient.create(tmp_path / "git-home")


def _random(size: int) -> bytes:
    """Incompressible, so that git's pack is as large as the file (a 10 MiB push is spooled to disk)."""
    return os.urandom(size)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- 1. clone ---------------------------------------------------------------------------------------
def test_clone_public_repo_anonymously_with_and_without_git_suffix(
    api: HfApi, repo_name: str, server: LiveServer, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    info = api.upload_file(path_or_fileobj=b"# Hello\n", path_in_repo="README.md", repo_id=repo_id)

    for suffix in ("", ".git"):
        target = tmp_path / f"clone{suffix}"
        git.clone(repo_url(server.url, repo_id) + suffix, target)
        assert (target / "README.md").read_bytes() == b"# Hello\n"
        assert git.head(target) == info.oid
        git.run("fsck", "--strict", cwd=target)
    # protocol v0 as well as git's default v2
    git.run("-c", "protocol.version=0", "clone", repo_url(server.url, repo_id), str(tmp_path / "v0"))
    assert git.head(tmp_path / "v0") == info.oid


def test_clone_private_repo_needs_a_token_of_a_member(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, private=True)
    api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="notes.txt", repo_id=repo_id)

    anonymous = git.clone(repo_url(server.url, repo_id), tmp_path / "anon", check=False)
    assert anonymous.returncode != 0
    assert "could not read Username" in anonymous.stderr  # 401 + Basic challenge: git asks for credentials

    outsider = git.clone(repo_url(server.url, repo_id, token=ids.bob), tmp_path / "bob", check=False)
    assert outsider.returncode != 0
    assert "not found" in outsider.stderr.lower()  # 404: private repos are invisible to outsiders

    bad = git.clone(repo_url(server.url, repo_id, token="hf_not_a_token"), tmp_path / "bad", check=False)
    assert bad.returncode != 0
    assert "Invalid credentials" in bad.stderr

    git.clone(repo_url(server.url, repo_id, token=ids.alice_read), tmp_path / "alice")
    assert (tmp_path / "alice" / "notes.txt").read_bytes() == b"secret\n"


def test_clone_gated_repo_needs_granted_access(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"gated\n", path_in_repo="data.txt", repo_id=repo_id)
    api.update_repo_settings(repo_id, gated="manual")

    anonymous = git.clone(repo_url(server.url, repo_id), tmp_path / "anon", check=False)
    assert anonymous.returncode != 0
    assert "could not read Username" in anonymous.stderr
    outsider = git.clone(repo_url(server.url, repo_id, token=ids.bob), tmp_path / "bob", check=False)
    assert outsider.returncode != 0
    assert "gated" in outsider.stderr
    git.clone(repo_url(server.url, repo_id, token=ids.alice), tmp_path / "alice")
    assert (tmp_path / "alice" / "data.txt").read_bytes() == b"gated\n"


def test_clone_dataset_and_space(
    api: HfApi, repo_name: str, server: LiveServer, git: GitClient, tmp_path: Path
) -> None:
    for repo_type in ("dataset", "space"):
        repo_id = f"alice/{repo_name}"
        extra = {"space_sdk": "static"} if repo_type == "space" else {}
        api.create_repo(repo_id, repo_type=repo_type, **extra)
        api.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data.csv", repo_id=repo_id, repo_type=repo_type)
        target = tmp_path / repo_type
        git.clone(repo_url(server.url, repo_id, repo_type=repo_type), target)
        assert (target / "data.csv").read_bytes() == b"a,b\n1,2\n"
        sha = api.repo_info(repo_id, repo_type=repo_type).sha
        assert git.head(target) == sha


def test_lfs_file_uploaded_through_the_api_is_checked_out_by_git_lfs(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path, lfs_transfer: None
) -> None:
    weights = _random(3 * MIB + 17)
    for private in (False, True):
        repo_id = f"alice/{repo_name}-{'private' if private else 'public'}"
        api.create_repo(repo_id, private=private)
        api.upload_file(path_or_fileobj=io.BytesIO(weights), path_in_repo="model.safetensors", repo_id=repo_id)
        target = tmp_path / repo_id.split("/")[1]
        git.clone(repo_url(server.url, repo_id, token=ids.alice if private else None), target)
        assert (target / "model.safetensors").read_bytes() == weights
        pointer = git.run("cat-file", "-p", "HEAD:model.safetensors", cwd=target).stdout
        assert f"oid sha256:{_sha256(weights)}" in pointer


def test_xet_file_uploaded_by_a_default_client_is_checked_out_by_git_lfs(
    api: HfApi, repo_name: str, server: LiveServer, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    source = tmp_path / "model.safetensors"
    source.write_bytes(_random(2 * MIB + 3))
    api.upload_file(path_or_fileobj=source, path_in_repo="model.safetensors", repo_id=repo_id)
    assert api.get_paths_info(repo_id, ["model.safetensors"])[0].xet_hash is not None

    git.clone(repo_url(server.url, repo_id), tmp_path / "clone")
    assert (tmp_path / "clone" / "model.safetensors").read_bytes() == source.read_bytes()


def test_token_from_a_git_credential_helper(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    """What `hf auth login --add-to-git-credential` sets up: git and git-lfs answer the 401
    challenge with the stored token, for a private clone and an LFS push."""
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id, private=True)
    (git.home / ".git-credentials").write_text(f"{repo_url(server.url, '', token=ids.alice).rstrip('/')}\n")
    git.run("config", "--global", "credential.helper", "store")
    work = tmp_path / "work"
    git.clone(repo_url(server.url, repo_id), work)

    git.run("lfs", "track", "*.bin", cwd=work)
    blob = _random(MIB + 1)
    (work / "data.bin").write_bytes(blob)
    head = git.commit_all(work, "LFS through the helper")
    git.run("push", cwd=work)
    assert api.model_info(repo_id).sha == head
    git.clone(repo_url(server.url, repo_id), tmp_path / "again")
    assert (tmp_path / "again" / "data.bin").read_bytes() == blob


def test_annotated_tag_made_by_the_api_survives_clone_and_fsck(
    api: HfApi, repo_name: str, server: LiveServer, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="VERSION", repo_id=repo_id)
    api.create_tag(repo_id, tag="v1.0", tag_message="First release")
    api.create_tag(repo_id, tag="light")

    target = tmp_path / "clone"
    git.clone(repo_url(server.url, repo_id), target)
    git.run("fsck", "--strict", "--full", cwd=target)
    assert git.run("cat-file", "-t", "v1.0", cwd=target).stdout.strip() == "tag"
    assert "First release" in git.run("tag", "-n", "-l", "v1.0", cwd=target).stdout
    assert git.run("cat-file", "-t", "light", cwd=target).stdout.strip() == "commit"


# -- 2. push ----------------------------------------------------------------------------------------
def test_push_commit_branch_and_tag_with_lfs_is_visible_in_the_api_at_once(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    url = repo_url(server.url, repo_id, token=ids.alice)
    work = tmp_path / "work"
    git.clone(url, work)

    git.run("lfs", "track", "*.dat", cwd=work)
    weights = _random(2 * MIB + 5)
    (work / "weights.dat").write_bytes(weights)
    (work / "README.md").write_text("---\nlicense: apache-2.0\ntags:\n- pushed-with-git\n---\n# Pushed\n")
    (work / "src").mkdir()
    (work / "src" / "train.py").write_text("print('hi')\n")
    head = git.commit_all(work, "Add weights and card")
    pushed = git.run("push", "origin", "main", cwd=work)
    assert "main -> main" in pushed.stderr

    info = api.model_info(repo_id)
    assert info.sha == head
    assert info.card_data is not None
    assert info.card_data.get("license") == "apache-2.0"
    assert "pushed-with-git" in (info.tags or [])
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "README.md", "weights.dat", "src/train.py"}
    commits = api.list_repo_commits(repo_id)
    assert (commits[0].commit_id, commits[0].title) == (head, "Add weights and card")
    downloaded = hf_hub_download(repo_id, "weights.dat", cache_dir=tmp_path / "cache")
    assert Path(downloaded).read_bytes() == weights

    (work / "notes.txt").write_text("on a branch\n")
    branch_head = git.commit_all(work, "Branch work")
    git.run("push", "origin", "HEAD:refs/heads/dev", cwd=work)
    git.run("tag", "-a", "v1", "-m", "Version one", head, cwd=work)
    git.run("tag", "light", cwd=work)
    git.run("push", "origin", "v1", "light", cwd=work)

    refs = api.list_repo_refs(repo_id)
    assert {b.name: b.target_commit for b in refs.branches} == {"main": head, "dev": branch_head}
    assert {t.name: t.target_commit for t in refs.tags} == {"v1": head, "light": branch_head}
    assert api.model_info(repo_id).sha == head  # main did not move

    git.run("push", "origin", ":dev", cwd=work)  # deleting a branch is allowed
    assert [b.name for b in api.list_repo_refs(repo_id).branches] == ["main"]


def test_force_push_rewrites_the_branch(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    work = tmp_path / "work"
    git.clone(repo_url(server.url, repo_id, token=ids.alice), work)
    (work / "a.txt").write_text("a\n")
    git.commit_all(work, "a")
    git.run("push", "origin", "main", cwd=work)

    git.run("reset", "--hard", "HEAD~1", cwd=work)
    (work / "b.txt").write_text("b\n")
    rewritten = git.commit_all(work, "b instead of a")
    refused = git.run("push", "origin", "main", cwd=work, check=False)
    assert refused.returncode != 0
    assert "non-fast-forward" in refused.stderr
    git.run("push", "--force", "origin", "main", cwd=work)

    assert api.model_info(repo_id).sha == rewritten
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "b.txt"}


# -- 3. refusals ------------------------------------------------------------------------------------
@pytest.fixture
def pushed_clone(api: HfApi, repo_name: str, server: LiveServer, git: GitClient, tmp_path: Path) -> tuple[str, Path]:
    """A public repo of alice with one file, cloned anonymously, with one local commit to push."""
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"start\n", path_in_repo="start.txt", repo_id=repo_id)
    work = tmp_path / "work"
    git.clone(repo_url(server.url, repo_id), work)
    (work / "local.txt").write_text("local\n")
    git.commit_all(work, "local change")
    return repo_id, work


def test_push_needs_a_write_token_of_a_writer(
    api: HfApi, pushed_clone: tuple[str, Path], server: LiveServer, ids: Identities, git: GitClient
) -> None:
    repo_id, work = pushed_clone
    before = api.model_info(repo_id).sha

    anonymous = git.run("push", repo_url(server.url, repo_id), "main", cwd=work, check=False)
    assert anonymous.returncode != 0
    assert "could not read Username" in anonymous.stderr

    read_only = git.run("push", repo_url(server.url, repo_id, token=ids.alice_read), "main", cwd=work, check=False)
    assert read_only.returncode != 0
    assert "read access only" in read_only.stderr
    assert "403" in read_only.stderr

    outsider = git.run("push", repo_url(server.url, repo_id, token=ids.bob), "main", cwd=work, check=False)
    assert outsider.returncode != 0
    assert "rights to push" in outsider.stderr

    assert api.model_info(repo_id).sha == before


def test_push_of_a_large_file_outside_lfs_is_refused(
    api: HfApi, pushed_clone: tuple[str, Path], server: LiveServer, ids: Identities, git: GitClient
) -> None:
    repo_id, work = pushed_clone
    before = api.model_info(repo_id).sha
    (work / "big.bin.raw").write_bytes(_random(10 * MIB + 1))
    git.commit_all(work, "too big for git")

    refused = git.run("push", repo_url(server.url, repo_id, token=ids.alice), "main", cwd=work, check=False)
    assert refused.returncode != 0
    assert "larger than 10 MiB" in refused.stderr
    assert "big.bin.raw" in refused.stderr
    assert "pre-receive hook declined" in refused.stderr
    assert api.model_info(repo_id).sha == before


def test_push_of_a_pointer_to_a_missing_lfs_object_is_refused(
    api: HfApi, pushed_clone: tuple[str, Path], server: LiveServer, ids: Identities, git: GitClient
) -> None:
    repo_id, work = pushed_clone
    before = api.model_info(repo_id).sha
    oid = _sha256(b"never uploaded")
    (work / "ghost.bin").write_bytes(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 14\n".encode()
    )
    git.run("-c", "filter.lfs.clean=cat", "-c", "filter.lfs.required=false", "add", "ghost.bin", cwd=work)
    git.run("commit", "-q", "-m", "dangling pointer", cwd=work)

    # --no-verify skips git-lfs's own pre-push check, as an old or absent git-lfs would
    url = repo_url(server.url, repo_id, token=ids.alice)
    refused = git.run("push", "--no-verify", url, "main", cwd=work, check=False)
    assert refused.returncode != 0
    assert "LFS pointer pointed to a file that does not exist" in refused.stderr
    assert oid in refused.stderr
    assert api.model_info(repo_id).sha == before


def test_push_behind_an_api_commit_is_told_to_fetch_first(
    api: HfApi, pushed_clone: tuple[str, Path], server: LiveServer, ids: Identities, git: GitClient
) -> None:
    repo_id, work = pushed_clone
    api.upload_file(path_or_fileobj=b"api\n", path_in_repo="api.txt", repo_id=repo_id)
    url = repo_url(server.url, repo_id, token=ids.alice)
    refused = git.run("push", url, "main", cwd=work, check=False)
    assert refused.returncode != 0
    assert "fetch first" in refused.stderr

    git.run("pull", "--no-rebase", "--no-edit", url, "main", cwd=work)
    git.run("push", url, "main", cwd=work)
    assert {"start.txt", "api.txt", "local.txt"} <= set(api.list_repo_files(repo_id))


def test_push_racing_an_api_commit_loses_nothing(
    api: HfApi, pushed_clone: tuple[str, Path], server: LiveServer, ids: Identities, git: GitClient
) -> None:
    """The API commit lands after git read the remote refs and before it sends the pack: git's
    pre-push hook runs exactly there."""
    repo_id, work = pushed_clone
    hook = work / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f"#!{sys.executable}\n"
        "import os\n"
        "from huggingface_hub import HfApi\n"
        f"HfApi(endpoint={server.url!r}, token={ids.alice!r}).upload_file(\n"
        f"    path_or_fileobj=b'raced\\n', path_in_repo='raced.txt', repo_id={repo_id!r})\n"
    )
    hook.chmod(0o755)
    url = repo_url(server.url, repo_id, token=ids.alice)
    refused = git.run("push", url, "main", cwd=work, check=False)
    assert refused.returncode != 0
    assert "changed while you were pushing" in refused.stderr
    assert "git pull" in refused.stderr
    assert "raced.txt" in api.list_repo_files(repo_id)
    assert "local.txt" not in api.list_repo_files(repo_id)

    hook.unlink()
    git.run("pull", "--no-rebase", "--no-edit", url, "main", cwd=work)
    git.run("push", url, "main", cwd=work)
    assert {"start.txt", "raced.txt", "local.txt"} <= set(api.list_repo_files(repo_id))


def test_default_branch_cannot_be_deleted_and_only_known_refs_are_pushed(
    api: HfApi, pushed_clone: tuple[str, Path], server: LiveServer, ids: Identities, git: GitClient
) -> None:
    repo_id, work = pushed_clone
    url = repo_url(server.url, repo_id, token=ids.alice)
    deleted = git.run("push", url, ":main", cwd=work, check=False)
    assert deleted.returncode != 0
    assert "cannot delete the default branch" in deleted.stderr
    odd = git.run("push", url, "HEAD:refs/convert/parquet", cwd=work, check=False)
    assert odd.returncode != 0
    assert "only branches" in odd.stderr
    blob = git.run("hash-object", "-w", "local.txt", cwd=work).stdout.strip()
    git.run("tag", "blob-tag", blob, cwd=work)
    not_a_commit = git.run("push", url, "blob-tag", cwd=work, check=False)
    assert not_a_commit.returncode != 0
    assert "must point at commits" in not_a_commit.stderr
    assert api.list_repo_refs(repo_id).tags == []
    new_pr = git.run("push", url, "HEAD:refs/pr/7", cwd=work, check=False)
    assert new_pr.returncode != 0
    assert "opened and closed through the API" in new_pr.stderr
    assert [b.name for b in api.list_repo_refs(repo_id).branches] == ["main"]


# -- 4. pull and pull requests ------------------------------------------------------------------------
def test_pull_after_api_commits(
    api: HfApi, repo_name: str, server: LiveServer, git: GitClient, tmp_path: Path, lfs_transfer: None
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    work = tmp_path / "work"
    git.clone(repo_url(server.url, repo_id), work)

    api.upload_file(path_or_fileobj=b"one\n", path_in_repo="one.txt", repo_id=repo_id)
    blob = _random(MIB)
    info = api.upload_file(path_or_fileobj=io.BytesIO(blob), path_in_repo="blob.bin", repo_id=repo_id)
    git.run("pull", cwd=work)
    assert git.head(work) == info.oid
    assert (work / "one.txt").read_bytes() == b"one\n"
    assert (work / "blob.bin").read_bytes() == blob


def test_pull_request_refs_are_fetchable_and_pushable_while_open(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    repo_id = f"alice/{repo_name}"
    api.create_repo(repo_id)
    proposal = api.upload_file(path_or_fileobj=b"proposal\n", path_in_repo="pr.txt", repo_id=repo_id, create_pr=True)
    assert proposal.pr_num == 1
    work = tmp_path / "work"
    url = repo_url(server.url, repo_id, token=ids.alice)
    git.clone(url, work)

    git.run("fetch", "origin", "refs/pr/1:pr/1", cwd=work)
    assert git.head(work, "pr/1") == proposal.oid
    git.run("checkout", "-q", "pr/1", cwd=work)
    (work / "more.txt").write_text("more\n")
    updated = git.commit_all(work, "update the PR")
    git.run("push", "origin", "pr/1:refs/pr/1", cwd=work)
    assert api.list_repo_commits(repo_id, revision="refs/pr/1")[0].commit_id == updated
    assert "pr.txt" not in api.list_repo_files(repo_id)
    events = api.get_discussion_details(repo_id, 1).events  # a pushed commit becomes a commit event
    assert [(e.type, getattr(e, "oid", None)) for e in events if e.type == "commit"] == [
        ("commit", proposal.oid),
        ("commit", updated),
    ]


def test_push_to_a_dataset_and_a_space(
    api: HfApi, repo_name: str, server: LiveServer, ids: Identities, git: GitClient, tmp_path: Path
) -> None:
    for repo_type in ("dataset", "space"):
        repo_id = f"alice/{repo_name}"
        extra = {"space_sdk": "static"} if repo_type == "space" else {}
        api.create_repo(repo_id, repo_type=repo_type, **extra)
        work = tmp_path / repo_type
        git.clone(repo_url(server.url, repo_id, repo_type=repo_type, token=ids.alice) + ".git", work)
        (work / "train.csv").write_text("x\n1\n")
        git.run("lfs", "track", "*.parquet", cwd=work)
        table = _random(MIB)
        (work / "train.parquet").write_bytes(table)
        head = git.commit_all(work, f"data for the {repo_type}")
        git.run("push", cwd=work)  # git-lfs uses {url}.git/info/lfs, the Hub's LFS endpoint
        assert api.repo_info(repo_id, repo_type=repo_type).sha == head
        assert {"train.csv", "train.parquet"} <= set(api.list_repo_files(repo_id, repo_type=repo_type))
        path = hf_hub_download(repo_id, "train.parquet", repo_type=repo_type, cache_dir=tmp_path / "cache")
        assert Path(path).read_bytes() == table
