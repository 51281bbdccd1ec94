from __future__ import annotations

import pytest

from dockyard.errors import BadRequestError, InvalidNameError, InvalidPathError
from dockyard.identifiers import (
    RepoId,
    RepoType,
    validate_account_name,
    validate_branch_name,
    validate_repo_name,
    validate_repo_path,
)


@pytest.mark.parametrize("name", ["__ci_user__", "DVUser", "a", "bert-base-uncased", "v1.0_final", "x" * 96])
def test_valid_names(name: str) -> None:
    assert validate_repo_name(name) == name
    assert validate_account_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", "a-", ".a", "a.", "a--b", "a..b", "x" * 97, "a b", "a/b", "é", "m.git"])
def test_invalid_repo_names(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_repo_name(name)


@pytest.mark.parametrize("name", ["api", "datasets", "Spaces", "healthz"])
def test_reserved_namespaces(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_account_name(name)


def test_repo_id_parsing() -> None:
    assert RepoId.parse("gpt2") == RepoId("", "gpt2")
    assert str(RepoId.parse("acme/bert")) == "acme/bert"
    with pytest.raises(InvalidNameError):
        RepoId.parse("a/b/c")


def test_repo_type_prefixes() -> None:
    assert RepoType.MODEL.url_prefix == ""
    assert RepoType.from_plural("datasets") is RepoType.DATASET
    assert RepoType.parse(None) is RepoType.MODEL
    with pytest.raises(BadRequestError):
        RepoType.parse("kernel-ish")


@pytest.mark.parametrize(
    "path", ["a.txt", "dir/sub/file.bin", ".gitattributes", "a/.hidden/b", "ünïcode.txt", "a\\b", "dir\\x.txt"]
)
def test_valid_paths(path: str) -> None:
    assert validate_repo_path(path) == path


@pytest.mark.parametrize(
    "path", ["", "/abs", "../x", "a/../b", "a//b", "./a", "a\\.git", ".git\\x", ".git/config", "x/.git/y", "a\x00b"]
)
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidPathError) as refused:
        validate_repo_path(path)
    assert refused.value.status == 422


def test_folder_paths_may_end_with_slash() -> None:
    assert validate_repo_path("dir/", allow_folder_slash=True) == "dir"


@pytest.mark.parametrize("name", ["main", "feature/x", "v1.0", "release-2"])
def test_valid_branch_names(name: str) -> None:
    assert validate_branch_name(name) == name


@pytest.mark.parametrize("name", ["", "a..b", "refs/heads/x", "-x", "a b", "x.lock", "a~1", "a:b"])
def test_invalid_branch_names(name: str) -> None:
    with pytest.raises(BadRequestError):
        validate_branch_name(name)


@pytest.mark.parametrize(
    "path",
    [
        ".GIT/config",
        ".Git/hooks/post-checkout",
        ".git./config",
        ".git ./config",
        "GIT~1/config",
        "sub/git~1/config",
        ".git::$INDEX_ALLOCATION/config",
        ".git:stream",
        ".git\u200c/config",
        "a/\u200d.git/config",
        ".g\u200eit\u206f/config",
        "\ufeff.GIT/config",
    ],
)
def test_names_a_filesystem_takes_for_dotgit_are_refused(path: str) -> None:
    """git's verify_path with core.protectNTFS and core.protectHFS refuses each of these."""
    with pytest.raises(InvalidPathError, match="reserved"):
        validate_repo_path(path)


@pytest.mark.parametrize("path", [".github/workflows/ci.yml", ".gitignore", "git~2/x", "my.git/x", ".git~1", "git"])
def test_names_near_dotgit_stay_valid(path: str) -> None:
    assert validate_repo_path(path) == path
