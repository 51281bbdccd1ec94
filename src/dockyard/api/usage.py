"""Storage usage per repo, bucket and namespace (a Dockyard extension of the Hub API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.api.deps import caller_of, hub_of
from dockyard.api.routing import repo_ref
from dockyard.auth.access import Right
from dockyard.buckets import service as buckets
from dockyard.buckets.models import Bucket
from dockyard.buckets.service import BucketId
from dockyard.errors import AccountNotFoundError
from dockyard.lfs.usage import usage_of_buckets, usage_of_repos
from dockyard.quotas import service as quotas
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
        bucket_ids = list(session.scalars(select(Bucket.id).where(Bucket.owner_id == account.id)))
        return {
            "name": account.name,
            "repos": len(repo_ids),
            **usage_of_repos(session, repo_ids).as_json(),
            "buckets": {"count": len(bucket_ids), **usage_of_buckets(session, bucket_ids).as_json()},
            "quota": _quota_json(session, account.id),
        }


def _quota_json(session: Session, account_id: int) -> dict[str, int | None]:
    """What the quota check counts (logical bytes of repos and buckets) against the quota."""
    used = quotas.usage(session, account_id)
    return {"maxBytes": quotas.quota_of(session, account_id), "usedBytes": used.total}


@router.get("/api/buckets/{namespace}/{name}/storage")
def bucket_storage(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """Like a repo's: the bucket's logical bytes and the distinct xorbs behind its files."""
    with hub_of(request).db.read() as session:
        bucket = buckets.get_bucket(session, caller_of(request), BucketId(namespace, name), Right.DOWNLOAD)
        return {"id": bucket.full_id, **usage_of_buckets(session, [bucket.id]).as_json()}
