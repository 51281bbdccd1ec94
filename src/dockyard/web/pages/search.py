"""``/search?q=``: one box that finds repos of every type, users, organisations and collections.
Repos and collections go through the listings' visibility rules; accounts are public."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from dockyard.accounts.models import ORG, USER, Account
from dockyard.auth.access import Viewer
from dockyard.auth.identity import Caller
from dockyard.collections import access as collection_access
from dockyard.collections.models import Collection
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo
from dockyard.request_context import hub_of
from dockyard.search.listing import ListQuery, list_repos
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

PER_SECTION = 10
QUERY_MAX = 100


@dataclass(frozen=True, slots=True)
class Results:
    repos: list[tuple[RepoType, list[Repo]]]
    users: list[Account]
    orgs: list[Account]
    collections: list[Collection]

    @property
    def empty(self) -> bool:
        return not (any(found for _, found in self.repos) or self.users or self.orgs or self.collections)


def _contains(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _accounts(session: Session, kind: str, text: str) -> list[Account]:
    pattern = _contains(text)
    statement = (
        select(Account)
        .where(
            Account.kind == kind,
            or_(Account.name_lower.like(pattern, escape="\\"), Account.fullname.ilike(pattern, escape="\\")),
        )
        .order_by(Account.name_lower)
        .limit(PER_SECTION)
    )
    return list(session.scalars(statement))


def _collections(session: Session, caller: Caller, text: str) -> list[Collection]:
    statement = (
        select(Collection)
        .where(
            collection_access.visible_clause(Viewer.of(caller)), Collection.title.ilike(_contains(text), escape="\\")
        )
        .order_by(Collection.last_updated.desc(), Collection.id.desc())
        .limit(PER_SECTION)
    )
    return list(session.scalars(statement))


def search_all(session: Session, caller: Caller, text: str) -> Results:
    repos = [
        (
            kind,
            list_repos(session, caller, ListQuery(repo_type=kind, search=text, sort="trending"), page_size=PER_SECTION),
        )
        for kind in RepoType
    ]
    return Results(
        repos=repos,
        users=_accounts(session, USER, text),
        orgs=_accounts(session, ORG, text),
        collections=_collections(session, caller, text),
    )


@router.get("/search")
def search(request: Request, q: str = "") -> Response:
    text = q.strip()[:QUERY_MAX]
    results = None
    if text:
        with hub_of(request).db.read() as session:
            results = search_all(session, viewer_of(request).caller, text)
    return render(request, "search/search.html", q=text, results=results)
