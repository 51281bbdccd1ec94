"""git-lfs batch API and the signed upload/part/complete/verify/download URLs it hands out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from dockyard.api.deps import base_url, caller_of, hub_of
from dockyard.api.files import content_response
from dockyard.api.routing import repo_ref
from dockyard.auth import access
from dockyard.auth.access import Right
from dockyard.auth.identity import Caller
from dockyard.errors import (
    BadRequestError,
    DockyardError,
    NotFoundError,
    QuotaExceededError,
    UnauthorizedError,
    header_safe,
)
from dockyard.faults import LFS_STAGED, crash_point
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.lfs import batch, content
from dockyard.lfs import service as lfs
from dockyard.quotas import service as quotas
from dockyard.repos.models import Repo
from dockyard.repos.service import find_repo
from dockyard.request_bodies import json_body, limited_stream, read_limited
from dockyard.storage.pipelined import exactly

router = APIRouter()
LFS_JSON = "application/vnd.git-lfs+json"


def lfs_error(status: int, message: str, *, challenge: bool = False) -> JSONResponse:
    headers = {"X-Error-Message": header_safe(message, 500)}
    if challenge:
        headers["WWW-Authenticate"] = 'Basic realm="Dockyard", charset="UTF-8"'
    return JSONResponse({"message": message}, status_code=status, headers=headers, media_type=LFS_JSON)


def _batch(request: Request, repo_type: RepoType, repo_id: str, body: dict[str, Any]) -> JSONResponse:
    hub = hub_of(request)
    try:
        caller = caller_of(request)
    except UnauthorizedError:
        return lfs_error(401, "Invalid credentials", challenge=True)
    operation = body.get("operation")
    if operation not in ("upload", "download"):
        raise BadRequestError("operation must be 'upload' or 'download'")
    objects = batch.parse_objects(body.get("objects"))
    transfers = body.get("transfers") or ["basic"]
    right = Right.WRITE if operation == "upload" else Right.DOWNLOAD
    with hub.db.write() if operation == "upload" else hub.db.read() as session:
        repo = find_repo(session, repo_ref(repo_type, repo_id))
        if repo is None or not access.may(session, caller, repo, right):
            return _refusal(session, caller, repo)
        base = base_url(request)
        if operation == "upload":
            refused = _over_quota(session, repo, objects)
            if refused is not None:
                return refused
            plan = batch.plan_upload(hub, session, caller, repo, objects, list(transfers), base)
        else:
            plan = batch.plan_download(hub, session, caller, repo, objects, base)
    return JSONResponse(plan, media_type=LFS_JSON)


def _over_quota(session: Session, repo: Repo, objects: list[batch.BatchObject]) -> JSONResponse | None:
    """A batch that would take the namespace past its storage quota is refused whole, before any
    upload URL is handed out (so before any byte is sent)."""
    extra = quotas.new_lfs_bytes(session, repo.owner_id, ((obj.oid, obj.size) for obj in objects))
    try:
        quotas.ensure_room(session, repo.owner_id, extra)
    except QuotaExceededError as exc:
        response = lfs_error(exc.status, exc.message)
        response.headers["X-Error-Code"] = str(exc.code)
        return response
    return None


def _refusal(session: Session, caller: Caller, repo: Repo | None) -> JSONResponse:
    if caller.is_anonymous:
        return lfs_error(401, "Authentication required: use a Dockyard token as the password", challenge=True)
    if repo is None or not access.may(session, caller, repo, Right.SEE):
        return lfs_error(404, "Repository not found")
    if access.may(session, caller, repo, Right.DOWNLOAD):
        return lfs_error(403, "You don't have write access to this repository (or your token is read-only)")
    return lfs_error(403, f"{repo.full_id} is gated: ask for access first (with a token that covers it)")


async def _batch_route(request: Request, repo_type: RepoType, repo_id: str) -> Response:
    body = await json_body(request, 4 * 1024 * 1024)
    if not isinstance(body, dict):
        raise BadRequestError("Batch request must be a JSON object")
    return await run_in_threadpool(_batch, request, repo_type, repo_id, body)


for _type in RepoType.routing_order():
    _prefix = _type.route_prefix

    def _make(kind: RepoType):  # type: ignore[no-untyped-def]
        async def route(request: Request, repo_id: str) -> Response:
            return await _batch_route(request, kind, repo_id)

        return route

    for _suffix in (".git/info/lfs/objects/batch", "/info/lfs/objects/batch"):
        router.add_api_route(
            f"{_prefix}/{{repo_id:repo}}{_suffix}", _make(_type), methods=["POST"], include_in_schema=False
        )

    def _make_locks(kind: RepoType):  # type: ignore[no-untyped-def]
        async def locks(request: Request, repo_id: str) -> Response:
            return lfs_error(404, "File locking is not supported")

        return locks

    router.add_api_route(
        f"{_prefix}/{{repo_id:repo}}.git/info/lfs/locks/verify",
        _make_locks(_type),
        methods=["POST"],
        include_in_schema=False,
    )


def _claims(request: Request, token: str) -> dict[str, Any]:
    return hub_of(request).signer.verify(batch.UPLOAD_PURPOSE, token)


def _checked_length(request: Request, expected: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != expected:
        raise BadRequestError(f"Content-Length {declared} does not match the announced size {expected}")


@router.put("/-/lfs/upload/{token}")
async def upload(request: Request, token: str) -> Response:
    hub = hub_of(request)
    claims = _claims(request, token)
    _checked_length(request, claims["size"])
    staged = await hub.blobs.stage_stream(exactly(limited_stream(request, claims["size"]), claims["size"]))
    crash_point(hub.settings, LFS_STAGED)
    await run_in_threadpool(_publish, request, claims, staged)
    return Response(status_code=200)


def _publish(request: Request, claims: dict[str, Any], staged: Any) -> None:
    lfs.accept_upload(hub_of(request), staged, claims["repo"], claims["oid"], claims["size"])


@router.put("/-/lfs/part/{token}/{number}")
async def upload_part(request: Request, token: str, number: int) -> Response:
    hub = hub_of(request)
    claims = _claims(request, token)
    chunk, size = claims["chunk"], claims["size"]
    parts = max(1, -(-size // chunk))
    if not 1 <= number <= parts:
        raise BadRequestError(f"Part number must be between 1 and {parts}")
    expected = chunk if number < parts else size - chunk * (parts - 1)
    _checked_length(request, expected)
    body = limited_stream(request, expected)  # a part is exactly its announced length, chunked or not
    etag = await hub.blobs.write_part_stream(claims["upload"], number, (number - 1) * chunk, body, size=expected)
    return Response(status_code=200, headers={"ETag": etag})


@router.post("/-/lfs/complete/{token}")
async def complete_multipart(request: Request, token: str) -> Response:
    claims = _claims(request, token)
    await read_limited(request, hub_of(request).settings.max_request_body)  # the part list: parts are on disk
    await run_in_threadpool(_complete, request, claims)
    return Response(status_code=200)


def _complete(request: Request, claims: dict[str, Any]) -> None:
    hub = hub_of(request)
    try:
        staged = hub.blobs.assemble_parts(claims["upload"], claims["size"])
    except DockyardError:
        hub.blobs.abort_parts(claims["upload"])
        raise
    _publish(request, claims, staged)


@router.post("/-/lfs/verify/{token}")
def verify(request: Request, token: str) -> Response:
    """Succeeds only if this repo holds the object: its bytes were uploaded for it (and verified),
    or the batch answer linked content the caller may download. An oid stored for some other repo
    is "not uploaded" here, exactly as an unknown one."""
    hub = hub_of(request)
    claims = _claims(request, token)
    if claims.get("staged"):  # uploaded straight to object storage: check the bytes now
        _publish_direct(hub, claims)
    with hub.db.read() as session:
        if not _holds(hub, session, claims):
            raise NotFoundError(f"Object {claims['oid']} was not uploaded (or has the wrong size)")
    return Response(status_code=200)


def _holds(hub: Hub, session: Session, claims: dict[str, Any]) -> bool:
    repo = session.get(Repo, claims["repo"])
    return (
        repo is not None
        and lfs.is_linked(session, repo, claims["oid"])
        and lfs.stored_size(hub, session, claims["oid"]) == claims["size"]
    )


def _publish_direct(hub: Hub, claims: dict[str, Any]) -> None:
    with hub.db.read() as session:
        if _holds(hub, session, claims):
            return  # already verified for this repo (a repeated verify call)
    staged = hub.blobs.measure_staged(str(claims["staged"]))
    if staged is None:
        raise NotFoundError(f"Object {claims['oid']} was not uploaded")
    crash_point(hub.settings, LFS_STAGED)
    lfs.accept_upload(hub, staged, claims["repo"], claims["oid"], claims["size"])


@router.post("/-/lfs/complete-direct/{token}")
async def complete_direct_multipart(request: Request, token: str) -> Response:
    """Completion of a multipart upload the client sent straight to object storage."""
    claims = _claims(request, token)
    body = await json_body(request, hub_of(request).settings.max_request_body)
    try:
        parts = [(int(p["partNumber"]), str(p["etag"])) for p in body["parts"]]
    except (ValueError, KeyError, TypeError):
        raise BadRequestError("Expected {'oid': ..., 'parts': [{'partNumber': n, 'etag': ...}]}") from None
    hub = hub_of(request)
    key = f".staging/{claims['staged']}"
    await run_in_threadpool(hub.blobs.complete_multipart, key, str(claims["s3upload"]), parts)
    await run_in_threadpool(_publish_direct, hub, claims)
    return Response(status_code=200)


@router.get("/-/lfs/objects/{token}")
def download(request: Request, token: str) -> Response:
    hub = hub_of(request)
    claims = hub.signer.verify(batch.DOWNLOAD_PURPOSE, token)
    with hub.db.read() as session:
        stored = content.locate(hub, session, claims["oid"])
    if stored is None:
        raise NotFoundError("Object not found")
    return content_response(hub, stored, {}, request.headers.get("range"))
