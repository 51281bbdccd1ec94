"""Repo listings as indexed SQL queries.

Every filter maps to an index: ``filter=`` tags to ``repo_tags(tag, repo_id)``, sorts to
``(type, <column>)``; ``search`` is a case-insensitive substring of the id, as on the Hub.
Private repos appear only to callers who can read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.auth.access import Viewer, visible_clause
from dockyard.auth.identity import Caller
from dockyard.errors import BadRequestError
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo, RepoTag
from dockyard.search.index import candidates

SORTS = {
    "downloads": Repo.downloads,
    "likes": Repo.likes,
    "lastModified": Repo.last_modified,
    "last_modified": Repo.last_modified,
    "createdAt": Repo.created_at,
    "created_at": Repo.created_at,
    "trendingScore": Repo.trending_score,
    "trending_score": Repo.trending_score,
    "trending": Repo.trending_score,
}
MAX_LIMIT = 1000


@dataclass
class ListQuery:
    repo_type: RepoType
    search: str | None = None
    author: str | None = None
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    gated: bool | None = None
    sort: str | None = None
    limit: int | None = None
    offset: int = 0


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _visible_to(query: Select[Repo], caller: Caller) -> Select[Repo]:
    """The same rule as a single repo's page, as SQL: token scopes narrow admins too."""
    return query.where(visible_clause(Viewer.of(caller)))


def build_query(query: ListQuery, caller: Caller) -> Select[Repo]:
    stmt = select(Repo).where(Repo.type == query.repo_type.value, Repo.disabled.is_(False))
    stmt = _visible_to(stmt, caller)
    if query.author:
        owner = select(Account.id).where(Account.name_lower == query.author.lower())
        stmt = stmt.where(Repo.owner_id.in_(owner.scalar_subquery()))
    if query.search:
        narrowed = candidates(query.search)
        if narrowed is not None:
            stmt = stmt.where(Repo.id.in_(narrowed))
        stmt = stmt.where(Repo.full_id_lower.like(f"%{_escape_like(query.search.lower())}%", escape="\\"))
    for tag in query.tags:
        stmt = stmt.where(exists().where(RepoTag.repo_id == Repo.id, RepoTag.tag == tag))
    if query.pipeline_tag:
        stmt = stmt.where(Repo.pipeline_tag == query.pipeline_tag)
    if query.gated is not None:
        stmt = stmt.where(Repo.gated.is_not(None) if query.gated else Repo.gated.is_(None))
    if query.sort:
        column = SORTS.get(query.sort)
        if column is None:
            raise BadRequestError(f"Invalid sort {query.sort!r}; expected one of {', '.join(sorted(SORTS))}")
        stmt = stmt.order_by(column.desc(), Repo.id.desc())
    else:  # newest first, along the (type, created_at) index
        stmt = stmt.order_by(Repo.created_at.desc(), Repo.id.desc())
    return stmt


def list_repos(session: Session, caller: Caller, query: ListQuery, *, page_size: int) -> list[Repo]:
    stmt = build_query(query, caller).offset(query.offset).limit(page_size)
    return list(session.scalars(stmt))
