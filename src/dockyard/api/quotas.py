"""Storage quotas per namespace over HTTP (a Dockyard extension): hub administrators read, set
and clear them; ``dockyard storage quota …`` does the same from the command line."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.api.deps import caller_of, hub_of
from dockyard.auth.identity import Caller
from dockyard.errors import AuthenticationRequiredError, BadRequestError, ForbiddenError
from dockyard.quotas import service as quotas
from dockyard.request_bodies import parse_json, read_limited

router = APIRouter()
BODY_LIMIT = 4096


def _require_admin(caller: Caller) -> None:
    """Hub administrators, through a token that carries all their rights (not a fine-grained one:
    quotas span every namespace)."""
    if caller.user is None:
        raise AuthenticationRequiredError("Authentication required")
    if not caller.is_admin:
        raise ForbiddenError("Only hub administrators manage storage quotas")
    if caller.scopes is not None:
        raise ForbiddenError("A fine-grained token cannot manage storage quotas: use a read or write token")
    if caller.role == "read":
        raise ForbiddenError("This token has read access only: it cannot change storage quotas")


def quota_json(session: Session, account: Account) -> dict[str, Any]:
    used = quotas.usage(session, account.id)
    return {
        "name": account.name,
        "maxBytes": quotas.quota_of(session, account.id),
        "usedBytes": used.total,
        "repoBytes": used.repo_bytes,
        "bucketBytes": used.bucket_bytes,
    }


@router.get("/api/admin/quotas/{namespace}")
def get_quota(request: Request, namespace: str) -> dict[str, Any]:
    caller = caller_of(request)
    if caller.user is None:
        raise AuthenticationRequiredError("Authentication required")
    if not caller.is_admin or caller.scopes is not None:
        raise ForbiddenError("Only hub administrators read storage quotas")
    with hub_of(request).db.read() as session:
        return quota_json(session, accounts.get_account(session, namespace))


@router.put("/api/admin/quotas/{namespace}")
async def put_quota(request: Request, namespace: str) -> dict[str, Any]:
    """Body ``{"maxBytes": N}``."""
    raw = await read_limited(request, BODY_LIMIT)
    body = await run_in_threadpool(parse_json, raw) if raw.strip() else None
    max_bytes = body.get("maxBytes") if isinstance(body, dict) else None
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0:
        raise BadRequestError('Body must be {"maxBytes": <non-negative integer>}')
    return await run_in_threadpool(_set, request, namespace, max_bytes)


def _set(request: Request, namespace: str, max_bytes: int) -> dict[str, Any]:
    caller = caller_of(request)
    _require_admin(caller)
    with hub_of(request).db.write() as session:
        account = accounts.get_account(session, namespace)
        quotas.set_quota(session, caller, account, max_bytes)
        session.flush()
        return quota_json(session, account)


@router.delete("/api/admin/quotas/{namespace}")
def delete_quota(request: Request, namespace: str) -> dict[str, Any]:
    caller = caller_of(request)
    _require_admin(caller)
    with hub_of(request).db.write() as session:
        account = accounts.get_account(session, namespace)
        quotas.clear_quota(session, caller, account)
        session.flush()
        return quota_json(session, account)
