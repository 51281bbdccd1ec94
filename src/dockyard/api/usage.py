"""Storage usage per repo and per namespace (a Dockyard extension of the Hub API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from dockyard.accounts import service as accounts
from dockyard.api.deps import caller_of, hub_of
from dockyard.api.routing import repo_ref
from dockyard.errors import AccountNotFoundError
from dockyard.lfs.usage import usage_of_repos
from dockyard.repos.models import Repo
from dockyard.repos.service import get_readable_repo

router = APIRouter()


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/storage")
def repo_storage(request: Request, repo_type: str, repo_id: str) -> dict[str, Any]:
    hub = hub_of(request)
    with hub.db.read() as session:
        repo = get_readable_repo(session, caller_of(request), repo_ref(repo_type, repo_id))
        return {"id": repo.full_id, **usage_of_repos(session, [repo.id]).as_json()}


@router.get("/api/organizations/{name}/storage")
@router.get("/api/users/{name}/storage")
def namespace_storage(request: Request, name: str) -> dict[str, Any]:
    """Members of an organisation (and the user themself) see its totals; others get a 404."""
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.read() as session:
        account = accounts.get_account(session, name)
        allowed = caller.user is not None and (
            caller.is_admin or caller.user.id == account.id or caller.org_role(session, account.id) is not None
        )
        if not allowed:
            raise AccountNotFoundError(f"No user or organization named {name!r}")
        repo_ids = list(session.scalars(select(Repo.id).where(Repo.owner_id == account.id)))
        return {"name": account.name, "repos": len(repo_ids), **usage_of_repos(session, repo_ids).as_json()}
