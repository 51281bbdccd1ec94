"""A bucket's content over HTTP: Xet tokens scoped to the bucket, the NDJSON batch that writes its
files, and ``/buckets/{id}/resolve/{path}`` that reads them (Xet metadata for the Xet client, the
bytes themselves, with Range, for everyone else)."""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from dockyard.api.deps import base_url, caller_of, hub_of
from dockyard.api.files import content_response
from dockyard.api.resolve import ACTIVE_TYPES, ISOLATION_HEADERS
from dockyard.api.routing import unquote_param
from dockyard.api.xet import token_response
from dockyard.auth.access import Right
from dockyard.buckets import batch, listing, service
from dockyard.buckets.service import BucketId
from dockyard.errors import EntryNotFoundError
from dockyard.lfs.content import StoredContent
from dockyard.request_bodies import read_limited
from dockyard.xet import tokens

router = APIRouter()

#: 1,000 lines of a 1,000-character path, a hash, a source id and a media type fit with room to spare.
BATCH_BODY_LIMIT = 4 * 1024 * 1024


# -- Xet tokens ------------------------------------------------------------------------------------
@router.get("/api/buckets/{namespace}/{name}/xet-write-token")
def xet_write_token(request: Request, namespace: str, name: str) -> JSONResponse:
    """Uploads under this token join the bucket's side of the dedup boundary."""
    return _token(request, BucketId(namespace, name), Right.WRITE, tokens.WRITE)


@router.get("/api/buckets/{namespace}/{name}/xet-read-token")
def xet_read_token(request: Request, namespace: str, name: str) -> JSONResponse:
    return _token(request, BucketId(namespace, name), Right.DOWNLOAD, tokens.READ)


def _token(request: Request, bucket_id: BucketId, right: Right, scope: str) -> JSONResponse:
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        bucket = service.get_bucket(session, caller, bucket_id, right)
        internal_id = bucket.id
    return token_response(request, scope, bucket_id=internal_id)


# -- batch -----------------------------------------------------------------------------------------
@router.post("/api/buckets/{namespace}/{name}/batch")
async def batch_route(request: Request, namespace: str, name: str) -> JSONResponse:
    body = await read_limited(request, BATCH_BODY_LIMIT)
    operations = await run_in_threadpool(batch.parse_batch, body)
    return await run_in_threadpool(_batch, request, BucketId(namespace, name), operations)


def _batch(request: Request, bucket_id: BucketId, operations: list[batch.Operation]) -> JSONResponse:
    """200 with the failures listed (maybe none), 422 when every operation failed."""
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        bucket = service.get_bucket(session, caller, bucket_id, Right.WRITE)
        failures = batch.apply_batch(session, caller, bucket, operations)
    status = 422 if operations and len(failures) == len(operations) else 200
    return JSONResponse({"failed": [{"path": f.path, "error": f.error} for f in failures]}, status_code=status)


# -- resolve ---------------------------------------------------------------------------------------
@router.api_route("/buckets/{namespace}/{name}/resolve/{path:path}", methods=["GET", "HEAD"])
def resolve_route(request: Request, namespace: str, name: str, path: str) -> Response:
    """``X-Xet-Hash`` and the ``xet-auth`` link let the Xet client fetch the file itself; a plain
    GET streams the bytes, rebuilt from the xorbs (with a single Range)."""
    hub = hub_of(request)
    caller = caller_of(request)
    path = listing.check_path(unquote_param(path))
    with hub.db.read() as session:
        bucket = service.get_bucket(session, caller, BucketId(namespace, name), Right.DOWNLOAD)
        row = listing.exact_file(session, bucket, path)
        if row is None:
            raise EntryNotFoundError(f"Entry not found: {path} is not in bucket {bucket.full_id}")
        full_id, xet_hash, size, stored_type = bucket.full_id, row.xet_hash, row.size, row.content_type
    token_url = f"{base_url(request)}/api/buckets/{full_id}/xet-read-token"
    headers = {
        "ETag": f'"{xet_hash}"',
        "X-Xet-Hash": xet_hash,
        "Link": f'<{token_url}>; rel="xet-auth"',
        **_content_headers(path, stored_type),
    }
    if request.method == "HEAD":
        return Response(b"", headers={**headers, "Content-Length": str(size), "Accept-Ranges": "bytes"})
    stored = StoredContent(oid=xet_hash, size=size, blob_key=None, xet_hash=xet_hash)
    return content_response(hub, stored, headers, request.headers.get("range"))


def _content_headers(path: str, stored_type: str | None) -> dict[str, str]:
    """The stored Content-Type (else a guess from the name); bytes anyone uploaded are served from
    the hub's origin, so the isolation headers apply and active types are attachments."""
    name = path.rsplit("/", 1)[-1]
    media_type = stored_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = media_type.split(";", 1)[0].strip().lower() in ACTIVE_TYPES
    disposition = f"{'attachment' if attachment else 'inline'}; filename*=UTF-8''{quote(name)}"
    return {"Content-Type": media_type, "Content-Disposition": disposition, **ISOLATION_HEADERS}
