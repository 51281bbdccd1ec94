"""``GET /api/collections``: the collections a caller may see, filtered by owner and by an item
they contain, sorted, one page at a time (the surface adds the ``Link`` to the next page)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.auth.access import Right, Viewer, may
from dockyard.auth.identity import Caller
from dockyard.collections import access, service
from dockyard.collections.models import Collection, CollectionItem
from dockyard.errors import BadRequestError, InvalidNameError
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.service import RepoRef, find_repo

SORTS = ("lastModified", "trending", "upvotes")


@dataclass(frozen=True, slots=True)
class CollectionQuery:
    owners: tuple[str, ...] = ()
    items: tuple[str, ...] = ()  # "models/acme/bert", "datasets/squad", "collections/{slug}"
    sort: str = "lastModified"
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise BadRequestError(f"sort must be one of {', '.join(SORTS)}")


def list_collections(session: Session, caller: Caller, query: CollectionQuery, *, limit: int) -> list[Collection]:
    statement: Select[Collection] = select(Collection).where(access.visible_clause(Viewer.of(caller)))
    if query.owners:
        owners = select(Account.id).where(Account.name_lower.in_([o.lower() for o in query.owners]))
        statement = statement.where(Collection.owner_id.in_(owners))
    for item in query.items:
        contains = _containing(session, caller, item)
        if contains is None:
            return []
        statement = statement.where(Collection.id.in_(select(CollectionItem.collection_id).where(contains)))
    return list(session.scalars(_ordered(statement, query.sort).offset(query.offset).limit(limit)))


def _ordered(statement: Select[Collection], sort: str) -> Select[Collection]:
    if sort == "lastModified":
        return statement.order_by(Collection.last_updated.desc(), Collection.id.desc())
    # No upvote route yet, so "trending" ranks like "upvotes", recent first among equals.
    return statement.order_by(Collection.upvotes.desc(), Collection.last_updated.desc(), Collection.id.desc())


def _containing(session: Session, caller: Caller, item: str) -> ColumnElement[bool] | None:
    """The item condition for ``item``, or None when nothing can match: an unknown target, or one
    the caller may not see (a filter must not reveal that a private repo exists)."""
    kind, _, name = item.partition("/")
    if not name:
        raise BadRequestError(f"item must look like 'models/namespace/name', not {item!r}")
    if kind == "collections":
        target = service.find(session, name)
        if target is None or not access.may_see(session, caller, target):
            return None
        return CollectionItem.target_collection_id == target.id
    if kind in ("papers", "buckets"):
        return None
    try:
        repo = find_repo(session, RepoRef(RepoType.from_plural(kind), RepoId.parse(name)))
    except InvalidNameError:
        return None
    if repo is None or not may(session, caller, repo, Right.SEE):
        return None
    return CollectionItem.repo_id == repo.id
