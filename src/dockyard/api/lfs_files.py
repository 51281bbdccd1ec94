"""A repo's large files as objects: list them, delete them for good, copy them to another repo.

``list_lfs_files`` pages with a ``Link`` header (keyset on newest first), ``lfs-files/batch``
deletes (admin right: it rewrites history), and ``lfs-files/duplicate`` links objects of a repo
the caller may download into one it may write, so a commit there can name them by oid alone.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import pygit2
from fastapi import APIRouter, Request
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from dockyard.api.deps import RepoToAdmin, RepoToDownload, RepoToWrite, caller_of, hub_of
from dockyard.api.pagination import next_link
from dockyard.api.serialize import iso
from dockyard.auth import access
from dockyard.auth.access import Right
from dockyard.auth.identity import Caller
from dockyard.auth.permissions import not_found
from dockyard.errors import BadRequestError
from dockyard.identifiers import RepoId, RepoType
from dockyard.lfs import service as lfs
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.lfs.pointer import LfsPointer, is_sha256
from dockyard.lfs.purge import purge_lfs_files
from dockyard.repos.models import Repo
from dockyard.repos.service import RepoRef, find_repo
from dockyard.request_bodies import json_body

router = APIRouter()
PAGE_SIZE = 1000
MAX_DELETIONS = 1000  # the client sends batches of 1,000
MAX_DUPLICATES = 500
BODY_LIMIT = 1024 * 1024


# -- listing -------------------------------------------------------------------------------------
@router.get("/api/{repo_type:rtype}/{repo_id:repo}/lfs-files")
def list_lfs_files(request: Request, repo: RepoToWrite) -> JSONResponse:
    """Large files a repo holds (every version still linked), newest first, a page at a time."""
    limit = _page_size(request)
    after = _decode_cursor(request.query_params.get("cursor"))
    query = (
        select(RepoLfsObject, LfsObject.size)
        .join(LfsObject, LfsObject.oid == RepoLfsObject.oid)
        .where(RepoLfsObject.repo_id == repo.id)
        .order_by(RepoLfsObject.pushed_at.desc(), RepoLfsObject.oid.desc())
        .limit(limit + 1)
    )
    if after is not None:
        pushed, oid = after
        older = RepoLfsObject.pushed_at < pushed
        query = query.where(or_(older, and_(RepoLfsObject.pushed_at == pushed, RepoLfsObject.oid < oid)))
    with hub_of(request).db.read() as session:
        rows = session.execute(query).all()
    headers = {}
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        headers["Link"] = next_link(request, _encode_cursor(last.pushed_at, last.oid))
    return JSONResponse([_render(link, size) for link, size in rows], headers=headers)


def _render(link: RepoLfsObject, size: int) -> dict[str, Any]:
    return {
        "fileOid": link.oid,
        "oid": link.file_oid or _pointer_blob_id(link.oid, size),
        "filename": link.filename or "",
        "pushedAt": iso(link.pushed_at),
        "ref": link.ref,
        "size": size,
    }


def _pointer_blob_id(oid: str, size: int) -> str:
    """The git blob id (SHA-1) of the canonical pointer file, which is what commits store."""
    return str(pygit2.hash(LfsPointer(oid=oid, size=size).encode()))


def _page_size(request: Request) -> int:
    raw = request.query_params.get("limit", str(PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_SIZE:
        raise BadRequestError(f"limit must be an integer between 1 and {PAGE_SIZE}")
    return int(raw)


def _encode_cursor(pushed_at: datetime, oid: str) -> str:
    return base64.urlsafe_b64encode(f"{pushed_at.isoformat()}|{oid}".encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The position after which the next page starts; opaque to clients, checked like any input."""
    if cursor is None:
        return None
    try:
        pushed, oid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(pushed)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequestError("Invalid cursor") from None
    if moment.tzinfo is None or not is_sha256(oid):
        raise BadRequestError("Invalid cursor")
    return moment, oid


# -- permanent deletion ------------------------------------------------------------------------
@router.post("/api/{repo_type:rtype}/{repo_id:repo}/lfs-files/batch")
async def delete_lfs_files(request: Request, repo: RepoToAdmin) -> Response:
    """``{"deletions": {"sha": [...], "rewriteHistory": true}}``: the objects leave every ref's
    history (with ``rewriteHistory``), the repo's links and the listing."""
    body = await json_body(request, BODY_LIMIT)
    deletions = body.get("deletions") if isinstance(body, dict) else None
    if not isinstance(deletions, dict):
        raise BadRequestError('Expected {"deletions": {"sha": [...], "rewriteHistory": true}}')
    oids = _sha_list(deletions.get("sha"))
    rewrite = deletions.get("rewriteHistory", True)
    if not isinstance(rewrite, bool):
        raise BadRequestError("rewriteHistory must be a boolean")
    hub, caller = hub_of(request), caller_of(request)
    await run_in_threadpool(purge_lfs_files, hub, repo, caller, oids, rewrite_history=rewrite)
    return Response(status_code=200)


def _sha_list(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or len(value) > MAX_DELETIONS:
        raise BadRequestError(f"deletions.sha must be a list of at most {MAX_DELETIONS} sha256 oids")
    if not all(isinstance(oid, str) and is_sha256(oid) for oid in value):
        raise BadRequestError("deletions.sha must hold sha256 oids (64 lowercase hex digits)")
    return frozenset(value)


# -- cross-repo copy ---------------------------------------------------------------------------
@router.post("/api/{repo_type:rtype}/{repo_id:repo}/lfs-files/duplicate")
async def duplicate_lfs_files(request: Request, repo: RepoToDownload) -> JSONResponse:
    """``{target{type,name}, files[{xetHash, sha256, filename}]}``: link each object this repo
    holds into ``target`` (the caller must write there); failures are reported per file."""
    body = await json_body(request, BODY_LIMIT)
    if not isinstance(body, dict):
        raise BadRequestError("Body must be a JSON object")
    target = _target_ref(body.get("target"))
    files = body.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_DUPLICATES:
        raise BadRequestError(f"'files' must be a list of 1 to {MAX_DUPLICATES} entries")
    failed = await run_in_threadpool(_duplicate, request, repo, target, files)
    return JSONResponse({"failed": failed})


def _target_ref(value: Any) -> RepoRef:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise BadRequestError('\'target\' must be {"type": ..., "name": ...}')
    kind = value.get("type")
    if kind is not None and not isinstance(kind, str):
        raise BadRequestError("target.type must be a string")
    return RepoRef(RepoType.parse(kind), RepoId.parse(value["name"]))


def _duplicate(request: Request, source: Repo, target_ref: RepoRef, files: list[Any]) -> list[dict[str, str]]:
    hub, caller = hub_of(request), caller_of(request)
    failed: list[dict[str, str]] = []
    with hub.db.write() as session:
        target = find_repo(session, target_ref)
        if target is None:
            raise not_found(str(target_ref.id))
        access.ensure(session, caller, target, Right.WRITE, requested=str(target_ref.id))
        for item in files:
            oid, error = _copy_one(session, caller, source, target, item)
            if error is not None:
                failed.append({"sha256": oid, "error": error})
    return failed


def _copy_one(session: Session, caller: Caller, source: Repo, target: Repo, item: Any) -> tuple[str, str | None]:
    """Link one object; the reason it cannot be linked otherwise (never a server error)."""
    oid = item.get("sha256") if isinstance(item, dict) else None
    if not isinstance(oid, str) or not is_sha256(oid):
        return str(oid)[:100], "sha256 must be 64 lowercase hex digits"
    stored = session.get(LfsObject, oid)
    if (
        stored is None
        or not lfs.is_linked(session, source, oid)
        or not access.content_usable(session, caller, target, oid)
    ):
        return oid, "File not found in the source repository"
    xet_hash = item.get("xetHash")
    if xet_hash is not None and stored.xet_hash is not None and xet_hash != stored.xet_hash:
        return oid, "xetHash does not match the stored file"
    lfs.link(session, target.id, oid, stored.size)
    return oid, None
