"""The one place that answers "may this caller see, download, write or administer this repo, or use
this content?", in two forms that must agree:

* the Python form (:func:`may`, :func:`ensure`) for one repo at hand;
* the SQL form (:func:`visible_clause`, :func:`downloadable_clause`) for queries over many repos:
  listings, the Xet dedup answer, and the content-usability rule.

A caller's rights are the intersection of what their *account* may do (owner, org role, hub admin,
an accepted access request) and what their *token* allows (a read or write role, or fine-grained
scopes). Seeing a repo (its metadata) and downloading it (its bytes, diffs, clones, and the tokens
that can read them) are separate rights: a gated repo is visible to everyone who can see it, but
its content needs membership or an accepted request, through a token that covers the repo.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account, Membership
from dockyard.auth.identity import Caller
from dockyard.auth.scopes import Scope
from dockyard.errors import AuthenticationRequiredError, ForbiddenError, GatedRepoError, RepoNotFoundError
from dockyard.gating.models import ACCEPTED, AccessRequest
from dockyard.lfs.models import RepoLfsObject
from dockyard.repos.models import Repo

_WRITE_ROLES = ("write", "admin")


class Right(IntEnum):
    """Each right includes the ones before it."""

    SEE = 1  # metadata: info, trees, refs, commit lists
    DOWNLOAD = 2  # bytes: files, diffs, clones, Xet reconstructions, tokens that read them
    WRITE = 3  # commits, branches, tags, uploads
    ADMIN = 4  # settings, rename, delete


# -- the Python form -------------------------------------------------------------------------------
def _token_allows(caller: Caller, repo: Repo, level: str) -> bool:
    return caller.token_allows(level, repo_type=repo.type, owner=repo.namespace, full_id=repo.full_id)


def _account_role(session: Session, caller: Caller, repo: Repo) -> str | None:
    """``admin``, ``write`` or ``read``: what the account may do on the repo, before its token."""
    if caller.user is None:
        return None
    if caller.is_admin or repo.owner_id == caller.user.id:
        return "admin"
    return caller.org_role(session, repo.owner_id)


def _was_granted(session: Session, caller: Caller, repo: Repo) -> bool:
    if caller.user is None:
        return False
    status = session.scalar(
        select(AccessRequest.status).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == caller.user.id)
    )
    return status == ACCEPTED


def may(session: Session, caller: Caller, repo: Repo, right: Right) -> bool:
    role = _account_role(session, caller, repo)
    reads = _token_allows(caller, repo, "read")
    if repo.private and not (role is not None and reads):
        return False
    if right is Right.SEE:
        return True
    if right is Right.DOWNLOAD:
        return not repo.gated or (reads and (role is not None or _was_granted(session, caller, repo)))
    if not _token_allows(caller, repo, "write"):
        return False
    return role in _WRITE_ROLES if right is Right.WRITE else role == "admin"


def may_propose(session: Session, caller: Caller, repo: Repo) -> bool:
    """Opening or updating a pull request: any account that sees the repo, through a token that
    may write to it (a fine-grained token needs a write scope covering this repo)."""
    return caller.user is not None and may(session, caller, repo, Right.SEE) and _token_allows(caller, repo, "write")


def ensure(session: Session, caller: Caller, repo: Repo, right: Right, *, requested: str | None = None) -> None:
    """404 to callers who may not see the repo, in the Hub's words, naming no repo (``requested``
    is never echoed, so the real name cannot leak); for content, the Hub's GatedRepo 401/403; for
    writing and administering, 401 or 403."""
    if not may(session, caller, repo, Right.SEE):
        raise RepoNotFoundError()
    if may(session, caller, repo, right):
        return
    if right is Right.DOWNLOAD:
        raise _gated_error(caller, repo)
    if caller.user is None:
        raise AuthenticationRequiredError(
            f"You must be authenticated to {'write to' if right is Right.WRITE else 'manage'} this repository"
        )
    raise ForbiddenError(forbidden_message(caller, repo))


def _gated_error(caller: Caller, repo: Repo) -> GatedRepoError:
    if caller.user is None:
        error = GatedRepoError(
            f"Access to {repo.type} {repo.full_id} is restricted. You must have access to it and be "
            "authenticated to access it. Please log in."
        )
        error.status = 401
        return error
    if caller.scopes is not None:
        return GatedRepoError(
            f"Access to {repo.type} {repo.full_id} is restricted: this fine-grained token has no read scope covering it"
        )
    return GatedRepoError(
        f"Access to {repo.type} {repo.full_id} is restricted and you are not in the authorized list. "
        "Visit the repo page to ask for access."
    )


def forbidden_message(caller: Caller, repo: Repo) -> str:
    if caller.role == "read":
        return f"This token has read access only: you cannot write to {repo.full_id}"
    if caller.scopes is not None:
        return f"This fine-grained token has no write scope covering {repo.full_id}"
    return f"You don't have the rights to write to {repo.full_id}"


# -- the SQL form ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Viewer:
    """What the SQL form needs to know about a caller. ``scopes`` None: the token carries all its
    user's rights; a list: only repos those scopes cover (an empty list: none beyond public)."""

    user_id: int | None
    is_admin: bool = False
    scopes: tuple[Scope, ...] | None = None

    @classmethod
    def of(cls, caller: Caller) -> Viewer:
        if caller.user is None:
            return cls(user_id=None)
        scopes = None if caller.scopes is None else tuple(caller.scopes)
        return cls(user_id=caller.user.id, is_admin=caller.is_admin, scopes=scopes)


def _token_reads(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.scopes is None:
        return true()
    namespaces = [s.name.lower() for s in viewer.scopes if s.entity_type in ("user", "org")]
    repos = [
        and_(Repo.type == s.entity_type, Repo.full_id_lower == s.name.lower())
        for s in viewer.scopes
        if s.entity_type not in ("user", "org")
    ]
    in_namespaces = Repo.owner_id.in_(select(Account.id).where(Account.name_lower.in_(namespaces)))
    return or_(in_namespaces, *repos) if namespaces or repos else false()


def _account_reads(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.user_id is None:
        return false()
    if viewer.is_admin:
        return true()
    member_of = select(Membership.org_id).where(Membership.user_id == viewer.user_id)
    return or_(Repo.owner_id == viewer.user_id, Repo.owner_id.in_(member_of))


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Repos whose metadata ``viewer`` may see: the SQL form of ``may(..., Right.SEE)``."""
    if viewer.user_id is None:
        return Repo.private.is_(False)
    return or_(Repo.private.is_(False), and_(_account_reads(viewer), _token_reads(viewer)))


def downloadable_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Repos whose content ``viewer`` may download: the SQL form of ``may(..., Right.DOWNLOAD)``."""
    if viewer.user_id is None:
        return and_(Repo.private.is_(False), Repo.gated.is_(None))
    granted = select(AccessRequest.repo_id).where(
        AccessRequest.user_id == viewer.user_id, AccessRequest.status == ACCEPTED
    )
    gate = or_(Repo.gated.is_(None), and_(_token_reads(viewer), or_(_account_reads(viewer), Repo.id.in_(granted))))
    return and_(visible_clause(viewer), gate)


# -- content ---------------------------------------------------------------------------------------
def content_usable(session: Session, caller: Caller, repo: Repo, oid: str) -> bool:
    """The one rule for linking stored content to a repo without receiving its bytes: the repo
    already holds it, or the caller may *download* (not merely see) some repo that holds it.
    Content whose bytes this upload delivered and verified is linked by the upload itself."""
    holders = select(RepoLfsObject.oid).join(Repo, Repo.id == RepoLfsObject.repo_id).where(RepoLfsObject.oid == oid)
    allowed = or_(Repo.id == repo.id, downloadable_clause(Viewer.of(caller)))
    return session.scalar(holders.where(allowed).limit(1)) is not None
