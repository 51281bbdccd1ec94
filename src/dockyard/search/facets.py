"""The repo lists of the web pages: the Hub's query parameters (``pipeline_tag``, ``library``,
``language``, ``license``, ``other``, ``search``, ``sort``, ``p``) turned into the API's listing
query, and the facet counts beside the results.

Everything is counted in SQL over the repos the viewer may see (:func:`dockyard.search.listing.
build_query` applies ``visible_clause``), so a private repo never shows up in a count for an
outsider. Counts are over the current results: choosing a facet narrows the others, as on the Hub.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Membership
from dockyard.auth.identity import Caller
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo, RepoTag
from dockyard.search.listing import ListQuery, build_query

PAGE_SIZE = 30
FACET_LIMIT = 12
# The sorts offered on the pages, as the Hub names them in its URLs, and the listing's sort key.
PAGE_SORTS = {
    "trending": "trending",
    "downloads": "downloads",
    "likes": "likes",
    "modified": "lastModified",
    "created": "createdAt",
}
SORT_LABELS = {
    "trending": "Trending",
    "downloads": "Most downloads",
    "likes": "Most likes",
    "modified": "Recently updated",
    "created": "Recently created",
}
SORT_ALIASES = {"updated": "modified", "lastModified": "modified", "createdAt": "created", "trendingScore": "trending"}
DEFAULT_SORT = "trending"
# Tag prefixes of the tag facets: ``language:en`` is the "en" of the languages facet.
TAG_FACETS = {"language": "language:", "license": "license:"}


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What a list page's URL asks for; every field is one query parameter."""

    repo_type: RepoType
    search: str = ""
    author: str = ""
    pipeline_tag: str = ""
    library: str = ""
    language: str = ""
    license: str = ""
    other: tuple[str, ...] = ()
    sort: str = DEFAULT_SORT
    page: int = 0

    @classmethod
    def from_params(cls, repo_type: RepoType, params: Mapping[str, str], others: Sequence[str]) -> PageQuery:
        """Unknown sorts fall back to trending and bad page numbers to the first page: a
        hand-edited URL still shows a list."""
        sort = params.get("sort", DEFAULT_SORT)
        sort = SORT_ALIASES.get(sort, sort)
        try:
            page = max(0, int(params.get("p", "0")))
        except ValueError:
            page = 0
        return cls(
            repo_type=repo_type,
            search=params.get("search", "").strip()[:200],
            author=params.get("author", "").strip()[:96],
            pipeline_tag=params.get("pipeline_tag", "").strip(),
            library=params.get("library", "").strip(),
            language=params.get("language", "").strip(),
            license=params.get("license", "").strip(),
            other=tuple(dict.fromkeys(o.strip() for o in others if o.strip())),
            sort=sort if sort in PAGE_SORTS else DEFAULT_SORT,
            page=min(page, 10_000),
        )

    def params(self, **changes: str | None) -> dict[str, str | list[str]]:
        """This query's URL parameters, with ``changes`` applied (None removes one). Any change of
        filter goes back to the first page."""
        current: dict[str, str | list[str]] = {
            "search": self.search,
            "author": self.author,
            "pipeline_tag": self.pipeline_tag,
            "library": self.library,
            "language": self.language,
            "license": self.license,
            "other": list(self.other),
            "sort": self.sort if self.sort != DEFAULT_SORT else "",
            "p": str(self.page) if self.page else "",
        }
        if any(key != "p" for key in changes):
            current["p"] = ""
        for key, value in changes.items():
            current[key] = value or ""
        return {key: value for key, value in current.items() if value}

    def listing(self) -> ListQuery:
        """The API listing's query for the same filters (``library`` is added separately)."""
        tags = [f"{prefix}{value}" for key, prefix in TAG_FACETS.items() if (value := getattr(self, key))]
        return ListQuery(
            repo_type=self.repo_type,
            search=self.search or None,
            author=self.author or None,
            tags=tags + list(self.other),
            pipeline_tag=self.pipeline_tag or None,
            sort=PAGE_SORTS[self.sort],
            offset=self.page * PAGE_SIZE,
        )


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True, slots=True)
class Facet:
    key: str  # the query parameter
    title: str
    values: list[FacetValue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Listing:
    repos: list[Repo]
    total: int
    facets: list[Facet]
    has_next: bool


def _filtered(query: PageQuery, caller: Caller) -> Select[Repo]:
    statement = build_query(query.listing(), caller)
    if query.library:
        statement = statement.where(Repo.library_name == query.library)
    return statement


def list_page(session: Session, caller: Caller, query: PageQuery) -> Listing:
    """One page of results, with the number of results and the facets over them."""
    statement = _filtered(query, caller)
    repos = list(session.scalars(statement.offset(query.page * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    total, shown = summary(session, caller, query, statement)
    return Listing(repos=repos[:PAGE_SIZE], total=total, facets=shown, has_next=len(repos) > PAGE_SIZE)


# -- facet counts ------------------------------------------------------------------------------------
# Counting 100k repos takes a few hundred milliseconds; the same counts serve every sort and page
# of a filter, so they are kept half a minute per (filter, viewer). The key holds what decides the
# visible set, so a cached count can never include a repo the viewer may no longer see: the
# viewer's identity, admin flag, token scopes and organisations, and a fingerprint of the type's
# private and disabled repos (a repo made private changes it at once).
SUMMARY_TTL = 30.0
SUMMARY_ENTRIES = 512
_summaries: OrderedDict[tuple[object, ...], tuple[float, int, list[Facet]]] = OrderedDict()
_summaries_lock = threading.Lock()


def _viewer_key(session: Session, caller: Caller) -> tuple[object, ...]:
    if caller.user is None:
        return (None,)
    scopes = None if caller.scopes is None else tuple(sorted(repr(s) for s in caller.scopes))
    orgs = tuple(sorted(session.scalars(select(Membership.org_id).where(Membership.user_id == caller.user.id))))
    return (caller.user.id, caller.is_admin, scopes, orgs)


def _hidden_fingerprint(session: Session, repo_type: RepoType) -> tuple[object, ...]:
    """How many repos of the type are private or disabled, and the sum of their ids: any change
    to that set changes this (one pass over the facets index)."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(Repo.id), 0)).where(
            Repo.type == repo_type.value, or_(Repo.private.is_(True), Repo.disabled.is_(True))
        )
    ).one()
    return tuple(row)


def summary(session: Session, caller: Caller, query: PageQuery, statement: Select[Repo]) -> tuple[int, list[Facet]]:
    """(number of results, facets) of ``statement``, from the cache while it is fresh."""
    fingerprint = _hidden_fingerprint(session, query.repo_type)
    key = (*_viewer_key(session, caller), fingerprint, replace(query, sort=DEFAULT_SORT, page=0))
    now = time.monotonic()
    with _summaries_lock:
        cached = _summaries.get(key)
        if cached is not None and cached[0] > now:
            _summaries.move_to_end(key)
            return cached[1], cached[2]
    total, shown = count_facets(session, query, statement)
    with _summaries_lock:
        _summaries[key] = (now + SUMMARY_TTL, total, shown)
        while len(_summaries) > SUMMARY_ENTRIES:
            _summaries.popitem(last=False)
    return total, shown


def count_facets(session: Session, query: PageQuery, statement: Select[Repo]) -> tuple[int, list[Facet]]:
    """Tasks, libraries, languages, licenses and other tags of the repos ``statement`` selects,
    most common first. Tasks, libraries and the total come from one pass over the facets index."""
    unordered = statement.order_by(None)
    pairs = session.execute(
        unordered.with_only_columns(Repo.pipeline_tag, Repo.library_name, func.count()).group_by(
            Repo.pipeline_tag, Repo.library_name
        )
    ).all()
    total = sum(int(n) for _, _, n in pairs)
    task_counts: Counter[str] = Counter()
    library_counts: Counter[str] = Counter()
    for task, library, n in pairs:
        if task:
            task_counts[str(task)] += int(n)
        if library:
            library_counts[str(library)] += int(n)
    ids = unordered.with_only_columns(Repo.id)
    languages = _prefix_counts(session, TAG_FACETS["language"], ids, limit=FACET_LIMIT * 4)
    licenses = _prefix_counts(session, TAG_FACETS["license"], ids)
    known = set(task_counts) | set(library_counts) | {value for value, _ in languages}
    others = [(tag, n) for tag, n in _other_counts(session, ids, known) if tag not in known][:FACET_LIMIT]
    return total, [
        _facet("pipeline_tag", "Tasks", _top(task_counts), {query.pipeline_tag}),
        _facet("library", "Libraries", _top(library_counts), {query.library}),
        _facet("language", "Languages", languages[:FACET_LIMIT], {query.language}),
        _facet("license", "Licenses", licenses, {query.license}),
        _facet("other", "Other tags", others, set(query.other)),
    ]


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_LIMIT]


def _facet(key: str, title: str, counts: list[tuple[str, int]], selected: set[str]) -> Facet:
    values = [FacetValue(value, count, value in selected) for value, count in counts]
    shown = {v.value for v in values}
    # A chosen value stays listed (to be removed) even when it fell out of the top counts.
    values += [FacetValue(value, 0, True) for value in sorted(selected - shown) if value]
    return Facet(key, title, values)


def _tag_counts(
    session: Session, condition: ColumnElement[bool], ids: Select[int], limit: int
) -> list[tuple[str, int]]:
    count = func.count().label("n")
    statement = (
        select(RepoTag.tag, count)
        # ``+ 0``: walk the tag index and probe the ids, not probe every id's tags (SQLite's default).
        .where(condition, (RepoTag.repo_id + 0).in_(ids))
        .group_by(RepoTag.tag)
        .order_by(count.desc(), RepoTag.tag)
        .limit(limit)
    )
    return [(str(tag), int(n)) for tag, n in session.execute(statement)]


def _prefix_counts(
    session: Session, prefix: str, ids: Select[int], *, limit: int = FACET_LIMIT
) -> list[tuple[str, int]]:
    """Tags starting with ``prefix``, as a range on the tag index (LIKE would not use it)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    condition = and_(RepoTag.tag >= prefix, RepoTag.tag < upper)
    return [(tag.removeprefix(prefix), n) for tag, n in _tag_counts(session, condition, ids, limit)]


def _other_counts(session: Session, ids: Select[int], known: set[str]) -> list[tuple[str, int]]:
    """Plain tags (no ``key:`` prefix) that no other facet shows."""
    condition = and_(RepoTag.tag.not_like("%:%"), RepoTag.tag.not_in(sorted(known)))
    return _tag_counts(session, condition, ids, FACET_LIMIT + len(known))
