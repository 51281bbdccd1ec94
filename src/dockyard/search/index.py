"""Substring search that stays fast on large hubs: a portable trigram index.

A repo id contains the query only if it contains every trigram of the query, so the index
narrows the candidates to repos holding all of them, and a LIKE on those few confirms the match.
Queries shorter than three characters fall back to the plain scan. The same table works on SQLite
and PostgreSQL (where pg_trgm would be the native alternative).
"""

from __future__ import annotations

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from dockyard.repos.models import Repo
from dockyard.search.models import RepoSearchGram


def trigrams(text: str) -> set[str]:
    lowered = text.lower()
    return {lowered[i : i + 3] for i in range(len(lowered) - 2)}


def reindex(session: Session, repo: Repo) -> None:
    """Replace a repo's trigrams (after it is created or renamed)."""
    session.execute(delete(RepoSearchGram).where(RepoSearchGram.repo_id == repo.id))
    session.add_all(RepoSearchGram(gram=gram, repo_id=repo.id) for gram in trigrams(repo.full_id_lower))
    session.flush()


MAX_GRAMS = 4


def candidates(query: str) -> Select[int] | None:
    """Ids of repos holding a spread of ``query``'s trigrams (a superset of the matches: the LIKE that
    follows confirms them), or None when the query is too short to have trigrams."""
    ordered = [query.lower()[i : i + 3] for i in range(len(query) - 2)]
    if not ordered:
        return None
    step = max(1, (len(ordered) - 1) / (MAX_GRAMS - 1))
    grams = {ordered[min(len(ordered) - 1, round(i * step))] for i in range(MAX_GRAMS)}
    return (
        select(RepoSearchGram.repo_id)
        .where(RepoSearchGram.gram.in_(sorted(grams)))
        .group_by(RepoSearchGram.repo_id)
        .having(func.count() == len(grams))
    )
