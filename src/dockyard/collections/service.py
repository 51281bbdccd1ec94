"""Collections and their items: create, rename, reorder, delete; add, annotate, move and remove
items. Routes parse the request and call these; every function takes the caller's session and
raises :mod:`dockyard.errors` classes (404 hides, 401/403 refuse, 409 duplicates)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.audit.service import record_for
from dockyard.auth.identity import Caller
from dockyard.collections import access
from dockyard.collections.models import Collection, CollectionItem
from dockyard.db.base import utcnow
from dockyard.errors import AuthenticationRequiredError, BadRequestError, ConflictError, NotFoundError

THEMES = ("orange", "blue", "green", "purple", "pink", "indigo", "gray")
DEFAULT_THEME = "orange"
TITLE_MAX = 100
DESCRIPTION_MAX = 150  # the Hub's limits, as huggingface_hub documents them
NOTE_MAX = 500
_UID = re.compile(r"^[0-9a-f]{24}$")


class CollectionExistsError(ConflictError):
    """409 for a title already used in the namespace; the answer names the existing ``slug``."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"A collection with this title already exists: {slug}")
        self.slug = slug


class ItemNotFoundError(NotFoundError):
    default_message = "Item not found in this collection"


@dataclass(frozen=True, slots=True)
class Changes:
    """A PATCH of a collection: None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    position: int | None = None
    private: bool | None = None
    theme: str | None = None


def new_uid() -> str:
    """24 hex digits, the shape of the Hub's object ids (clients may parse them)."""
    return secrets.token_hex(12)


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:80].strip("-") or "collection"


def validate_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > TITLE_MAX:
        raise BadRequestError(f"A collection title must have 1 to {TITLE_MAX} characters")
    return title


def validate_description(description: str) -> str | None:
    if len(description) > DESCRIPTION_MAX:
        raise BadRequestError(f"A collection description must have at most {DESCRIPTION_MAX} characters")
    return description or None


def validate_note(note: str) -> str | None:
    if len(note) > NOTE_MAX:
        raise BadRequestError(f"A note must have at most {NOTE_MAX} characters")
    return note or None


def validate_theme(theme: str) -> str:
    if theme not in THEMES:
        raise BadRequestError(f"theme must be one of {', '.join(THEMES)}")
    return theme


# -- lookup ------------------------------------------------------------------------------------------
def find(session: Session, slug: str) -> Collection | None:
    """By the trailing id alone: the owner and title parts may be out of date (renames)."""
    uid = slug.rsplit("-", 1)[-1].lower()
    if _UID.match(uid) is None:
        return None
    return session.scalar(select(Collection).where(Collection.uid == uid))


def get_visible(session: Session, caller: Caller, slug: str) -> Collection:
    return access.ensure_see(session, caller, find(session, slug), slug)


def get_editable(session: Session, caller: Caller, slug: str) -> Collection:
    collection = get_visible(session, caller, slug)
    access.ensure_edit(session, caller, collection.owner)
    return collection


# -- collections -------------------------------------------------------------------------------------
def _clash(session: Session, owner_id: int, title_slug: str, *, besides: int | None = None) -> Collection | None:
    query = select(Collection).where(Collection.owner_id == owner_id, Collection.title_slug == title_slug)
    if besides is not None:
        query = query.where(Collection.id != besides)
    return session.scalar(query)


def create(
    session: Session, caller: Caller, *, namespace: str, title: str, description: str | None, private: bool
) -> Collection:
    if caller.user is None:  # before the namespace lookup: anonymous callers learn nothing
        raise AuthenticationRequiredError("You must be authenticated to create a collection")
    owner = accounts.get_account(session, namespace)
    access.ensure_edit(session, caller, owner)
    title = validate_title(title)
    title_slug = slugify(title)
    existing = _clash(session, owner.id, title_slug)
    if existing is not None:
        raise CollectionExistsError(existing.slug)
    count = session.scalar(select(func.count()).where(Collection.owner_id == owner.id)) or 0
    collection = Collection(
        uid=new_uid(),
        owner=owner,
        owner_id=owner.id,
        title=title,
        title_slug=title_slug,
        description=validate_description(description or ""),
        private=private,
        theme=DEFAULT_THEME,
        position=count,
        upvotes=0,
        last_updated=utcnow(),
    )
    _insert(session, collection, lambda: _clash(session, owner.id, title_slug))
    record_for(session, caller, "collection.created", collection.slug, private=private)
    return collection


def _insert(session: Session, collection: Collection, clash: Callable[[], Collection | None]) -> None:
    """Insert; a title taken by a concurrent request (the unique constraint) is the same 409."""
    try:
        with session.begin_nested():
            session.add(collection)
    except IntegrityError:
        existing = clash()
        if existing is None:
            raise
        raise CollectionExistsError(existing.slug) from None


def update(session: Session, caller: Caller, collection: Collection, changes: Changes) -> None:
    if changes.title is not None:
        title = validate_title(changes.title)
        title_slug = slugify(title)
        existing = _clash(session, collection.owner_id, title_slug, besides=collection.id)
        if existing is not None:
            raise CollectionExistsError(existing.slug)
        collection.title, collection.title_slug = title, title_slug
    if changes.description is not None:
        collection.description = validate_description(changes.description)
    if changes.theme is not None:
        collection.theme = validate_theme(changes.theme)
    if changes.private is not None and changes.private != collection.private:
        collection.private = changes.private
        record_for(session, caller, "collection.visibility", collection.slug, private=changes.private)
    if changes.position is not None:
        siblings = _owner_collections(session, collection.owner_id)
        _place(siblings, collection, changes.position)
    collection.last_updated = utcnow()
    session.flush()


def delete(session: Session, caller: Caller, collection: Collection) -> None:
    record_for(session, caller, "collection.deleted", collection.slug)
    owner_id = collection.owner_id
    session.delete(collection)
    session.flush()
    _renumber(_owner_collections(session, owner_id))


def _owner_collections(session: Session, owner_id: int) -> list[Collection]:
    query = select(Collection).where(Collection.owner_id == owner_id).order_by(Collection.position, Collection.id)
    return list(session.scalars(query))


# -- items -------------------------------------------------------------------------------------------
def items_of(session: Session, collection: Collection) -> list[CollectionItem]:
    query = (
        select(CollectionItem)
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.position, CollectionItem.id)
    )
    return list(session.scalars(query))


def add_item(
    session: Session, caller: Caller, collection: Collection, target: Target, note: str | None
) -> CollectionItem:
    """Append ``target`` (already resolved and visible to the caller); 409 if already there."""
    column = CollectionItem.repo_id if target.repo_id is not None else CollectionItem.target_collection_id
    value = target.repo_id if target.repo_id is not None else target.collection_id
    if target.collection_id == collection.id:
        raise BadRequestError("A collection cannot contain itself")
    duplicate = session.scalar(
        select(CollectionItem.id).where(CollectionItem.collection_id == collection.id, column == value)
    )
    if duplicate is not None:
        raise ConflictError(f"Item {target.name} is already in collection {collection.slug}")
    item = CollectionItem(
        uid=new_uid(),
        collection_id=collection.id,
        item_type=target.type,
        repo_id=target.repo_id,
        target_collection_id=target.collection_id,
        position=len(items_of(session, collection)),
        note=validate_note(note or ""),
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:  # the same item, added at the same moment by another request
        raise ConflictError(f"Item {target.name} is already in collection {collection.slug}") from None
    collection.last_updated = utcnow()
    session.flush()
    return item


def find_item(session: Session, collection: Collection, item_uid: str) -> CollectionItem:
    item = session.scalar(
        select(CollectionItem).where(CollectionItem.collection_id == collection.id, CollectionItem.uid == item_uid)
    )
    if item is None:
        raise ItemNotFoundError(f"Item {item_uid} not found in collection {collection.slug}")
    return item


def update_item(
    session: Session, collection: Collection, item_uid: str, *, note: str | None, position: int | None
) -> None:
    item = find_item(session, collection, item_uid)
    if note is not None:
        item.note = validate_note(note)
    if position is not None:
        _place(items_of(session, collection), item, position)
    collection.last_updated = utcnow()
    session.flush()


def delete_item(session: Session, collection: Collection, item_uid: str) -> None:
    session.delete(find_item(session, collection, item_uid))
    session.flush()
    _renumber(items_of(session, collection))
    collection.last_updated = utcnow()
    session.flush()


# -- ordering ----------------------------------------------------------------------------------------
def _place(rows: list[Collection] | list[CollectionItem], moved: Collection | CollectionItem, position: int) -> None:
    """Move ``moved`` to ``position`` (clamped) and renumber the others around it, 0-based."""
    others = [row for row in rows if row.id != moved.id]
    others.insert(max(0, min(position, len(others))), moved)
    _renumber(others)


def _renumber(rows: list[Collection] | list[CollectionItem] | list[Collection | CollectionItem]) -> None:
    for index, row in enumerate(rows):
        if row.position != index:
            row.position = index


@dataclass(frozen=True, slots=True)
class Target:
    """What an item points at, resolved: exactly one of ``repo_id`` and ``collection_id``."""

    type: str
    name: str
    repo_id: int | None = None
    collection_id: int | None = None
