"""Collections as pages: the list, one collection (``/collections/{namespace}/{title-slug}-{uid}``,
the Hub's URL), creating and editing one (title, description, visibility, items with notes,
order, removal) and ``/collections/add?item=<type>/<id>``, the "add to collection" form that
repo pages link to. Every change goes through :mod:`dockyard.collections.service`, which checks
that the viewer may edit the owner's collections."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.auth.identity import Caller
from dockyard.collections import access, service, targets
from dockyard.collections.listing import CollectionQuery, list_collections
from dockyard.collections.models import Collection
from dockyard.errors import BadRequestError, ConflictError, DockyardError
from dockyard.identifiers import RepoType
from dockyard.request_context import hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.redirects import login_url, see_other
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
NEW = "__new__"


# -- what the pages show -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CollectionView:
    collection: Collection
    items: list[targets.Shown]
    may_edit: bool


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _slug(namespace: str, slug: str) -> str:
    return f"{namespace}/{slug}"


def _url(collection: Collection) -> str:
    return f"/collections/{collection.slug}"


def editable_namespaces(session: Session, caller: Caller) -> list[Account]:
    """The viewer and the organisations where they may create collections (write or admin)."""
    if caller.user is None:
        return []
    orgs = [m.org for m in accounts.memberships_of(session, caller.user) if m.role in ("write", "admin")]
    return [caller.user, *[o for o in orgs if access.may_edit(session, caller, o)]]


def editable_collections(session: Session, caller: Caller) -> list[Collection]:
    owners = [a.id for a in editable_namespaces(session, caller)]
    if not owners:
        return []
    statement = (
        select(Collection)
        .where(Collection.owner_id.in_(owners))
        .order_by(Collection.last_updated.desc(), Collection.id.desc())
    )
    return list(session.scalars(statement))


def load_collection(session: Session, caller: Caller, slug: str) -> CollectionView:
    collection = service.get_visible(session, caller, slug)
    shown = targets.visible(session, caller, service.items_of(session, collection))
    return CollectionView(collection, shown, access.may_edit(session, caller, collection.owner))


def parse_item(item: str) -> tuple[str, str]:
    """``model/alice/bert``, ``datasets/alice/data`` or ``collection/alice/x-<uid>`` as the
    (item type, id) that :func:`dockyard.collections.targets.resolve` takes."""
    kind, _, name = item.strip().strip("/").partition("/")
    kind = kind.lower()
    if kind in ("collection", "collections"):
        return targets.COLLECTION, name
    try:
        repo_type = RepoType(kind) if kind in {t.value for t in RepoType} else RepoType.from_plural(kind)
    except DockyardError:
        raise BadRequestError(f"Unknown item type {kind!r}") from None
    if not name:
        raise BadRequestError("The item must look like model/namespace/name")
    return repo_type.value, name


# -- the list ----------------------------------------------------------------------------------------
@router.get("/collections")
def collection_list(request: Request, p: int = 0, sort: str = "lastModified") -> Response:
    page = max(0, min(p, 10_000))
    query = CollectionQuery(sort=sort if sort in ("lastModified", "trending", "upvotes") else "lastModified")
    query = CollectionQuery(sort=query.sort, offset=page * PAGE_SIZE)
    with hub_of(request).db.read() as session:
        found = list_collections(session, viewer_of(request).caller, query, limit=PAGE_SIZE + 1)
    return render(
        request,
        "collections/list.html",
        owner=None,
        collections=found[:PAGE_SIZE],
        page=page,
        has_next=len(found) > PAGE_SIZE,
    )


# -- creating ----------------------------------------------------------------------------------------
def _new_form(request: Request, *, status: int = 200, error: str | None = None, **values: str) -> Response:
    viewer = viewer_of(request)
    with hub_of(request).db.read() as session:
        namespaces = [a.name for a in editable_namespaces(session, viewer.caller)]
    return render(request, "collections/new.html", status=status, namespaces=namespaces, error=error, values=values)


@router.get("/collections/new")
def new_collection_page(request: Request) -> Response:
    if not viewer_of(request).signed_in:
        return see_other(login_url("/collections/new"))
    return _new_form(request)


def _create(request: Request, namespace: str, title: str, description: str, private: bool) -> str:
    with hub_of(request).db.write() as session:
        created = service.create(
            session,
            viewer_of(request).caller,
            namespace=namespace,
            title=title,
            description=description,
            private=private,
        )
        return _url(created)


@router.post("/collections/new")
async def create_collection(request: Request, form: VerifiedForm) -> Response:
    values = {k: _field(form, k) for k in ("namespace", "title", "description")}
    try:
        target = await run_in_threadpool(
            _create, request, values["namespace"], values["title"], values["description"], bool(form.get("private"))
        )
    except (BadRequestError, ConflictError) as exc:
        return await run_in_threadpool(_new_form, request, status=exc.status, error=exc.message, **values)
    return see_other(target)


# -- adding an item from a repo page -----------------------------------------------------------------
def _add_form(request: Request, item: str, *, status: int = 200, error: str | None = None) -> Response:
    caller = viewer_of(request).caller
    item_type, item_id = parse_item(item)
    with hub_of(request).db.read() as session:
        target = targets.resolve(session, caller, item_type, item_id)
        choices = editable_collections(session, caller)
    return render(
        request, "collections/add.html", status=status, item=item, target=target, choices=choices, error=error
    )


@router.get("/collections/add")
def add_item_page(request: Request, item: str = "") -> Response:
    if not viewer_of(request).signed_in:
        return see_other(login_url(f"/collections/add?item={quote(item, safe='/')}"))
    return _add_form(request, item)


def _add(request: Request, item: str, choice: str, new_title: str, note: str) -> str:
    caller = viewer_of(request).caller
    item_type, item_id = parse_item(item)
    with hub_of(request).db.write() as session:
        target = targets.resolve(session, caller, item_type, item_id)
        if choice == NEW:
            assert caller.user is not None  # the route asks anonymous viewers to log in
            collection = service.create(
                session, caller, namespace=caller.user.name, title=new_title, description=None, private=False
            )
        else:
            collection = service.get_editable(session, caller, choice)
        service.add_item(session, caller, collection, target, note)
        return _url(collection)


@router.post("/collections/add")
async def add_item(request: Request, form: VerifiedForm) -> Response:
    item = _field(form, "item")
    args = (item, _field(form, "collection"), _field(form, "new_title"), _field(form, "note"))
    try:
        target = await run_in_threadpool(_add, request, *args)
    except (BadRequestError, ConflictError) as exc:
        return await run_in_threadpool(_add_form, request, item, status=exc.status, error=exc.message)
    return see_other(target)


# Registered after /collections/new and /collections/add, which it would otherwise swallow.
@router.get("/collections/{namespace}")
def namespace_collections(request: Request, namespace: str, p: int = 0) -> Response:
    """One user's or organisation's collections (those the viewer may see), as on the Hub."""
    page = max(0, min(p, 10_000))
    with hub_of(request).db.read() as session:
        owner = accounts.get_account(session, namespace)
        query = CollectionQuery(owners=(owner.name,), offset=page * PAGE_SIZE)
        found = list_collections(session, viewer_of(request).caller, query, limit=PAGE_SIZE + 1)
    return render(
        request,
        "collections/list.html",
        owner=owner,
        collections=found[:PAGE_SIZE],
        page=page,
        has_next=len(found) > PAGE_SIZE,
    )


# -- one collection ----------------------------------------------------------------------------------
@router.get("/collections/{namespace}/{slug}")
def collection_page(request: Request, namespace: str, slug: str) -> Response:
    with hub_of(request).db.read() as session:
        view = load_collection(session, viewer_of(request).caller, _slug(namespace, slug))
    if view.collection.slug != _slug(namespace, slug):  # renamed: send links to the current URL
        return see_other(_url(view.collection))
    return render(request, "collections/collection.html", view=view, themes=service.THEMES)


def _edit(request: Request, slug: str, form: FormData) -> str:
    caller = viewer_of(request).caller
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, slug)
        changes = service.Changes(
            title=_field(form, "title"),
            description=_field(form, "description"),
            private=bool(form.get("private")),
            theme=_field(form, "theme") or None,
        )
        service.update(session, caller, collection, changes)
        return _url(collection)


@router.post("/collections/{namespace}/{slug}/edit")
async def edit_collection(request: Request, namespace: str, slug: str, form: VerifiedForm) -> Response:
    return see_other(await run_in_threadpool(_edit, request, _slug(namespace, slug), form))


def _delete(request: Request, slug: str) -> str:
    caller = viewer_of(request).caller
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, slug)
        owner = collection.owner.name
        service.delete(session, caller, collection)
        return f"/{owner}"


@router.post("/collections/{namespace}/{slug}/delete")
async def delete_collection(request: Request, namespace: str, slug: str, form: VerifiedForm) -> Response:
    return see_other(await run_in_threadpool(_delete, request, _slug(namespace, slug)))


def _add_here(request: Request, slug: str, item: str, note: str) -> str:
    caller = viewer_of(request).caller
    item_type, item_id = parse_item(item)
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, slug)
        service.add_item(session, caller, collection, targets.resolve(session, caller, item_type, item_id), note)
        return _url(collection)


@router.post("/collections/{namespace}/{slug}/items")
async def add_item_here(request: Request, namespace: str, slug: str, form: VerifiedForm) -> Response:
    item = f"{_field(form, 'item_type')}/{_field(form, 'item_id').strip()}"
    args = (_slug(namespace, slug), item, _field(form, "note"))
    return see_other(await run_in_threadpool(_add_here, request, *args))


def _change_item(request: Request, slug: str, item_uid: str, action: str, form: FormData) -> str:
    caller = viewer_of(request).caller
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, slug)
        if action == "delete":
            service.delete_item(session, collection, item_uid)
        elif action == "note":
            service.update_item(session, collection, item_uid, note=_field(form, "note"), position=None)
        else:
            try:
                position = int(_field(form, "position"))
            except ValueError:
                raise BadRequestError("position must be a number") from None
            service.update_item(session, collection, item_uid, note=None, position=max(0, position))
        return _url(collection)


@router.post("/collections/{namespace}/{slug}/items/{item_uid}/{action}")
async def change_item(
    request: Request, namespace: str, slug: str, item_uid: str, action: str, form: VerifiedForm
) -> Response:
    if action not in ("delete", "note", "move"):
        raise BadRequestError(f"Unknown action {action!r}")
    slug_of = _slug(namespace, slug)
    return see_other(await run_in_threadpool(_change_item, request, slug_of, item_uid, action, form))
