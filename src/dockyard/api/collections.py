"""Collections: ``/api/collections`` and ``/api/collections/{namespace}/{slug}[/items[/{item_id}]]``,
in the JSON shapes huggingface_hub's ``Collection`` and ``CollectionItem`` parse.

Bodies are small JSON objects read with a limit and parsed off the event loop; the work runs in
the threadpool. A slug's namespace and title parts are ignored: the trailing id finds it."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from dockyard.api.deps import caller_of, hub_of
from dockyard.api.errors import error_response
from dockyard.api.pagination import next_link
from dockyard.api.serialize import iso
from dockyard.auth.identity import Caller
from dockyard.collections import service, targets
from dockyard.collections.listing import CollectionQuery, list_collections
from dockyard.collections.models import Collection
from dockyard.collections.targets import Shown
from dockyard.errors import BadRequestError
from dockyard.request_bodies import json_body

router = APIRouter()

BODY_LIMIT = 64 * 1024
PAGE_SIZE = 20
LISTED_ITEMS = 4  # the Hub truncates each listed collection's items (get_collection has them all)


# -- rendering ---------------------------------------------------------------------------------------
def _item_json(shown: Shown) -> dict[str, Any]:
    item = shown.item
    data: dict[str, Any] = {"_id": item.uid, "type": item.item_type, "position": item.position}
    if shown.repo is not None:
        repo = shown.repo
        data |= {
            "id": repo.full_id,
            "author": repo.namespace,
            "private": repo.private,
            "gated": repo.gated or False,
            "likes": repo.likes,
            "downloads": repo.downloads,
            "lastModified": iso(repo.last_modified),
            "repoType": repo.type,
        }
    elif shown.collection is not None:
        data |= {"id": shown.collection.uid, "slug": shown.collection.slug, "title": shown.collection.title}
    if item.note:
        data["note"] = {"text": item.note, "html": html.escape(item.note)}
    return data


def collection_json(
    session: Session, caller: Caller, collection: Collection, *, items: int | None = None, listed: bool = False
) -> dict[str, Any]:
    """``listed``: the listing shape, without ``position`` (the client numbers listed collections
    itself and would get the keyword twice) and with at most ``items`` items."""
    shown = targets.visible(session, caller, service.items_of(session, collection))
    data: dict[str, Any] = {
        "slug": collection.slug,
        "title": collection.title,
        "description": collection.description,
        "owner": collection.owner.name,
        "items": [_item_json(s) for s in shown[:items]],
        "lastUpdated": iso(collection.last_updated),
        "private": collection.private,
        "theme": collection.theme,
        "upvotes": collection.upvotes,
        "isUpvotedByUser": False,
    }
    if not listed:
        data["position"] = collection.position
    return data


# -- body fields -------------------------------------------------------------------------------------
def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequestError("Body must be a JSON object")
    return body


def _str(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"'{key}' must be a string")
    return value


def _int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise BadRequestError(f"'{key}' must be a non-negative integer")
    return value


def _bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise BadRequestError(f"'{key}' must be a boolean")


# -- collections -------------------------------------------------------------------------------------
@router.get("/api/collections")
def list_route(request: Request) -> JSONResponse:
    params = request.query_params
    offset = _query_int(params.get("cursor"), "cursor") or 0
    limit = _query_int(params.get("limit"), "limit")
    query = CollectionQuery(
        owners=tuple(params.getlist("owner")),
        items=tuple(params.getlist("item")),
        sort=params.get("sort") or "lastModified",
        offset=offset,
    )
    page_size = min(limit or PAGE_SIZE, PAGE_SIZE)
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        found = list_collections(session, caller, query, limit=page_size + 1)
        page = [collection_json(session, caller, c, items=LISTED_ITEMS, listed=True) for c in found[:page_size]]
    headers = {}
    remaining = None if limit is None else limit - len(page)
    if len(found) > page_size and (remaining is None or remaining > 0):
        headers["Link"] = next_link(request, offset + len(page), remaining=remaining)
    return JSONResponse(page, headers=headers)


def _query_int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 9:
        raise BadRequestError(f"'{name}' must be a non-negative integer")
    return int(value)


@router.post("/api/collections")
async def create_route(request: Request) -> JSONResponse:
    body = _object(await json_body(request, BODY_LIMIT))
    return await run_in_threadpool(_create, request, body)


def _create(request: Request, body: dict[str, Any]) -> JSONResponse:
    caller = caller_of(request)
    title = _str(body, "title", required=True) or ""
    namespace = _str(body, "namespace") or (caller.user.name if caller.user is not None else "")
    description = _str(body, "description")
    private = bool(_bool(body, "private"))
    try:
        with hub_of(request).db.write() as session:
            collection = service.create(
                session, caller, namespace=namespace, title=title, description=description, private=private
            )
            data = collection_json(session, caller, collection)
    except service.CollectionExistsError as exc:
        return error_response(exc.status, exc.message, exc.code, extra={"slug": exc.slug})
    return JSONResponse(data)


@router.get("/api/collections/{namespace}/{slug}")
def get_route(request: Request, namespace: str, slug: str) -> JSONResponse:
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        collection = service.get_visible(session, caller, f"{namespace}/{slug}")
        return JSONResponse(collection_json(session, caller, collection))


@router.patch("/api/collections/{namespace}/{slug}")
async def update_route(request: Request, namespace: str, slug: str) -> JSONResponse:
    body = _object(await json_body(request, BODY_LIMIT))
    return await run_in_threadpool(_update, request, f"{namespace}/{slug}", body)


def _update(request: Request, slug: str, body: dict[str, Any]) -> JSONResponse:
    caller = caller_of(request)
    changes = service.Changes(
        title=_str(body, "title"),
        description=_str(body, "description"),
        position=_int(body, "position"),
        private=_bool(body, "private"),
        theme=_str(body, "theme"),
    )
    try:
        with hub_of(request).db.write() as session:
            collection = service.get_editable(session, caller, slug)
            service.update(session, caller, collection, changes)
            data = collection_json(session, caller, collection)
    except service.CollectionExistsError as exc:
        return error_response(exc.status, exc.message, exc.code, extra={"slug": exc.slug})
    return JSONResponse({"success": True, "data": data})


@router.delete("/api/collections/{namespace}/{slug}")
def delete_route(request: Request, namespace: str, slug: str) -> JSONResponse:
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, f"{namespace}/{slug}")
        service.delete(session, caller, collection)
    return JSONResponse({"success": True})


# -- items -------------------------------------------------------------------------------------------
@router.post("/api/collections/{namespace}/{slug}/items")
async def add_item_route(request: Request, namespace: str, slug: str) -> JSONResponse:
    body = _object(await json_body(request, BODY_LIMIT))
    return await run_in_threadpool(_add_item, request, f"{namespace}/{slug}", body)


def _add_item(request: Request, slug: str, body: dict[str, Any]) -> JSONResponse:
    caller = caller_of(request)
    item = _object(body.get("item"))
    item_id = _str(item, "id", required=True) or ""
    item_type = _str(item, "type", required=True) or ""
    note = _str(body, "note")
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, slug)
        target = targets.resolve(session, caller, item_type, item_id)
        service.add_item(session, caller, collection, target, note)
        return JSONResponse(collection_json(session, caller, collection))


@router.patch("/api/collections/{namespace}/{slug}/items/{item_id}")
async def update_item_route(request: Request, namespace: str, slug: str, item_id: str) -> JSONResponse:
    body = _object(await json_body(request, BODY_LIMIT))
    return await run_in_threadpool(_update_item, request, f"{namespace}/{slug}", item_id, body)


def _update_item(request: Request, slug: str, item_id: str, body: dict[str, Any]) -> JSONResponse:
    caller = caller_of(request)
    note, position = _str(body, "note"), _int(body, "position")
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, slug)
        service.update_item(session, collection, item_id, note=note, position=position)
    return JSONResponse({"success": True})


@router.delete("/api/collections/{namespace}/{slug}/items/{item_id}")
def delete_item_route(request: Request, namespace: str, slug: str, item_id: str) -> JSONResponse:
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        collection = service.get_editable(session, caller, f"{namespace}/{slug}")
        service.delete_item(session, collection, item_id)
    return JSONResponse({"success": True})
