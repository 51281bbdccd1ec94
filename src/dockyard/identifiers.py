"""Names, repo ids, revisions and file paths: validated once, at the edge.

The rules mirror the Hub's (and ``huggingface_hub.utils._validators``): names are letters,
digits, ``-``, ``_`` and ``.``, start and end with a letter, digit or ``_``, hold no ``--`` or
``..`` and are at most 96 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import pygit2

from dockyard.errors import BadRequestError, InvalidNameError, InvalidPathError

_NAME_RE = re.compile(r"^\w(?:[\w.\-]*\w)?$", re.ASCII)
MAX_NAME_LENGTH = 96
MAX_PATH_BYTES = 1024

# First URL segments that routes own; nobody may take them as a namespace.
RESERVED_NAMESPACES = frozenset(
    {
        "api",
        "models",
        "datasets",
        "spaces",
        "kernels",
        "buckets",
        "organizations",
        "settings",
        "docs",
        "login",
        "logout",
        "join",
        "new",
        "search",
        "static",
        "collections",
        "papers",
        "healthz",
        "readyz",
        "oauth",
        "uploads",
        "blog",
        "pricing",
        "tasks",
        "admin",
        "user",
        "users",
        "orgs",
        "resolve-cache",
        "huggingface",
        "dockyard",
    }
)


class RepoType(StrEnum):
    """The repo types, in one list: every route, prefix and scope type is derived from it, so a
    new type is one line here (plus its info fields in ``api/repo_info.py``)."""

    MODEL = "model"
    DATASET = "dataset"
    SPACE = "space"
    KERNEL = "kernel"

    @property
    def plural(self) -> str:
        """The segment of API URLs: ``/api/models``, ``/api/kernels``."""
        return f"{self.value}s"

    @property
    def url_prefix(self) -> str:
        """The prefix of non-API URLs: ``""``, ``datasets/``, ``spaces/``, ``kernels/``."""
        return "" if self is RepoType.MODEL else f"{self.plural}/"

    @property
    def route_prefix(self) -> str:
        """The same prefix as a route path starts it: ``""`` or ``/datasets``."""
        return "" if self is RepoType.MODEL else f"/{self.plural}"

    @classmethod
    def routing_order(cls) -> tuple[RepoType, ...]:
        """Prefixed types before models: ``/datasets/x/...`` would otherwise read as the model
        ``datasets/x``."""
        return (*(t for t in cls if t is not cls.MODEL), cls.MODEL)

    @classmethod
    def from_plural(cls, plural: str) -> RepoType:
        try:
            return cls(plural.removesuffix("s"))
        except ValueError:
            raise BadRequestError(f"Unknown repo type {plural!r}") from None

    @classmethod
    def parse(cls, value: str | None) -> RepoType:
        if value in (None, "", "model", "models"):
            return cls.MODEL
        try:
            return cls(value.removesuffix("s"))
        except ValueError:
            raise BadRequestError(f"Invalid repo type {value!r}") from None


def is_valid_name(name: str) -> bool:
    return (
        0 < len(name) <= MAX_NAME_LENGTH and _NAME_RE.match(name) is not None and "--" not in name and ".." not in name
    )


def validate_account_name(name: str) -> str:
    if not is_valid_name(name) or name.lower() in RESERVED_NAMESPACES:
        raise InvalidNameError(
            f"Invalid name {name!r}: use letters, digits, '-', '_' and '.', at most {MAX_NAME_LENGTH} "
            "characters, starting and ending with a letter, digit or '_'"
        )
    return name


def validate_repo_name(name: str) -> str:
    if not is_valid_name(name) or name.endswith(".git"):
        raise InvalidNameError(
            f"Invalid repository name {name!r}: use letters, digits, '-', '_' and '.', at most "
            f"{MAX_NAME_LENGTH} characters, no '--' or '..', not ending in '.git'"
        )
    return name


@dataclass(frozen=True, slots=True)
class RepoId:
    """``namespace/name``; ``namespace`` is empty for a single-segment canonical id (``gpt2``)."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str) -> RepoId:
        parts = text.split("/")
        if len(parts) == 1:
            return cls("", validate_repo_name(parts[0]))
        if len(parts) == 2:
            if not is_valid_name(parts[0]):
                raise InvalidNameError(f"Invalid namespace {parts[0]!r}")
            return cls(parts[0], validate_repo_name(parts[1]))
        raise InvalidNameError(f"Invalid repo id {text!r}: expected 'namespace/name'")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def validate_branch_name(name: str) -> str:
    """A branch or tag name as git accepts it (``refs/heads/<name>`` must be valid)."""
    if (
        not name
        or len(name) > 255
        or name.startswith(("refs/", "-"))
        or not pygit2.reference_is_valid_name(f"refs/heads/{name}")
    ):
        raise BadRequestError(f"Invalid reference name {name!r}")
    return name


def validate_repo_path(path: str, *, allow_folder_slash: bool = False) -> str:
    """A file path inside a repository: relative, no ``..``/``.`` segments, nothing under ``.git``
    (422, as the Hub). Paths split on ``/`` only: a backslash is an ordinary filename character,
    except that no backslash-separated part may be a ``.git`` look-alike (git's NTFS rule)."""
    candidate = path[:-1] if allow_folder_slash and path.endswith("/") else path
    if not candidate or len(candidate.encode()) > MAX_PATH_BYTES:
        raise InvalidPathError(f"Invalid path {path!r}: empty or too long")
    if candidate.startswith("/") or "\x00" in candidate:
        raise InvalidPathError(f"Invalid path {path!r}: must be relative")
    for segment in candidate.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidPathError(f"Invalid path {path!r}: empty, '.' or '..' segment")
        if any(is_dotgit_alias(part) for part in segment.split("\\")):
            raise InvalidPathError(
                f"Invalid path {path!r}: {segment!r} is a name a filesystem may take for '.git', which is reserved"
            )
    return candidate


# git's utf8.c::next_hfs_char: code points HFS+ ignores when it compares names.
_HFS_IGNORABLE = dict.fromkeys([*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])
# git's path.c::is_ntfs_dotgit: ".git" or its 8.3 short name "git~1", any case, then only dots and
# spaces (which NTFS strips), optionally followed by an alternate data stream (":$INDEX_ALLOCATION").
_NTFS_DOTGIT_RE = re.compile(r"^(?:\.git|git~1)[. ]*(?::.*)?$", re.IGNORECASE | re.DOTALL)


def is_dotgit_alias(segment: str) -> bool:
    """Whether a checkout on NTFS, HFS+ or a case-insensitive filesystem would write this path
    segment into ``.git`` (git's ``verify_path`` with ``core.protectNTFS`` and ``core.protectHFS``).

    Such names let a repo overwrite a cloner's git config (hooks run code), so none is stored."""
    if _NTFS_DOTGIT_RE.match(segment):
        return True
    return segment.translate(_HFS_IGNORABLE).lower() == ".git"
