"""The repo lists of the web pages: the Hub's query parameters (``pipeline_tag``, ``library``,
``language``, ``license``, ``other``, ``search``, ``sort``, ``p``) turned into the API's listing
query, and the facet counts beside the results.

Everything is counted in SQL over the repos the viewer may see (:func:`dockyard.search.listing.
build_query` applies ``visible_clause``), so a private repo never shows up in a count for an
outsider. Counts are over the current results: choosing a facet narrows the others, as on the Hub.
The public repos' counts are shared by all viewers and may be up to about half a minute old (see
"facet counts" below); the results themselves, and the viewer's own private repos, are live.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import ColumnElement, Engine, Select, and_, func, select
from sqlalchemy.orm import Session

from dockyard.auth.cache import read_epoch
from dockyard.auth.identity import Caller
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo, RepoTag
from dockyard.search.listing import ListQuery, build_query
from dockyard.search.models import RepoSearchGram

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


def _filtered(session: Session, query: PageQuery, caller: Caller, *, matches: int | None = None) -> Select[Repo]:
    """The listing's statement for ``query``, planned for its use: ``matches`` None is a count
    (every match is visited), else a page of that many matches. The results are exactly those of
    :func:`dockyard.search.listing.build_query`; only the way there differs."""
    listing = query.listing()
    counting = matches is None
    statement = build_query(replace(listing, search=None, tags=[] if counting else listing.tags), caller)
    if counting:
        # A count starts from the repos holding each tag (the tag index), rather than testing
        # every repo of the type for them, as a page walking its sort index does.
        for tag in listing.tags:
            statement = statement.where(Repo.id.in_(select(RepoTag.repo_id).where(RepoTag.tag == tag)))
    if query.library:
        statement = statement.where(Repo.library_name == query.library)
    if listing.search:
        statement = _searched(session, statement, listing.search, matches)
    return statement


def list_page(session: Session, caller: Caller, query: PageQuery) -> Listing:
    """One page of results, with the number of results and the facets over them. The counts come
    first: how many repos match decides how the page's own query searches."""
    total, shown = summary(session, caller, query)
    statement = _filtered(session, query, caller, matches=total)
    repos = list(session.scalars(statement.offset(query.page * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return Listing(repos=repos[:PAGE_SIZE], total=total, facets=shown, has_next=len(repos) > PAGE_SIZE)


# -- search plan ---------------------------------------------------------------------------------------
# A search is a case-insensitive substring of the id (a LIKE, as the API's listing). The trigram
# index narrows it only when that is cheap: a query like "llama" has trigrams held by tens of
# thousands of repos, and intersecting those costs more than walking the sort index and testing
# each row until a page is full. The plan changes the cost, never the results: the LIKE decides.
SPARSE_GRAM_ROWS = 2_000  # a trigram held by at most this many repos narrows the search
DENSE_MATCHES = 2_000  # with at least this many matches, a page is found fastest along the sort index
GRAMS_PROBED = 8


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _gram_rows(session: Session, gram: str) -> int:
    """How many repos hold ``gram``, counted no further than just past :data:`SPARSE_GRAM_ROWS`."""
    held = select(RepoSearchGram.repo_id).where(RepoSearchGram.gram == gram).limit(SPARSE_GRAM_ROWS + 1)
    return int(session.scalar(select(func.count()).select_from(held.subquery())) or 0)


def _rarest_grams(session: Session, text: str) -> list[tuple[int, str]]:
    """A spread of ``text``'s trigrams (at most :data:`GRAMS_PROBED`), rarest first, with their
    (capped) number of repos."""
    ordered = list(dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2)))
    step = max(1.0, (len(ordered) - 1) / (GRAMS_PROBED - 1))
    probed = sorted(
        {ordered[min(len(ordered) - 1, round(i * step))] for i in range(GRAMS_PROBED)} if ordered else set()
    )
    return sorted((_gram_rows(session, gram), gram) for gram in probed)


def _searched(session: Session, statement: Select[Repo], search: str, matches: int | None) -> Select[Repo]:
    """``statement`` narrowed to ids containing ``search``. ``matches`` (the known number of
    results, when the counts came first) picks the sort-index walk for common searches."""
    text = search.lower()
    statement = statement.where(Repo.full_id_lower.like(f"%{_escape_like(text)}%", escape="\\"))
    if len(text) < 3 or (matches is not None and matches >= DENSE_MATCHES):
        return statement
    rarest = _rarest_grams(session, text)
    if not rarest:
        return statement
    if rarest[0][0] > SPARSE_GRAM_ROWS and matches is None:
        return statement  # counting: one pass over the rows beats intersecting long gram lists
    grams = [gram for _, gram in rarest[:2]]
    holders = (
        select(RepoSearchGram.repo_id)
        .where(RepoSearchGram.gram.in_(grams))
        .group_by(RepoSearchGram.repo_id)
        .having(func.count() == len(grams))
    )
    return statement.where(Repo.id.in_(holders))


# -- facet counts ------------------------------------------------------------------------------------
# The counts are the public repos' counts, shared by every viewer, plus the private repos this
# viewer may see, counted live (a small set: the hidden index below finds them). The public part
# is kept per filter and served for SUMMARY_TTL seconds; after that it is still served while one
# background thread recounts it (so a busy page never waits for a recount), which makes the counts
# of public repos up to about half a minute old: a new or retagged public repo shows in the counts
# after that, while the results themselves are always live.
#
# Privacy does not wait: every use first checks that no repo counted as public has since become
# private or disabled (the security epoch, and a fingerprint of the hidden repos with ids up to the
# newest id counted, read along ``ix_repos_hidden``); if one may have, they are recounted at once.
SUMMARY_TTL = 30.0
SUMMARY_ENTRIES = 512
ID_DRIVEN_MAX = 20_000  # up to this many repos, their tags are read through the primary key
ANONYMOUS = Caller()


@dataclass(frozen=True, slots=True)
class Counts:
    """Raw counts of a set of repos: every task, library and tag, uncut (so two disjoint sets
    add up exactly before the top values are chosen)."""

    total: int = 0
    tasks: Counter[str] = field(default_factory=Counter)
    libraries: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.total + other.total,
            self.tasks + other.tasks,
            self.libraries + other.libraries,
            self.tags + other.tags,
        )


@dataclass(frozen=True, slots=True)
class _Snapshot:
    counts: Counts
    fresh_until: float
    newest_id: int  # the newest repo id when counted: newer repos were not counted
    hidden: tuple[int, ...]  # :func:`_hidden` up to newest_id when counted
    epoch: str  # the security epoch when counted (bumped by every repo made private or moved)
    refreshing: bool = False


# Keyed by database too: several hubs may share a process (tests, the CLI).
_public: OrderedDict[tuple[str, PageQuery], _Snapshot] = OrderedDict()
_public_lock = threading.Lock()


def _hidden(session: Session, repo_type: RepoType, up_to: int | None) -> tuple[int, ...]:
    """Number and id sum of the type's private repos and of its disabled public ones (ids up to
    ``up_to``): any change to who is hidden changes this. Two seeks on ``ix_repos_hidden``."""
    found: list[int] = []
    for condition in (Repo.private.is_(True), and_(Repo.private.is_(False), Repo.disabled.is_(True))):
        statement = select(func.count(), func.coalesce(func.sum(Repo.id), 0)).where(
            Repo.type == repo_type.value, condition
        )
        if up_to is not None:
            statement = statement.where(Repo.id <= up_to)
        found += [int(value) for value in session.execute(statement).one()]
    return tuple(found)


def _count_public(session: Session, key: PageQuery) -> tuple[_Snapshot, bool]:
    """Fresh public counts of ``key``'s filter, and whether they may be kept: not when a repo
    was hidden or shown while counting (then what was counted as public is uncertain)."""
    epoch, before = read_epoch(session), _hidden(session, key.repo_type, None)
    counts = count_repos(session, _filtered(session, key, ANONYMOUS))
    newest = int(session.scalar(select(func.max(Repo.id))) or 0)
    hidden = _hidden(session, key.repo_type, newest)
    keep = _hidden(session, key.repo_type, None) == before and read_epoch(session) == epoch
    return _Snapshot(counts, time.monotonic() + SUMMARY_TTL, newest, hidden, epoch), keep


def _store(key: tuple[str, PageQuery], snapshot: _Snapshot) -> None:
    with _public_lock:
        _public[key] = snapshot
        _public.move_to_end(key)
        while len(_public) > SUMMARY_ENTRIES:
            _public.popitem(last=False)


def _recount_later(bind: Engine, key: tuple[str, PageQuery]) -> None:
    """Recount ``key`` in a background thread, once at a time per key; the stale counts are
    served meanwhile (their privacy was checked by the caller)."""
    with _public_lock:
        current = _public.get(key)
        if current is None or current.refreshing:
            return
        _public[key] = replace(current, refreshing=True)

    def recount() -> None:
        found: _Snapshot | None = None
        try:
            with Session(bind=bind) as session:
                snapshot, keep = _count_public(session, key[1])
                found = snapshot if keep else None
        finally:  # on failure the next request counts synchronously
            with _public_lock:
                _public.pop(key, None)
            if found is not None:
                _store(key, found)

    threading.Thread(target=recount, name="facet-recount", daemon=True).start()


def _still_private_safe(session: Session, cached: _Snapshot, repo_type: RepoType) -> bool:
    """No repo counted as public has been hidden since: the security epoch has not moved (every
    service that makes a repo private bumps it) and the hidden repos counted are the same (which
    also catches a change made straight in the database)."""
    return read_epoch(session) == cached.epoch and _hidden(session, repo_type, cached.newest_id) == cached.hidden


def public_counts(session: Session, query: PageQuery) -> Counts:
    """The counts of the public repos matching ``query``'s filter (any sort, any page)."""
    bind = session.get_bind()
    key = (str(bind.engine.url), replace(query, sort=DEFAULT_SORT, page=0))
    with _public_lock:
        cached = _public.get(key)
    if cached is not None and _still_private_safe(session, cached, query.repo_type):
        if cached.fresh_until > time.monotonic():
            return cached.counts
        if isinstance(bind, Engine):  # a connection cannot be shared with another thread
            _recount_later(bind, key)
            return cached.counts
    snapshot, keep = _count_public(session, key[1])
    if keep:
        _store(key, snapshot)
    return snapshot.counts


def summary(session: Session, caller: Caller, query: PageQuery) -> tuple[int, list[Facet]]:
    """(number of results, facets) for ``caller``: the public counts plus, for a signed-in
    caller, the private repos it may see, counted now."""
    counts = public_counts(session, query)
    if caller.user is not None:
        counts = counts + count_repos(session, _filtered(session, query, caller).where(Repo.private.is_(True)))
    return counts.total, facets_of(query, counts)


TagPlan = Literal["results", "complement", "walk"]


def count_repos(session: Session, statement: Select[Repo], *, tag_plan: TagPlan | None = None) -> Counts:
    """Tasks, libraries and tags of the repos ``statement`` selects. Tasks, libraries and the total
    come from one pass over the facets index; the tags from ``repo_tags`` by the cheapest of
    :func:`_tag_counts`'s plans (``tag_plan`` forces one)."""
    unordered = statement.order_by(None)
    pairs = session.execute(
        unordered.with_only_columns(Repo.pipeline_tag, Repo.library_name, func.count()).group_by(
            Repo.pipeline_tag, Repo.library_name
        )
    ).all()
    counts = Counts(total=sum(int(n) for _, _, n in pairs))
    for task, library, n in pairs:
        if task:
            counts.tasks[str(task)] += int(n)
        if library:
            counts.libraries[str(library)] += int(n)
    if counts.total:
        counts.tags.update(_tag_counts(session, unordered.with_only_columns(Repo.id), counts.total, tag_plan))
    return counts


def _tag_counts(session: Session, ids: Select[int], total: int, plan: TagPlan | None) -> Counter[str]:
    """Tags of the ``total`` repos ``ids`` selects. Few results: their tags through the primary
    key. Nearly every repo (the unfiltered list of a hub's main type): every tag, less those of
    the few other repos (foreign keys keep ``repo_tags`` free of orphans). Otherwise: walk the
    tag index and probe the ids."""
    if plan is None and total <= ID_DRIVEN_MAX:
        plan = "results"
    elif plan is None:
        everyone = int(session.scalar(select(func.count(Repo.id))) or 0)
        plan = "complement" if everyone - total <= ID_DRIVEN_MAX else "walk"
    if plan == "complement":
        every_tag = _grouped(session, None)
        others = select(Repo.id).where(Repo.id.not_in(ids))
        return every_tag - _grouped(session, RepoTag.repo_id.in_(others))
    # ``+ 0`` hides the primary key, so SQLite walks the tag index and probes the ids (a large set).
    holder = RepoTag.repo_id if plan == "results" else RepoTag.repo_id + 0
    return _grouped(session, holder.in_(ids))


def _grouped(session: Session, condition: ColumnElement[bool] | None) -> Counter[str]:
    statement = select(RepoTag.tag, func.count()).group_by(RepoTag.tag)
    if condition is not None:
        statement = statement.where(condition)
    return Counter({str(tag): int(n) for tag, n in session.execute(statement)})


def facets_of(query: PageQuery, counts: Counts) -> list[Facet]:
    """The facets shown: the top values of each, most common first; ``language:`` and ``license:``
    tags feed their own facets, and "other tags" are the plain tags no other facet shows."""
    by_prefix: dict[str, Counter[str]] = {key: Counter() for key in TAG_FACETS}
    plain: Counter[str] = Counter()
    for tag, n in counts.tags.items():
        for key, prefix in TAG_FACETS.items():
            if tag.startswith(prefix):
                by_prefix[key][tag.removeprefix(prefix)] += n
                break
        else:
            if ":" not in tag:
                plain[tag] = n
    known = set(counts.tasks) | set(counts.libraries) | set(by_prefix["language"])
    others = Counter({tag: n for tag, n in plain.items() if tag not in known})
    return [
        _facet("pipeline_tag", "Tasks", _top(counts.tasks), {query.pipeline_tag}),
        _facet("library", "Libraries", _top(counts.libraries), {query.library}),
        _facet("language", "Languages", _top(by_prefix["language"]), {query.language}),
        _facet("license", "Licenses", _top(by_prefix["license"]), {query.license}),
        _facet("other", "Other tags", _top(others), set(query.other)),
    ]


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_LIMIT]


def _facet(key: str, title: str, counts: list[tuple[str, int]], selected: set[str]) -> Facet:
    values = [FacetValue(value, count, value in selected) for value, count in counts]
    shown = {v.value for v in values}
    # A chosen value stays listed (to be removed) even when it fell out of the top counts.
    values += [FacetValue(value, 0, True) for value in sorted(selected - shown) if value]
    return Facet(key, title, values)
