"""Who may see and who may edit a collection, in a Python form (one collection at hand) and a SQL
form (listings) that must agree.

A collection belongs to a namespace, like a repo: a private one is seen only by its owner, the
members of its owning organisation and hub admins, through a token that may read that namespace;
anyone else gets the same 404 as for a collection that does not exist. Editing mirrors creating a
repo in the namespace (:func:`dockyard.auth.permissions.ensure_can_create_in`): the owner user or
an org member with the write or admin role, through a token that may write to the namespace.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account, Membership
from dockyard.auth.access import Viewer
from dockyard.auth.identity import Caller
from dockyard.collections.models import Collection
from dockyard.errors import AuthenticationRequiredError, ForbiddenError, NotFoundError

_WRITE_ROLES = ("write", "admin")


class CollectionNotFoundError(NotFoundError):
    default_message = "Collection not found"


def _account_role(session: Session, caller: Caller, owner_id: int) -> str | None:
    if caller.user is None:
        return None
    if caller.is_admin or owner_id == caller.user.id:
        return "admin"
    return caller.org_role(session, owner_id)


def may_see(session: Session, caller: Caller, collection: Collection) -> bool:
    if not collection.private:
        return True
    if not caller.token_allows_namespace("read", collection.owner.name):
        return False
    return _account_role(session, caller, collection.owner_id) is not None


def may_edit(session: Session, caller: Caller, collection_owner: Account) -> bool:
    if not caller.token_allows_namespace("write", collection_owner.name):
        return False
    return _account_role(session, caller, collection_owner.id) in _WRITE_ROLES


def ensure_see(session: Session, caller: Caller, collection: Collection | None, requested: str) -> Collection:
    """The collection, or the one 404 for missing and hidden alike (``requested`` is echoed, so
    the answer tells an outsider nothing)."""
    if collection is None or not may_see(session, caller, collection):
        raise CollectionNotFoundError(f"Collection {requested} not found")
    return collection


def ensure_edit(session: Session, caller: Caller, owner: Account) -> None:
    """401 for anonymous callers, 403 for those who may not write in the namespace."""
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to manage collections")
    if not caller.token_allows_namespace("write", owner.name):
        raise ForbiddenError(f"This token cannot manage collections under {owner.name}")
    if not may_edit(session, caller, owner):
        raise ForbiddenError(f"You don't have the rights to manage collections under {owner.name}")


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Collections ``viewer`` may see: the SQL form of :func:`may_see`."""
    public = Collection.private.is_(False)
    if viewer.user_id is None:
        return public
    member_of = select(Membership.org_id).where(Membership.user_id == viewer.user_id)
    account = (
        true() if viewer.is_admin else or_(Collection.owner_id == viewer.user_id, Collection.owner_id.in_(member_of))
    )
    if viewer.scopes is None:
        return or_(public, account)
    namespaces = [s.name.lower() for s in viewer.scopes if s.entity_type in ("user", "org") and s.allows("read")]
    token = Collection.owner_id.in_(select(Account.id).where(Account.name_lower.in_(namespaces)))
    return or_(public, and_(account, token))
