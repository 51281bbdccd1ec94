"""The bucket management API: create, info, list, delete, settings, tree and paths-info, in the
shapes ``huggingface_hub``'s ``_buckets.py`` parses. Moving a bucket is ``POST /api/repos/move``
with ``"type": "bucket"`` (``api/repos.py`` hands it to :func:`move`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from dockyard.accounts import service as accounts
from dockyard.api.deps import base_url, caller_of, hub_of
from dockyard.api.errors import error_response
from dockyard.api.pagination import next_link
from dockyard.api.routing import parse_bool, unquote_param
from dockyard.api.serialize import iso
from dockyard.auth.access import Right
from dockyard.buckets import listing, service
from dockyard.buckets.models import Bucket, BucketFile
from dockyard.buckets.service import BucketId
from dockyard.errors import BadRequestError, RepoExistsError
from dockyard.request_bodies import parse_json, read_limited

router = APIRouter()

BODY_LIMIT = 64 * 1024
PATHS_BODY_LIMIT = 1024 * 1024  # 1,000 paths of up to 1,000 characters
MAX_PATHS = 1000
TREE_PAGE = 1000
LIST_PAGE = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- rendering ---------------------------------------------------------------------------------------
def bucket_url(request: Request, full_id: str) -> str:
    return f"{base_url(request)}/buckets/{full_id}"


def _info_json(bucket: Bucket) -> dict[str, Any]:
    return {
        "id": bucket.full_id,
        "private": bucket.private,
        "createdAt": iso(bucket.created_at),
        "updatedAt": iso(bucket.updated_at),
        "size": bucket.size,
        "totalFiles": bucket.total_files,
    }


def _mtime(ms: int | None) -> str | None:
    """The client's millisecond value as an ISO date with milliseconds: it parses back exactly."""
    return None if ms is None else iso(_EPOCH + timedelta(milliseconds=ms))


def _entry_json(entry: listing.Entry) -> dict[str, Any]:
    if isinstance(entry, listing.Folder):
        return {"type": "directory", "path": entry.path, "uploadedAt": iso(entry.uploaded_at)}
    return _file_json(entry)


def _file_json(row: BucketFile | listing.FileEntry) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "file",
        "path": row.path,
        "size": row.size,
        "xetHash": row.xet_hash,
        "mtime": _mtime(row.mtime),
        "uploadedAt": iso(row.uploaded_at),
    }
    if row.content_type:
        data["contentType"] = row.content_type
    return data


# -- parsing -----------------------------------------------------------------------------------------
async def _object_body(request: Request, limit: int) -> dict[str, Any]:
    """A JSON object, parsed off the event loop; an empty body is an empty object (nothing said)."""
    raw = await read_limited(request, limit)
    if not raw.strip():
        return {}
    body = await run_in_threadpool(parse_json, raw)
    if not isinstance(body, dict):
        raise BadRequestError("Body must be a JSON object")
    return body


def _visibility(body: dict[str, Any]) -> bool | None:
    """None when the body says nothing: the namespace's default applies."""
    visibility, private = body.get("visibility"), body.get("private")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise BadRequestError("visibility must be 'public' or 'private'")
        return bool(visibility == "private")
    if private is None or isinstance(private, bool):
        return private
    raise BadRequestError("private must be a boolean")


def _limit(request: Request, default: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= default:
        raise BadRequestError(f"limit must be between 1 and {default}")
    return int(raw)


# -- lifecycle ---------------------------------------------------------------------------------------
@router.post("/api/buckets/{namespace}/{name}")
async def create_route(request: Request, namespace: str, name: str) -> JSONResponse:
    body = await _object_body(request, BODY_LIMIT)
    return await run_in_threadpool(_create, request, namespace, name, _visibility(body))


def _create(request: Request, namespace: str, name: str, private: bool | None) -> JSONResponse:
    caller = caller_of(request)
    bucket_id = BucketId(service.resolve_namespace(caller, namespace), name)
    try:
        with hub_of(request).db.write() as session:
            full_id = service.create_bucket(session, caller, bucket_id, private=private).full_id
    except RepoExistsError as exc:
        return error_response(exc.status, exc.message, exc.code, extra={"url": bucket_url(request, str(bucket_id))})
    return JSONResponse({"url": bucket_url(request, full_id)})


@router.get("/api/buckets/{namespace}/{name}")
def info_route(request: Request, namespace: str, name: str) -> dict[str, Any]:
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        return _info_json(service.get_bucket(session, caller, BucketId(namespace, name), Right.SEE))


@router.get("/api/buckets/{namespace}")
def list_route(request: Request, namespace: str, search: str | None = None, cursor: str | None = None) -> JSONResponse:
    caller = caller_of(request)
    limit = _limit(request, LIST_PAGE)
    with hub_of(request).db.read() as session:
        owner = accounts.get_account(session, service.resolve_namespace(caller, namespace))
        after = listing.check_path(cursor) if cursor is not None else None
        rows = service.list_buckets(session, caller, owner, search=search, after=after, limit=limit + 1)
        items = [_info_json(bucket) for bucket in rows[:limit]]
    headers = {"Link": next_link(request, rows[limit - 1].full_id_lower)} if len(rows) > limit else {}
    return JSONResponse(items, headers=headers)


@router.delete("/api/buckets/{namespace}/{name}")
def delete_route(request: Request, namespace: str, name: str) -> dict[str, Any]:
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        bucket = service.get_bucket(session, caller, BucketId(namespace, name), Right.ADMIN)
        service.delete_bucket(session, caller, bucket)
    return {}


@router.put("/api/buckets/{namespace}/{name}/settings")
async def settings_route(request: Request, namespace: str, name: str) -> dict[str, Any]:
    body = await _object_body(request, BODY_LIMIT)
    private = _visibility(body)
    return await run_in_threadpool(_settings, request, BucketId(namespace, name), private)


def _settings(request: Request, bucket_id: BucketId, private: bool | None) -> dict[str, Any]:
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        bucket = service.get_bucket(session, caller, bucket_id, Right.ADMIN)
        if private is not None:
            service.set_private(session, caller, bucket, private)
    return {}


def move(request: Request, from_id: str, to_id: str) -> None:
    """``POST /api/repos/move`` for ``"type": "bucket"``: admin on the bucket, create rights in
    the target namespace."""
    source, target = _bucket_id(from_id, "fromRepo"), _bucket_id(to_id, "toRepo")
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        bucket = service.get_bucket(session, caller, source, Right.ADMIN)
        service.move_bucket(session, caller, bucket, target)


def _bucket_id(text: str, field: str) -> BucketId:
    parts = text.split("/")
    if len(parts) != 2 or not all(parts):
        raise BadRequestError(f"{field} must be 'namespace/name'")
    return BucketId(parts[0], parts[1])


# -- content -----------------------------------------------------------------------------------------
@router.get("/api/buckets/{namespace}/{name}/tree")
def tree_route(request: Request, namespace: str, name: str) -> JSONResponse:
    return _tree(request, BucketId(namespace, name), "")


@router.get("/api/buckets/{namespace}/{name}/tree/{prefix:path}")
def tree_prefix_route(request: Request, namespace: str, name: str, prefix: str) -> JSONResponse:
    return _tree(request, BucketId(namespace, name), listing.check_path(unquote_param(prefix)))


def _tree(request: Request, bucket_id: BucketId, prefix: str) -> JSONResponse:
    """Recursive unless ``recursive=false``; a prefix that names a file answers with that file."""
    caller = caller_of(request)
    recursive = parse_bool(request.query_params.get("recursive", "true"), "recursive")
    cursor = request.query_params.get("cursor")
    start = listing.decode_cursor(cursor) if cursor else None
    limit = _limit(request, TREE_PAGE)
    with hub_of(request).db.read() as session:
        bucket = service.get_bucket(session, caller, bucket_id, Right.DOWNLOAD)
        exact = listing.exact_file(session, bucket, prefix) if prefix and start is None else None
        if exact is not None:
            return JSONResponse([_file_json(exact)])
        page_of = listing.recursive_page if recursive else listing.children_page
        page = page_of(session, bucket, prefix, start, limit)
        items = [_entry_json(entry) for entry in page.entries]
    headers = {"Link": next_link(request, listing.encode_cursor(page.next))} if page.next else {}
    return JSONResponse(items, headers=headers)


@router.post("/api/buckets/{namespace}/{name}/paths-info")
async def paths_info_route(request: Request, namespace: str, name: str) -> JSONResponse:
    body = await _object_body(request, PATHS_BODY_LIMIT)
    paths = body.get("paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequestError("paths must be a list of strings")
    if len(paths) > MAX_PATHS:
        raise BadRequestError(f"At most {MAX_PATHS} paths per request")
    for path in paths:
        listing.check_path(path)
    return await run_in_threadpool(_paths_info, request, BucketId(namespace, name), paths)


def _paths_info(request: Request, bucket_id: BucketId, paths: list[str]) -> JSONResponse:
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        bucket = service.get_bucket(session, caller, bucket_id, Right.DOWNLOAD)
        return JSONResponse([_file_json(row) for row in service.paths_info(session, bucket, paths)])
