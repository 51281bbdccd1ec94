"""git smart HTTP pieces that need no server: the hook's scan, push rules' wording, CGI plumbing."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

import pygit2
import pytest

from dockyard.errors import BadRequestError
from dockyard.git_http import backend, pre_receive, push_policy
from dockyard.lfs.pointer import LfsPointer
from dockyard.repos.git_repo import BRANCH_PREFIX, GitRepo, PutBlob
from dockyard.repos.git_storage import GitStorage

AUTHOR = pygit2.Signature("alice", "alice@example.org")


def _commit(git: GitRepo, parent: str | None, *files: PutBlob) -> str:
    tree = git.build_tree(parent, files)
    commit = git.create_commit(tree_id=tree, parents=[parent] if parent else [], author=AUTHOR, message="c\n")
    git.update_ref(BRANCH_PREFIX + "main", commit, expected_old=parent, message="c")
    return commit


def test_pointer_parsing_follows_the_spec() -> None:
    oid = hashlib.sha256(b"x").hexdigest()
    assert pre_receive.parse_pointer(LfsPointer(oid, 12).encode()) == (oid, 12)
    assert pre_receive.parse_pointer(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n") is None
    assert pre_receive.parse_pointer(b"plain text") is None
    assert pre_receive.parse_pointer(LfsPointer(oid, 1).encode() + b"x" * 2000) is None


def test_hook_reads_ref_updates() -> None:
    updates = pre_receive.read_updates(io.StringIO(f"{'0' * 40} {'a' * 40} refs/heads/main\n\n"))
    assert updates == [{"old": "0" * 40, "new": "a" * 40, "ref": "refs/heads/main"}]


def test_scan_finds_large_blobs_and_pointers_of_new_commits_only(tmp_path: Path) -> None:
    git = GitStorage(tmp_path).init("b" * 32)
    old_oid = hashlib.sha256(b"old").hexdigest()
    first = _commit(git, None, PutBlob("old.bin", LfsPointer(old_oid, 3).encode()), PutBlob("old.raw", b"o" * 500))
    new_oid = hashlib.sha256(b"new").hexdigest()
    second = _commit(
        git,
        first,
        PutBlob("dir/new.bin", LfsPointer(new_oid, 3).encode()),
        PutBlob("dir/big.raw", b"n" * 300),
        PutBlob("small.txt", b"tiny"),
    )
    git_dir = str(GitStorage(tmp_path).path("b" * 32))

    found = pre_receive.scan([second], [first], 200, git_dir=git_dir)
    assert [(f["path"], f["size"]) for f in found["large"]] == [("dir/big.raw", 300)]
    assert [(p["path"], p["oid"], p["size"]) for p in found["pointers"]] == [("dir/new.bin", new_oid, 3)]

    everything = pre_receive.scan([second], [], 200, git_dir=git_dir)
    assert {p["path"] for p in everything["pointers"]} == {"old.bin", "dir/new.bin"}
    assert {f["path"] for f in everything["large"]} == {"old.raw", "dir/big.raw"}
    assert pre_receive.ref_tips(git_dir) == [second]
    blob = git.raw[second].peel(pygit2.Tree)["small.txt"].id
    assert pre_receive.peeled_types([second, str(blob)], git_dir) == {second: "commit", str(blob): "blob"}


def test_push_report_is_validated_and_problems_are_worded_for_the_git_client() -> None:
    with pytest.raises(BadRequestError):
        push_policy.PushReport.from_json({"updates": [{"old": "x"}], "large": [], "pointers": []})
    lines = push_policy._large_file_problems(10 * 1024 * 1024, [{"path": "a.raw", "size": 10 * 1024 * 1024 + 1}])
    assert "larger than 10 MiB" in "\n".join(lines)
    assert "  - a.raw (10485761 bytes)" in lines


def test_cgi_environment_carries_no_server_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SECRET_KEY", "do-not-leak")
    cgi = backend.CgiRequest(
        git_dir=tmp_path / "ab" / "abc.git", path_info="git-receive-pack", method="POST", git_protocol="version=2"
    )
    env = backend.cgi_environment(cgi, 42, tmp_path / "hooks")
    assert "DOCKYARD_SECRET_KEY" not in env
    assert (env["GIT_PROJECT_ROOT"], env["PATH_INFO"]) == (str(tmp_path / "ab"), "/abc.git/git-receive-pack")
    assert (env["CONTENT_LENGTH"], env["GIT_PROTOCOL"]) == ("42", "version=2")
    config = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))}
    assert config["core.hooksPath"] == str(tmp_path / "hooks")


def test_hooks_dir_holds_an_executable_pre_receive_that_runs_the_stdlib_script(tmp_path: Path) -> None:
    folder = backend.hooks_dir(tmp_path)
    assert backend.hooks_dir(tmp_path) == folder
    hook = folder / "pre-receive"
    assert os.access(hook, os.X_OK)
    env = {"PATH": os.environ.get("PATH", "")}  # no callback URL: the hook must refuse, not crash
    done = subprocess.run([str(hook)], input=b"", capture_output=True, env=env, check=False)
    assert done.returncode == 1
    assert b"could not check this push" in done.stderr
