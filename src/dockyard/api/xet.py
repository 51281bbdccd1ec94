"""Xet: the Hub's token endpoints and the CAS API the hf_xet client talks to.

The CAS routes live under ``settings.xet_cas_path`` (default ``/-/cas``) of the same process; the
token endpoint hands out the CAS URL, so the CAS can move to its own processes or host later.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from dockyard.accounts.tokens import FINE_GRAINED
from dockyard.api.commit import authorize_commit
from dockyard.api.deps import RepoToDownload, base_url, caller_of, hub_of
from dockyard.api.files import blob_response
from dockyard.api.routing import parse_bool, unquote_param
from dockyard.auth import access
from dockyard.auth.access import Right
from dockyard.errors import (
    BadRequestError,
    BlobMissingError,
    DockyardError,
    NotFoundError,
    RangeNotSatisfiableError,
)
from dockyard.hub import Hub
from dockyard.quotas import service as quotas
from dockyard.repos.models import Repo
from dockyard.request_bodies import read_limited
from dockyard.xet import cas, tokens
from dockyard.xet.errors import RangeNotSatisfiableError as XetRangeError
from dockyard.xet.errors import XetError
from dockyard.xet.hashes import parse_hash_hex
from dockyard.xet.reader import xorb_key
from dockyard.xet.reconstruction import reconstruction_v1, reconstruction_v2
from dockyard.xet.xorb import MAX_XORB_UPLOAD

router = APIRouter()
CAS = "/-/cas"


def cas_url(request: Request) -> str:
    configured = hub_of(request).settings.xet_cas_url
    return configured.rstrip("/") if configured else f"{base_url(request)}{CAS}"


def token_response(
    request: Request, scope: str, *, repo_id: int | None = None, bucket_id: int | None = None
) -> JSONResponse:
    """The token JSON (and headers) the client reads, for a repo or a bucket (``api/bucket_files.py``)."""
    hub = hub_of(request)
    caller = caller_of(request)
    user_id = caller.user.id if caller.user else None
    narrow = caller.role == FINE_GRAINED  # may read less than its user: the CAS applies its scopes
    token = tokens.issue(
        hub.signer,
        repo_id=repo_id,
        bucket_id=bucket_id,
        scope=scope,
        user_id=user_id,
        narrow=narrow,
        scopes=caller.scopes,
    )
    expires = int(time.time()) + tokens.TOKEN_TTL
    url = cas_url(request)
    headers = {"X-Xet-Cas-Url": url, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(expires)}
    return JSONResponse({"accessToken": token, "exp": expires, "casUrl": url}, headers=headers)


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/xet-read-token/{revision:path}")
def xet_read_token(request: Request, repo: RepoToDownload, revision: str) -> JSONResponse:
    hub_of(request).git.open(repo.uid).resolve(unquote_param(revision))
    return token_response(request, tokens.READ, repo_id=repo.id)


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/xet-write-token/{revision:path}")
def xet_write_token(request: Request, repo_type: str, repo_id: str, revision: str) -> JSONResponse:
    """``revision`` is the literal ``None`` when the client is about to open a pull request.

    A CAS token can rebuild any file the repo holds, so it also needs the download right: a
    caller who may open a pull request on a gated repo must not read its files through the CAS."""
    hub = hub_of(request)
    caller = caller_of(request)
    create_pr = parse_bool(request.query_params.get("create_pr", "false"), "create_pr")
    revision = unquote_param(revision)
    target = "main" if revision == "None" else revision
    repo = authorize_commit(hub, caller, repo_type, repo_id, target, create_pr or revision == "None")
    with hub.db.read() as session:
        access.ensure(session, caller, session.get_one(Repo, repo.id), Right.DOWNLOAD)
    return token_response(request, tokens.WRITE, repo_id=repo.id)


# -- CAS ------------------------------------------------------------------------------------
@router.post(CAS + "/v1/xorbs/{prefix}/{hash_text}")
async def upload_xorb(request: Request, prefix: str, hash_text: str) -> dict[str, Any]:
    hub = hub_of(request)
    grant = tokens.check(hub.signer, request.headers.get("authorization"), write=True)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():  # refused before a byte of the body is read
        await run_in_threadpool(_ensure_quota_room, hub, grant, int(declared))
    body = await read_limited(request, MAX_XORB_UPLOAD)
    if declared is None or not declared.isdigit():
        await run_in_threadpool(_ensure_quota_room, hub, grant, len(body))
    inserted = await run_in_threadpool(cas.store_xorb, hub, grant, hash_text, body)
    return {"was_inserted": inserted}


def _ensure_quota_room(hub: Hub, grant: tokens.CasGrant, size: int) -> None:
    """The namespace the grant writes to must have room for the xorb (its quota, if any)."""
    with hub.db.read() as session:
        account_id = quotas.namespace_of_grant(session, grant)
        if account_id is not None:
            quotas.ensure_room(session, account_id, size)


@router.post(CAS + "/v1/xorb-grants/{prefix}/{hash_text}")
async def xorb_grant(request: Request, prefix: str, hash_text: str) -> Response:
    """Direct-to-storage xorb uploads are not offered; the client falls back to POST /v1/xorbs."""
    raise NotFoundError("Direct xorb upload grants are not supported")


@router.post(CAS + "/v2/shards")
async def upload_shard_v2(request: Request) -> StreamingResponse:
    hub = hub_of(request)
    grant = tokens.check(hub.signer, request.headers.get("authorization"), write=True)
    body = await read_limited(request, cas.MAX_SHARD_BYTES)
    checked = await run_in_threadpool(cas.check_shard, hub, grant, body)  # malformed shards: a plain 400
    return StreamingResponse(_shard_progress(hub, grant, checked), media_type="application/x-ndjson")


async def _shard_progress(hub: Hub, grant: tokens.CasGrant, checked: cas.CheckedShard) -> AsyncIterator[bytes]:
    """NDJSON progress; a later error becomes a terminal ``{"type": "error"}`` line (headers are sent)."""
    try:
        async for progress in iterate_in_threadpool(cas.register_shard(hub, grant, checked)):
            line = {"type": "validating", "verified": progress.verified, "total": progress.total}
            yield json.dumps(line).encode() + b"\n"
        yield json.dumps({"type": "committing", "stage": "syncing"}).encode() + b"\n"
        yield json.dumps({"type": "result", "result": 1}).encode() + b"\n"
    except DockyardError as error:
        retryable = error.status >= 500
        yield json.dumps({"type": "error", "message": error.message, "retryable": retryable}).encode() + b"\n"


@router.post(CAS + "/v1/shards")
async def upload_shard_v1(request: Request) -> dict[str, Any]:
    hub = hub_of(request)
    grant = tokens.check(hub.signer, request.headers.get("authorization"), write=True)
    body = await read_limited(request, cas.MAX_SHARD_BYTES)
    checked = await run_in_threadpool(cas.check_shard, hub, grant, body)
    await run_in_threadpool(lambda: list(cas.register_shard(hub, grant, checked)))
    return {"result": 1}


@router.get(CAS + "/v1/chunks/{prefix}/{chunk}")
def dedup_query(request: Request, prefix: str, chunk: str) -> Response:
    hub = hub_of(request)
    grant = tokens.check(hub.signer, request.headers.get("authorization"))
    try:
        shard = cas.dedup_shard(hub, grant, chunk)
    except XetError as error:
        raise BadRequestError(str(error)) from None
    if shard is None:
        raise NotFoundError("No stored chunk matches")
    return Response(shard, media_type="application/octet-stream")


def _reconstruction(request: Request, file_hash: str, version: int) -> dict[str, object]:
    hub = hub_of(request)
    grant = tokens.check(hub.signer, request.headers.get("authorization"))
    try:
        file_hex = parse_hash_hex(file_hash).hex()
    except XetError as error:
        raise BadRequestError(str(error)) from None
    with hub.db.read() as session:
        if not cas.readable_by_grant(session, grant, file_hex):
            raise NotFoundError("File not found")
        _, terms = cas.file_terms(session, file_hex)
        file_terms, layouts = cas.reconstruction_inputs(session, terms)
    base = cas_url(request)

    def url_for(xorb: Any) -> str:
        return f"{base}/xorb/{hub.signer.sign(tokens.XORB_URL_PURPOSE, {'x': xorb.hex()}, ttl=tokens.TOKEN_TTL)}"

    build = reconstruction_v2 if version == 2 else reconstruction_v1
    try:
        return build(file_terms, layouts, url_for, request.headers.get("range"))
    except XetRangeError as error:
        raise RangeNotSatisfiableError(str(error)) from None


@router.get(CAS + "/v2/reconstructions/{file_hash}")
def reconstruction_v2_route(request: Request, file_hash: str) -> dict[str, object]:
    return _reconstruction(request, file_hash, 2)


@router.get(CAS + "/v1/reconstructions/{file_hash}")
def reconstruction_v1_route(request: Request, file_hash: str) -> dict[str, object]:
    return _reconstruction(request, file_hash, 1)


@router.get(CAS + "/xorb/{token}")
def fetch_xorb(request: Request, token: str) -> Response:
    """The signed URL a reconstruction hands out: no other credentials are sent to it."""
    hub = hub_of(request)
    claims = hub.signer.verify(tokens.XORB_URL_PURPOSE, token)
    key = xorb_key(str(claims["x"]))
    presigned = hub.blobs.presigned_get_url(key, filename=None, expires_in=600)
    size = hub.blobs.stat(key) if presigned is None else None
    if presigned is not None:
        return Response(status_code=302, headers={"Location": presigned})
    if size is None:  # the URL was signed for a xorb a file's rows name: its bytes must exist
        raise BlobMissingError(f"xorb {claims['x']} is missing from storage")
    return blob_response(
        hub.blobs, key, size, {}, request.headers.get("range"), chunk_size=hub.settings.file_chunk_size
    )


@router.post("/v1/telemetry")
@router.post(CAS + "/v1/telemetry")
async def telemetry(request: Request) -> Response:
    """hf_xet reports transfer summaries to the CAS origin; accepted and ignored (anyone may send
    them, so the body is small)."""
    await read_limited(request, hub_of(request).settings.max_anonymous_body)
    return Response(status_code=200)
