"""``/{user-or-org}``: a profile page with the account's avatar, name, repos by type, collections,
and its likes (users) or members (organisations). Only what the viewer may see is listed or
counted: a private repo of the account is absent for outsiders, counts included."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account, Membership
from dockyard.auth.access import Viewer, visible_clause
from dockyard.auth.identity import Caller
from dockyard.buckets import access as bucket_access
from dockyard.buckets.models import Bucket
from dockyard.collections import access as collection_access
from dockyard.collections.models import Collection
from dockyard.errors import AccountNotFoundError
from dockyard.identifiers import RepoType
from dockyard.repos.models import Like, Repo
from dockyard.request_context import hub_of
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

SHOWN = 24  # repos of each type, likes, collections: the first ones, newest first


@dataclass(frozen=True, slots=True)
class RepoSection:
    kind: RepoType
    repos: list[Repo]
    total: int


@dataclass(frozen=True, slots=True)
class Profile:
    account: Account
    sections: list[RepoSection]
    collections: list[Collection]
    likes: list[Repo]
    members: list[Membership]
    orgs: list[Account]
    buckets: list[Bucket]


def _repos(session: Session, caller: Caller, owner: Account, kind: RepoType) -> RepoSection:
    where = (
        Repo.owner_id == owner.id,
        Repo.type == kind.value,
        Repo.disabled.is_(False),
        visible_clause(Viewer.of(caller)),
    )
    repos = session.scalars(select(Repo).where(*where).order_by(Repo.last_modified.desc(), Repo.id.desc()).limit(SHOWN))
    total = session.scalar(select(func.count()).select_from(Repo).where(*where)) or 0
    return RepoSection(kind, list(repos), total)


def _collections(session: Session, caller: Caller, owner: Account) -> list[Collection]:
    statement = (
        select(Collection)
        .where(Collection.owner_id == owner.id, collection_access.visible_clause(Viewer.of(caller)))
        .order_by(Collection.position, Collection.id)
        .limit(SHOWN)
    )
    return list(session.scalars(statement))


def _likes(session: Session, caller: Caller, user: Account) -> list[Repo]:
    statement = (
        select(Repo)
        .join(Like, Like.repo_id == Repo.id)
        .where(Like.user_id == user.id, Repo.disabled.is_(False), visible_clause(Viewer.of(caller)))
        .order_by(Like.created_at.desc())
        .limit(SHOWN)
    )
    return list(session.scalars(statement))


def _buckets(session: Session, caller: Caller, owner: Account) -> list[Bucket]:
    statement = (
        select(Bucket)
        .where(Bucket.owner_id == owner.id, bucket_access.visible_clause(Viewer.of(caller)))
        .order_by(Bucket.updated_at.desc(), Bucket.id.desc())
        .limit(SHOWN)
    )
    return list(session.scalars(statement))


def load_profile(session: Session, caller: Caller, name: str) -> Profile:
    account = accounts.find_account(session, name)
    if account is None:
        raise AccountNotFoundError()
    members: list[Membership] = []
    orgs: list[Account] = []
    if account.is_org:
        members = list(
            session.scalars(select(Membership).where(Membership.org_id == account.id).order_by(Membership.id))
        )
    else:
        orgs = [m.org for m in accounts.memberships_of(session, account)]
    return Profile(
        account=account,
        sections=[_repos(session, caller, account, kind) for kind in RepoType],
        collections=_collections(session, caller, account),
        likes=[] if account.is_org else _likes(session, caller, account),
        members=members,
        orgs=orgs,
        buckets=_buckets(session, caller, account),
    )


@router.get("/{name}")
def profile(request: Request, name: str) -> Response:
    with hub_of(request).db.read() as session:
        shown = load_profile(session, viewer_of(request).caller, name)
    return render(request, "profiles/profile.html", profile=shown)
