"""The git-lfs batch API (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md).

Upload and download actions point at signed URLs, because the Hub's client sends no credentials
to them; the signature binds the URL to one repo, one object and one size.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dockyard.auth.identity import Caller
from dockyard.errors import BadRequestError
from dockyard.hub import Hub
from dockyard.lfs import service as lfs
from dockyard.lfs.pointer import is_sha256
from dockyard.repos.models import Repo

UPLOAD_PURPOSE = "lfs-upload"
DOWNLOAD_PURPOSE = "lfs-download"
MAX_OBJECTS = 1000
MAX_SINGLE_PUT = 5 * 1024**3  # S3's limit for one PUT; larger files need multipart


@dataclass(frozen=True, slots=True)
class BatchObject:
    oid: str
    size: int


def parse_objects(raw: Any) -> list[BatchObject]:
    if not isinstance(raw, list) or len(raw) > MAX_OBJECTS:
        raise BadRequestError(f"'objects' must be a list of at most {MAX_OBJECTS} objects")
    objects = []
    for item in raw:
        if not isinstance(item, dict):
            raise BadRequestError("Each object needs 'oid' and 'size'")
        oid, size = item.get("oid"), item.get("size")
        if not isinstance(oid, str) or not is_sha256(oid) or not isinstance(size, int) or size < 0:
            raise BadRequestError(f"Invalid object {item!r}: oid must be a sha256, size a non-negative int")
        objects.append(BatchObject(oid=oid, size=size))
    return objects


def _error(obj: BatchObject, code: int, message: str) -> dict[str, Any]:
    return {"oid": obj.oid, "size": obj.size, "error": {"code": code, "message": message}}


def plan_upload(
    hub: Hub,
    session: Session,
    caller: Caller,
    repo: Repo,
    objects: list[BatchObject],
    transfers: list[str],
    base: str,
) -> dict[str, Any]:
    """No action for content this repo holds or the caller may use (linked now); upload actions
    for everything else, whether or not it is stored elsewhere, so the answer reveals nothing about
    content the caller may not download."""
    settings = hub.settings
    use_multipart = "multipart" in transfers
    results = []
    for obj in objects:
        if lfs.link_if_usable(hub, session, caller, repo, obj.oid, obj.size):
            results.append({"oid": obj.oid, "size": obj.size})  # already there: no action
            continue
        claims: dict[str, Any] = {"repo": repo.id, "oid": obj.oid, "size": obj.size}
        ttl = settings.upload_url_ttl
        multipart = use_multipart and obj.size >= settings.lfs_multipart_threshold
        upload = _direct_action(hub, claims, obj.size, base, multipart=multipart)
        if upload is None and multipart:
            upload = _multipart_action(hub, claims, obj.size, base)
        elif upload is None:
            upload = {"href": f"{base}/-/lfs/upload/{hub.signer.sign(UPLOAD_PURPOSE, claims, ttl=ttl)}"}
        verify = f"{base}/-/lfs/verify/{hub.signer.sign(UPLOAD_PURPOSE, claims, ttl=ttl)}"
        upload["expires_in"] = ttl
        results.append(
            {
                "oid": obj.oid,
                "size": obj.size,
                "authenticated": True,
                "actions": {"upload": upload, "verify": {"href": verify, "expires_in": ttl}},
            }
        )
    return {"transfer": "multipart" if use_multipart else "basic", "objects": results, "hash_algo": "sha256"}


def _direct_action(hub: Hub, claims: dict[str, Any], size: int, base: str, *, multipart: bool) -> dict[str, Any] | None:
    """Upload straight to object storage when it offers presigned URLs: bytes never pass through
    Dockyard. They land in private staging (``claims["staged"]``) and are hashed and checked at
    verify (or completion) time, before anything can reference them. None: go through Dockyard."""
    token = uuid.uuid4().hex
    key = f".staging/{token}"
    ttl = hub.settings.upload_url_ttl
    if not multipart:
        if size > MAX_SINGLE_PUT:
            return None
        url = hub.blobs.presigned_put_url(key, expires_in=ttl, content_length=size)
        if url is None:
            return None
        claims["staged"] = token
        return {"href": url}
    upload_id = hub.blobs.create_multipart(key)
    if upload_id is None:
        return None
    chunk = hub.settings.lfs_multipart_chunk_size
    claims.update(staged=token, s3upload=upload_id)
    header: dict[str, str] = {"chunk_size": str(chunk)}
    for number in range(1, max(1, math.ceil(size / chunk)) + 1):
        header[f"{number:05d}"] = hub.blobs.presigned_part_url(key, upload_id, number, expires_in=ttl)
    token_url = hub.signer.sign(UPLOAD_PURPOSE, claims, ttl=ttl)
    return {"href": f"{base}/-/lfs/complete-direct/{token_url}", "header": header}


def _multipart_action(hub: Hub, claims: dict[str, Any], size: int, base: str) -> dict[str, Any]:
    chunk = hub.settings.lfs_multipart_chunk_size
    parts = max(1, math.ceil(size / chunk))
    upload_claims = dict(claims, upload=uuid.uuid4().hex, chunk=chunk)
    token = hub.signer.sign(UPLOAD_PURPOSE, upload_claims, ttl=hub.settings.upload_url_ttl)
    header: dict[str, str] = {"chunk_size": str(chunk)}
    for number in range(1, parts + 1):
        header[f"{number:05d}"] = f"{base}/-/lfs/part/{token}/{number}"
    return {"href": f"{base}/-/lfs/complete/{token}", "header": header}


def plan_download(
    hub: Hub, session: Session, caller: Caller, repo: Repo, objects: list[BatchObject], base: str
) -> dict[str, Any]:
    results = []
    for obj in objects:
        stored = lfs.stored_size(hub, session, obj.oid)
        if stored is None or not lfs.is_linked(session, repo, obj.oid):
            results.append(_error(obj, 404, "Object does not exist"))
            continue
        if stored != obj.size:
            results.append(_error(obj, 422, f"Object size is {stored}, not {obj.size}"))
            continue
        token = hub.signer.sign(DOWNLOAD_PURPOSE, {"repo": repo.id, "oid": obj.oid}, ttl=3600)
        results.append(
            {
                "oid": obj.oid,
                "size": obj.size,
                "authenticated": True,
                "actions": {"download": {"href": f"{base}/-/lfs/objects/{token}", "expires_in": 3600}},
            }
        )
    return {"transfer": "basic", "objects": results, "hash_algo": "sha256"}
