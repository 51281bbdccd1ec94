"""Access rules for repositories and namespaces, shared by every surface (API, downloads, LFS,
Xet, git).

A caller's rights are the intersection of what their account may do (owner, org role, admin)
and what their token allows (read/write role, or fine-grained scopes). Private repos are
invisible to outsiders: callers without read access get the same 404 as for a repo that does not
exist, so names of private repos never leak.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.auth.identity import Caller
from dockyard.errors import AuthenticationRequiredError, ForbiddenError, RepoNotFoundError
from dockyard.gating.service import ensure_access
from dockyard.repos.models import Repo

_WRITE_ROLES = ("write", "admin")


def _token_allows(caller: Caller, repo: Repo, level: str) -> bool:
    return caller.token_allows(level, repo_type=repo.type, owner=repo.namespace, full_id=repo.full_id)


def _account_reads(session: Session, caller: Caller, repo: Repo) -> bool:
    if caller.user is None:
        return False
    if caller.is_admin or repo.owner_id == caller.user.id:
        return True
    return caller.org_role(session, repo.owner_id) is not None


def can_read(session: Session, caller: Caller, repo: Repo) -> bool:
    if not repo.private:
        return True
    return _account_reads(session, caller, repo) and _token_allows(caller, repo, "read")


def _is_writer(session: Session, caller: Caller, owner_id: int) -> bool:
    if caller.user is None:
        return False
    if caller.is_admin or owner_id == caller.user.id:
        return True
    return caller.org_role(session, owner_id) in _WRITE_ROLES


def can_write(session: Session, caller: Caller, repo: Repo) -> bool:
    return _is_writer(session, caller, repo.owner_id) and _token_allows(caller, repo, "write")


def can_admin(session: Session, caller: Caller, repo: Repo) -> bool:
    if caller.user is None or not _token_allows(caller, repo, "write"):
        return False
    if caller.is_admin or repo.owner_id == caller.user.id:
        return True
    return caller.org_role(session, repo.owner_id) == "admin"


def ensure_read(session: Session, caller: Caller, repo: Repo, *, requested: str | None = None) -> None:
    """404 for callers who may not read. The message echoes ``requested`` (the id as the caller
    typed it), never the canonical id: another letter case or a renamed repo's old name must not
    tell an outsider what the private repo is really called."""
    if not can_read(session, caller, repo):
        raise not_found(requested if requested is not None else repo.full_id)


def ensure_write(session: Session, caller: Caller, repo: Repo) -> None:
    ensure_read(session, caller, repo)
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to write to this repository")
    if not can_write(session, caller, repo):
        raise ForbiddenError(_forbidden_message(caller, repo))


def ensure_admin(session: Session, caller: Caller, repo: Repo) -> None:
    ensure_read(session, caller, repo)
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to manage this repository")
    if not can_admin(session, caller, repo):
        raise ForbiddenError(_forbidden_message(caller, repo))


def ensure_can_create_in(session: Session, caller: Caller, namespace: Account) -> None:
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to create a repository")
    if not caller.token_allows_namespace("write", namespace.name):
        raise ForbiddenError(f"This token cannot create repositories under {namespace.name}")
    if not _is_writer(session, caller, namespace.id):
        raise ForbiddenError(f"You don't have the rights to create a repository under {namespace.name}")


def ensure_content(session: Session, caller: Caller, repo: Repo) -> None:
    """File contents of a gated repo need an accepted access request (metadata stays readable)."""
    ensure_access(session, caller, repo)


def _not_found_message(full_id: str) -> str:
    return (
        f"Repository Not Found for url: {full_id}. Please make sure you specified the correct "
        "`repo_id` and `repo_type`. If you are trying to access a private or gated repo, make sure "
        "you are authenticated."
    )


def _forbidden_message(caller: Caller, repo: Repo) -> str:
    if caller.role == "read":
        return f"This token has read access only: you cannot write to {repo.full_id}"
    if caller.scopes is not None:
        return f"This fine-grained token has no write scope covering {repo.full_id}"
    return f"You don't have the rights to write to {repo.full_id}"


def not_found(requested: str) -> RepoNotFoundError:
    """The 404 for a repo the caller cannot see; ``requested`` is the id exactly as the caller sent
    it (the answer is the same whether the repo is missing, private, renamed or differently cased)."""
    return RepoNotFoundError(_not_found_message(requested))
