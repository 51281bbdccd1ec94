"""Gated repos: asking for access, and the owners' HfApi calls (list, accept, reject, cancel, grant)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.api.deps import RepoToSee, RepoToWrite, caller_of, hub_of
from dockyard.api.serialize import iso
from dockyard.errors import BadRequestError, NotFoundError
from dockyard.gating import service as gating
from dockyard.gating.models import AccessRequest
from dockyard.repos.models import Repo
from dockyard.request_bodies import json_or_form

router = APIRouter()


def _request_json(item: AccessRequest) -> dict[str, Any]:
    return {
        "requestId": str(item.id),
        "user": {"user": item.user.name, "fullname": item.user.fullname, "email": item.user.email, "avatarUrl": ""},
        "status": item.status,
        "timestamp": iso(item.updated_at),
        "fields": item.fields or {},
    }


async def _json_or_form(request: Request) -> dict[str, Any]:
    """Asking for access is open to anyone who can see the repo: its body gets the small limit."""
    return await json_or_form(request, hub_of(request).settings.max_anonymous_body)


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/ask-access")
async def ask_access(request: Request, repo: RepoToSee) -> dict[str, Any]:
    """A user asks for access, sending the fields the card's ``extra_gated_fields`` lists."""
    fields = await _json_or_form(request)
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.write() as session:
        item = gating.request_access(session, caller, session.get_one(Repo, repo.id), fields)
        return {"status": item.status}


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/user-access-request/{status}")
def list_requests(request: Request, repo: RepoToWrite, status: str) -> JSONResponse:
    with hub_of(request).db.read() as session:
        return JSONResponse([_request_json(item) for item in gating.list_requests(session, repo, status)])


def _target_user(session: Any, repo_id: int, body: dict[str, Any]) -> Account:
    if body.get("user"):
        return accounts.get_user(session, str(body["user"]))
    request_id = body.get("requestId")
    if request_id is None:
        raise BadRequestError("Give 'user' or 'requestId'")
    item = session.get(AccessRequest, int(request_id)) if str(request_id).isdigit() else None
    if item is None or item.repo_id != repo_id:
        raise NotFoundError(f"No access request {request_id}")
    user: Account = item.user
    return user


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/user-access-request/handle")
async def handle_request(request: Request, repo: RepoToWrite) -> dict[str, Any]:
    body = await _json_or_form(request)
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.write() as session:
        current = session.get_one(Repo, repo.id)
        user = _target_user(session, current.id, body)
        item = gating.decide(session, caller, current, user, str(body.get("status")), body.get("rejectionReason"))
        return _request_json(item)


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/user-access-request/grant")
async def grant_access(request: Request, repo: RepoToWrite) -> dict[str, Any]:
    body = await _json_or_form(request)
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.write() as session:
        if not body.get("user"):
            raise BadRequestError("Give 'user'")
        user = accounts.get_user(session, str(body["user"]))
        item = gating.grant(session, caller, session.get_one(Repo, repo.id), user)
        return _request_json(item)
