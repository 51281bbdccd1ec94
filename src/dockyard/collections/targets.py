"""What collection items point at: resolving a new item's target (404 when it does not exist or
the caller may not see it) and choosing the items a caller may see (items pointing at a private
repo or collection are left out for callers who may not see it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.auth.access import Right, may
from dockyard.auth.identity import Caller
from dockyard.auth.permissions import not_found
from dockyard.collections import access, service
from dockyard.collections.models import Collection, CollectionItem
from dockyard.errors import BadRequestError, NotFoundError
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.models import Repo
from dockyard.repos.service import RepoRef, find_repo

COLLECTION = "collection"
_ELSEWHERE = ("paper", "bucket")  # item kinds of the Hub that Dockyard does not host


@dataclass(frozen=True, slots=True)
class Shown:
    """An item the caller may see, with the row it points at."""

    item: CollectionItem
    repo: Repo | None = None
    collection: Collection | None = None


def resolve(session: Session, caller: Caller, item_type: str, item_id: str) -> service.Target:
    if item_type == COLLECTION:
        target = service.find(session, item_id)
        access.ensure_see(session, caller, target, item_id)
        assert target is not None  # ensure_see raised otherwise
        return service.Target(type=COLLECTION, name=target.slug, collection_id=target.id)
    if item_type in _ELSEWHERE:
        raise NotFoundError(f"{item_type.capitalize()} {item_id} not found: this hub has no {item_type}s")
    repo_type = _repo_type(item_type)
    repo = find_repo(session, RepoRef(repo_type, RepoId.parse(item_id)))
    if repo is None or not may(session, caller, repo, Right.SEE):
        raise not_found(item_id)
    return service.Target(type=repo_type.value, name=repo.full_id, repo_id=repo.id)


def _repo_type(item_type: str) -> RepoType:
    try:
        return RepoType(item_type)
    except ValueError:
        raise BadRequestError(f"Unknown item type {item_type!r}") from None


def visible(session: Session, caller: Caller, items: list[CollectionItem]) -> list[Shown]:
    """``items`` (in order) without those whose target the caller may not see."""
    repo_ids = [i.repo_id for i in items if i.repo_id is not None]
    collection_ids = [i.target_collection_id for i in items if i.target_collection_id is not None]
    repos = {r.id: r for r in session.scalars(select(Repo).where(Repo.id.in_(repo_ids)))} if repo_ids else {}
    collections = (
        {c.id: c for c in session.scalars(select(Collection).where(Collection.id.in_(collection_ids)))}
        if collection_ids
        else {}
    )
    shown = []
    for item in items:
        repo = repos.get(item.repo_id) if item.repo_id is not None else None
        target = collections.get(item.target_collection_id) if item.target_collection_id is not None else None
        if repo is not None and may(session, caller, repo, Right.SEE):
            shown.append(Shown(item, repo=repo))
        elif target is not None and access.may_see(session, caller, target):
            shown.append(Shown(item, collection=target))
    return shown
