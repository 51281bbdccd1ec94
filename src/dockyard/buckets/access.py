"""Who may see, write or administer a bucket: the repo rules of ``auth/access.py`` applied to a
bucket (owner, org roles read/write/admin, hub admins; read or write tokens; fine-grained scopes
``bucket:NS/NAME:LEVEL`` or the namespace's ``user:``/``org:`` scope). Buckets have no gate, so
seeing a bucket is downloading it.

A bucket the caller may not see answers as missing: 404 ``RepoNotFound`` to a signed-in caller,
401 to an anonymous one (the Hub's answers), the same whether it is private or absent.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account, Membership
from dockyard.auth.access import Right, Viewer
from dockyard.auth.identity import Caller
from dockyard.buckets.models import Bucket
from dockyard.errors import AuthenticationRequiredError, ForbiddenError, RepoNotFoundError

SCOPE_TYPE = "bucket"
_WRITE_ROLES = ("write", "admin")


def _token_allows(caller: Caller, bucket: Bucket, level: str) -> bool:
    return caller.token_allows(level, repo_type=SCOPE_TYPE, owner=bucket.namespace, full_id=bucket.full_id)


def _account_role(session: Session, caller: Caller, bucket: Bucket) -> str | None:
    if caller.user is None:
        return None
    if caller.is_admin or bucket.owner_id == caller.user.id:
        return "admin"
    return caller.org_role(session, bucket.owner_id)


def may(session: Session, caller: Caller, bucket: Bucket, right: Right) -> bool:
    role = _account_role(session, caller, bucket)
    if bucket.private and not (role is not None and _token_allows(caller, bucket, "read")):
        return False
    if right <= Right.DOWNLOAD:
        return True
    if not _token_allows(caller, bucket, "write"):
        return False
    return role in _WRITE_ROLES if right is Right.WRITE else role == "admin"


def not_found(caller: Caller) -> RepoNotFoundError:
    """The answer for a bucket that is missing or hidden: the client maps both to BucketNotFound."""
    error = RepoNotFoundError()
    if caller.user is None:
        error.status = 401
    return error


def ensure(session: Session, caller: Caller, bucket: Bucket, right: Right) -> None:
    if not may(session, caller, bucket, Right.SEE):
        raise not_found(caller)
    if may(session, caller, bucket, right):
        return
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to change this bucket")
    if caller.role == "read":
        raise ForbiddenError(f"This token has read access only: you cannot write to {bucket.full_id}")
    if caller.scopes is not None:
        raise ForbiddenError(f"This fine-grained token has no write scope covering {bucket.full_id}")
    raise ForbiddenError(f"You don't have the rights to {_verb(right)} {bucket.full_id}")


def _verb(right: Right) -> str:
    return "write to" if right is Right.WRITE else "manage"


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Buckets whose metadata ``viewer`` may see: the SQL form of ``may(..., Right.SEE)``."""
    if viewer.user_id is None:
        return Bucket.private.is_(False)
    return or_(Bucket.private.is_(False), and_(_account_reads(viewer), _token_reads(viewer)))


def _account_reads(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_admin:
        return true()
    member_of = select(Membership.org_id).where(Membership.user_id == viewer.user_id)
    return or_(Bucket.owner_id == viewer.user_id, Bucket.owner_id.in_(member_of))


def _token_reads(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.scopes is None:
        return true()
    namespaces = [s.name.lower() for s in viewer.scopes if s.entity_type in ("user", "org")]
    named = [s.name.lower() for s in viewer.scopes if s.entity_type == SCOPE_TYPE]
    in_namespaces = Bucket.owner_id.in_(select(Account.id).where(Account.name_lower.in_(namespaces)))
    return or_(in_namespaces, Bucket.full_id_lower.in_(named)) if namespaces or named else false()
