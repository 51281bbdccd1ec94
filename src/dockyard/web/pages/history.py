"""A repo's history: the commit list per revision (and per file), one commit with its diff, and
the comparison of any two revisions (``/{repo}/compare/{a}...{b}``).

The list shows titles and authors to whoever may see the repo; a diff shows file content, so the
commit and compare pages need the download right (a gated repo's history is public, its diffs
are not)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import quote

import pygit2
from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.auth.access import Right
from dockyard.errors import BadRequestError, RevisionNotFoundError
from dockyard.identifiers import RepoType
from dockyard.repos.git_repo import CommitSummary, GitRepo, Revision
from dockyard.request_context import hub_of
from dockyard.web import diffs
from dockyard.web.redirects import see_other
from dockyard.web.repo_pages import RepoPage, load_repo, repo_path_prefixes
from dockyard.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MAX_PAGE = 10_000
MAX_FILE_HISTORY_WALK = 5_000  # commits looked at for one file's history page
_MAX_REV_SEGMENTS = 6
Handler = TypeVar("Handler", bound=Callable[..., Any])


def repo_routes(on: APIRouter, suffix: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Handler], Handler]:
    """Register a page on ``on`` under every repo type's prefix (``/datasets/{id}...`` before
    ``/{id}...``); the handler learns the type from :func:`kind_of`."""

    def register(handler: Handler) -> Handler:
        for _kind, prefix in repo_path_prefixes():
            on.add_api_route(prefix + "/{repo_id:repo}" + suffix, handler, methods=list(methods))
        return handler

    return register


def kind_of(request: Request) -> RepoType:
    """The repo type named by the matched route's prefix."""
    route_path: str = getattr(request.scope.get("route"), "path", "")
    for kind, prefix in repo_path_prefixes():
        if route_path.startswith(prefix + "/{repo_id"):
            return kind
    return RepoType.MODEL


def git_of(request: Request, page: RepoPage) -> GitRepo:
    return hub_of(request).git.open(page.repo.uid)


def split_revision(git: GitRepo, rest: str) -> tuple[str, Revision, str]:
    """``main/path/in/repo`` -> ("main", its revision, "path/in/repo"): the shortest leading run of
    segments that names a revision (``refs/pr/1`` takes three), the rest is a path."""
    segments = [s for s in rest.split("/") if s]
    for count in range(1, min(len(segments), _MAX_REV_SEGMENTS) + 1):
        name = "/".join(segments[:count])
        try:
            return name, git.resolve(name), "/".join(segments[count:])
        except RevisionNotFoundError:
            continue
    raise RevisionNotFoundError(f"Invalid rev id: {segments[0] if segments else rest}")


def page_number(request: Request) -> int:
    raw = request.query_params.get("p", "0")
    if not raw.isdigit() or int(raw) > MAX_PAGE:
        raise BadRequestError("'p' must be a page number")
    return int(raw)


# -- the commit list ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HistoryView:
    revision: str
    path: str
    commits: list[CommitSummary]
    page: int
    has_next: bool
    branches: list[str]


def _touching(git: GitRepo, commit_id: str, path: str) -> Iterator[CommitSummary]:
    """Commits that changed ``path`` (its entry differs from every parent's), newest first."""
    walker = git.raw.walk(pygit2.Oid(hex=commit_id), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
    for commit in islice(walker, MAX_FILE_HISTORY_WALK):
        current = _entry_id(commit.tree, path)
        parents = [_entry_id(parent.tree, path) for parent in commit.parents]
        if (not parents and current is not None) or (parents and all(p != current for p in parents)):
            yield git.commit_summary(str(commit.id))


def _entry_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


def history_view(git: GitRepo, rest: str, page: int) -> HistoryView:
    name, revision, path = split_revision(git, rest)
    source = _touching(git, revision.commit_id, path) if path else git.log(revision.commit_id)
    start = page * PAGE_SIZE
    commits = list(islice(source, start, start + PAGE_SIZE + 1))
    branches = [ref.name for ref in git.refs("refs/heads/")]
    return HistoryView(name, path, commits[:PAGE_SIZE], page, len(commits) > PAGE_SIZE, branches)


@repo_routes(router, "/commits/{rest:path}")
def commits_page(request: Request, repo_id: str, rest: str) -> Response:
    page = load_repo(request, kind_of(request), repo_id, Right.SEE)
    view = history_view(git_of(request, page), rest, page_number(request))
    return render(request, "history/commits.html", page=page, tab="files", view=view, quote=quote)


# -- one commit, and comparisons -----------------------------------------------------------------
@repo_routes(router, "/commit/{sha}")
def commit_page(request: Request, repo_id: str, sha: str) -> Response:
    page = load_repo(request, kind_of(request), repo_id, Right.DOWNLOAD)
    git = git_of(request, page)
    commit = git.commit_summary(git.resolve(sha).commit_id)
    parent = commit.parents[0] if commit.parents else None
    comparison = diffs.compare(hub_of(request), git, parent, commit.id)
    return render(request, "history/commit.html", page=page, tab="files", commit=commit, comparison=comparison)


@repo_routes(router, "/compare")
def compare_form(request: Request, repo_id: str) -> Response:
    """The compare form (GET ``?base=&head=``) lands on the canonical ``compare/{a}...{b}`` URL."""
    page = load_repo(request, kind_of(request), repo_id, Right.SEE)
    base = request.query_params.get("base", "").strip()
    head = request.query_params.get("head", "").strip()
    if not base or not head:
        raise BadRequestError("Name two revisions to compare: a base and a head")
    return see_other(compare_url(page.url, base, head))


def compare_url(repo_url: str, base: str, head: str) -> str:
    return f"{repo_url}/compare/{quote(base, safe='')}...{quote(head, safe='')}"


@repo_routes(router, "/compare/{spec:path}")
def compare_page(request: Request, repo_id: str, spec: str) -> Response:
    page = load_repo(request, kind_of(request), repo_id, Right.DOWNLOAD)
    base, separator, head = spec.partition("...")
    if not separator or not base or not head:
        raise BadRequestError("Compare two revisions as compare/{base}...{head}")
    git = git_of(request, page)
    old, new = git.resolve(base), git.resolve(head)
    comparison = diffs.compare(hub_of(request), git, old.commit_id, new.commit_id)
    return render(
        request,
        "history/compare.html",
        page=page,
        tab="files",
        comparison=comparison,
        base=base,
        head=head,
        old=old.commit_id,
        new=new.commit_id,
    )
