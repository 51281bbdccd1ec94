"""Access rules for repositories and namespaces, shared by every surface (API, downloads, LFS,
Xet, git): thin names over :mod:`dockyard.auth.access`, which holds the rules themselves.

Private repos are invisible to outsiders: callers without read access get the same 404 as for a
repo that does not exist, so names of private repos never leak.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.auth.access import Right, ensure, may
from dockyard.auth.identity import Caller
from dockyard.errors import AuthenticationRequiredError, ForbiddenError, RepoNotFoundError
from dockyard.repos.models import Repo

_WRITE_ROLES = ("write", "admin")


def can_read(session: Session, caller: Caller, repo: Repo) -> bool:
    """May see the repo's metadata (not necessarily download its content)."""
    return may(session, caller, repo, Right.SEE)


def can_download(session: Session, caller: Caller, repo: Repo) -> bool:
    return may(session, caller, repo, Right.DOWNLOAD)


def can_write(session: Session, caller: Caller, repo: Repo) -> bool:
    return may(session, caller, repo, Right.WRITE)


def can_admin(session: Session, caller: Caller, repo: Repo) -> bool:
    return may(session, caller, repo, Right.ADMIN)


def ensure_read(session: Session, caller: Caller, repo: Repo, *, requested: str | None = None) -> None:
    """404 for callers who may not see the repo, echoing ``requested`` (the id as the caller typed
    it), never the canonical id: another letter case or a renamed repo's old name must not tell an
    outsider what the private repo is really called."""
    ensure(session, caller, repo, Right.SEE, requested=requested)


def ensure_content(session: Session, caller: Caller, repo: Repo) -> None:
    """File contents (and diffs, clones, read tokens) need the download right."""
    ensure(session, caller, repo, Right.DOWNLOAD)


def ensure_write(session: Session, caller: Caller, repo: Repo) -> None:
    ensure(session, caller, repo, Right.WRITE)


def ensure_admin(session: Session, caller: Caller, repo: Repo) -> None:
    ensure(session, caller, repo, Right.ADMIN)


def _is_writer(session: Session, caller: Caller, owner_id: int) -> bool:
    if caller.user is None:
        return False
    if caller.is_admin or owner_id == caller.user.id:
        return True
    return caller.org_role(session, owner_id) in _WRITE_ROLES


def ensure_can_create_in(session: Session, caller: Caller, namespace: Account) -> None:
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to create a repository")
    if not caller.token_allows_namespace("write", namespace.name):
        raise ForbiddenError(f"This token cannot create repositories under {namespace.name}")
    if not _is_writer(session, caller, namespace.id):
        raise ForbiddenError(f"You don't have the rights to create a repository under {namespace.name}")


def not_found(requested: str) -> RepoNotFoundError:
    """The 404 for a repo the caller cannot see; ``requested`` is the id exactly as the caller sent
    it (the answer is the same whether the repo is missing, private, renamed or differently cased)."""
    del requested  # never echoed: the message is the Hub's exact "Repository not found"
    return RepoNotFoundError()
