"""Administration over HTTP: the audit log (admins) and organisation members (org admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from dockyard.accounts import service as accounts
from dockyard.accounts.models import ORG, Membership
from dockyard.api.deps import caller_of, hub_of
from dockyard.audit import service as audit
from dockyard.auth.identity import Caller
from dockyard.errors import AccountNotFoundError, AuthenticationRequiredError, BadRequestError, ForbiddenError

router = APIRouter()


def _require_admin(caller: Caller) -> None:
    """Hub administrators, through a token that carries all their rights: a fine-grained token
    is limited to the repos and namespaces it names, and the audit log covers all of them."""
    if caller.user is None:
        raise AuthenticationRequiredError("Authentication required")
    if not caller.is_admin:
        raise ForbiddenError("Only hub administrators can read the audit log")
    if caller.scopes is not None:
        raise ForbiddenError("A fine-grained token cannot read the audit log: use a read or write token")


@router.get("/api/admin/audit")
def audit_log(request: Request) -> list[dict[str, Any]]:
    """Newest first; ``before`` (an event id) pages back, ``action``/``actor``/``since`` filter."""
    caller = caller_of(request)
    _require_admin(caller)
    params = request.query_params
    try:
        limit = int(params.get("limit", "100"))
        before = int(params["before"]) if params.get("before") else None
        since = datetime.fromisoformat(params["since"]) if params.get("since") else None
    except ValueError:
        raise BadRequestError("limit and before must be integers, since an ISO date") from None
    with hub_of(request).db.read() as session:
        events = audit.query(
            session, limit=limit, before_id=before, action=params.get("action"), actor=params.get("actor"), since=since
        )
        return [audit.as_json(event) for event in events]


class MemberBody(BaseModel):
    user: str
    role: str


def _org_for_admin(session: Any, caller: Caller, name: str) -> Any:
    org = accounts.get_account(session, name)
    if org.kind != ORG:
        raise AccountNotFoundError(f"No organization named {name!r}")
    if caller.user is None:
        raise AuthenticationRequiredError("Authentication required")
    if not (caller.is_admin or caller.org_role(session, org.id) == "admin"):
        raise ForbiddenError(f"Only admins of {org.name} manage its members")
    if not caller.token_allows_namespace("write", org.name):
        raise ForbiddenError(f"This token has no write scope covering {org.name}: it cannot manage its members")
    return org


@router.get("/api/organizations/{name}/members")
def list_members(request: Request, name: str) -> list[dict[str, Any]]:
    caller = caller_of(request)
    with hub_of(request).db.read() as session:
        org = accounts.get_account(session, name)
        if org.kind != ORG or caller.user is None or (not caller.is_admin and caller.org_role(session, org.id) is None):
            raise AccountNotFoundError(f"No organization named {name!r}")
        if not caller.token_allows_namespace("read", org.name):
            raise ForbiddenError(f"This token has no scope covering {org.name}")
        rows = session.query(Membership).filter(Membership.org_id == org.id).all()
        return [{"user": m.user.name, "fullname": m.user.fullname, "role": m.role} for m in rows]


@router.put("/api/organizations/{name}/members")
def set_member(request: Request, name: str, body: MemberBody) -> dict[str, Any]:
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        org = _org_for_admin(session, caller, name)
        user = accounts.get_user(session, body.user)
        membership = accounts.set_membership(
            session, org, user, body.role, actor=caller.user.name if caller.user else None
        )
        return {"user": user.name, "role": membership.role}


@router.delete("/api/organizations/{name}/members/{user}")
def remove_member(request: Request, name: str, user: str) -> dict[str, Any]:
    caller = caller_of(request)
    with hub_of(request).db.write() as session:
        org = _org_for_admin(session, caller, name)
        accounts.remove_membership(
            session, org, accounts.get_user(session, user), actor=caller.user.name if caller.user else None
        )
    return {}
