"""The Community tab: discussion and pull request lists, one discussion or PR with its comments
(and, for a PR, its files-changed diff and merge button), and the forms that act on them.

Every rule lives in :mod:`dockyard.discussions` (the API's own): these pages gather what to show
and what the viewer may do (to show only the buttons that would work); the POSTs call the same
actions, which refuse the rest (403) whatever the page showed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.auth import access
from dockyard.auth.access import Right
from dockyard.auth.identity import Caller
from dockyard.discussions import actions, events, merge, service
from dockyard.discussions.service import OPEN_STATUSES
from dockyard.discussions.threeway import conflicting_files, merge_base
from dockyard.errors import BadRequestError
from dockyard.hub import Hub
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.models import Discussion, Repo
from dockyard.request_context import hub_of
from dockyard.web import diffs
from dockyard.web.csrf import VerifiedForm
from dockyard.web.markdown import LinkBase, render_markdown
from dockyard.web.pages.history import git_of, kind_of, repo_routes
from dockyard.web.redirects import login_url, see_other
from dockyard.web.repo_pages import RepoPage, load_repo
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

_KINDS = {"all": "all", "discussion": "discussion", "pr": "pull_request", "pull_request": "pull_request"}
_STATUSES = ("open", "closed", "all")


# -- the list --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ListView:
    items: list[dict[str, Any]]
    count: int
    page: int
    has_next: bool
    status: str
    kind: str
    author: str


def _choice(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name) or default
    if value not in allowed:
        raise BadRequestError(f"'{name}' must be one of {', '.join(allowed)}")
    return value


def list_view(request: Request, page: RepoPage) -> ListView:
    raw_page = request.query_params.get("p", "0")
    if not raw_page.isdigit() or len(raw_page) > 6:
        raise BadRequestError("'p' must be a page number")
    status = _choice(request, "status", _STATUSES, "open")
    kind = _choice(request, "type", tuple(_KINDS), "all")
    author = (request.query_params.get("author") or "").strip()[:96]
    wanted = service.ListFilter(page=int(raw_page), kind=_KINDS[kind], status=status, author=author or None)
    with hub_of(request).db.read() as session:
        found = service.list_page(session, page.repo, wanted)
    has_next = found["start"] + len(found["discussions"]) < found["count"]
    return ListView(found["discussions"], found["count"], int(raw_page), has_next, status, kind, author)


@repo_routes(router, "/discussions")
def discussions_page(request: Request, repo_id: str) -> Response:
    page = load_repo(request, kind_of(request), repo_id, Right.SEE)
    view = list_view(request, page)
    return render(request, "community/list.html", page=page, tab="community", view=view)


# -- a new discussion ------------------------------------------------------------------------------
@repo_routes(router, "/discussions/new")
def new_discussion_page(request: Request, repo_id: str) -> Response:
    page = load_repo(request, kind_of(request), repo_id, Right.SEE)
    if not viewer_of(request).signed_in:
        return see_other(login_url(request.url.path))
    return render(request, "community/new.html", page=page, tab="community")


@repo_routes(router, "/discussions/new", methods=("POST",))
async def create_discussion(request: Request, repo_id: str, form: VerifiedForm) -> Response:
    page = await run_in_threadpool(load_repo, request, kind_of(request), repo_id, Right.SEE)
    title = service.validate_text(_field(form, "title"), "title", limit=service.MAX_TITLE).strip()
    description = service.validate_text(_field(form, "description"), "description", required=False)
    hub, caller = hub_of(request), viewer_of(request).caller
    num = await run_in_threadpool(service.create, hub, caller, page.repo, title, description, pull_request=False)
    return see_other(f"{page.url}/discussions/{num}")


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# -- one discussion or pull request ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Comment:
    """A comment event as shown: its HTML, and what the viewer may do with it."""

    id: str
    author: str
    created_at: str
    html: Any
    hidden: bool
    edited: bool
    raw: str
    may_edit: bool
    may_hide: bool


@dataclass(frozen=True, slots=True)
class DiscussionView:
    details: dict[str, Any]
    timeline: list[dict[str, Any]]
    comments: dict[str, Comment]
    may_take_part: bool
    may_moderate: bool
    may_change: bool  # rename, close and reopen: the author or a writer
    may_merge: bool
    comparison: diffs.Comparison | None
    conflicts: list[str]
    is_open: bool


def discussion_view(request: Request, page: RepoPage, num: int) -> DiscussionView:
    """What the page shows, read as :func:`dockyard.discussions.service.details` reads it (events
    rendered by the same function, hidden comments kept from non-moderators), but with the PR's
    diff built by the bounded renderer instead of the API's whole unified patch."""
    hub, caller = hub_of(request), viewer_of(request).caller
    with hub.db.read() as session:
        pull = service.get(session, page.repo, num)
        details = service.summary(page.repo, pull)
        writer = service.is_moderator(session, caller, page.repo)
        timeline = [events.render(event, moderator=writer) for event in events.events_of(session, pull)]
        may_take_part = caller.user is not None and page.may_download and access.may_propose(session, caller, page.repo)
        is_author = caller.user is not None and pull.author_id == caller.user.id
        base_ref = pull.base_ref or DEFAULT_REF
    details["changes"] = {"base": base_ref}
    moderator = may_take_part and writer
    links = LinkBase(page.url, DEFAULT_BRANCH)
    name = caller.user.name if caller.user else None
    comments = {
        event["id"]: _comment(event, links, caller_name=name, may_take_part=may_take_part, moderator=moderator)
        for event in timeline
        if event["type"] == events.COMMENT
    }
    is_open = pull.status in OPEN_STATUSES
    comparison, conflicts = _pull_changes(request, page, pull, is_open) if pull.is_pull_request else (None, [])
    return DiscussionView(
        details=details,
        timeline=timeline,
        comments=comments,
        may_take_part=may_take_part,
        may_moderate=moderator,
        may_change=may_take_part and (is_author or moderator),
        may_merge=moderator and pull.is_pull_request and is_open,
        comparison=comparison,
        conflicts=conflicts,
        is_open=is_open,
    )


def _comment(
    event: dict[str, Any], links: LinkBase, *, caller_name: str | None, may_take_part: bool, moderator: bool
) -> Comment:
    data = event["data"]
    raw = data["latest"].get("raw", "")
    hidden = bool(data.get("hidden"))
    mine = caller_name is not None and event["author"]["name"] == caller_name
    return Comment(
        id=event["id"],
        author=event["author"]["name"],
        created_at=event["createdAt"],
        html=render_markdown(raw, links=links) if raw else "",
        hidden=hidden,
        edited=bool(data.get("edited")),
        raw=raw,
        may_edit=may_take_part and mine and not hidden,
        may_hide=moderator and not hidden,
    )


def _pull_changes(
    request: Request, page: RepoPage, pull: Discussion, is_open: bool
) -> tuple[diffs.Comparison | None, list[str]]:
    """The PR's files changed (its head against the merge base with its target: what merging
    brings), only for those who may download the repo's content; and, while it is open, the
    files that conflict with its target."""
    git = git_of(request, page)
    base, head = service.pull_base_and_head(git, pull)
    if base is None or head is None:
        return None, []
    conflicts = conflicting_files(git, base, head) if is_open else []
    if not page.may_download:
        return None, conflicts
    return diffs.compare(hub_of(request), git, merge_base(git, base, head), head), conflicts


@repo_routes(router, "/discussions/{num:int}")
def discussion_page(request: Request, repo_id: str, num: int) -> Response:
    page = load_repo(request, kind_of(request), repo_id, Right.SEE)
    view = discussion_view(request, page, num)
    return render(request, "community/discussion.html", page=page, tab="community", view=view)


# -- acting on one ---------------------------------------------------------------------------------
async def _act(request: Request, repo_id: str, num: int, work: Callable[[Hub, Caller, Repo], object]) -> Response:
    """Load the repo (404 when invisible), run ``work(hub, caller, repo)`` off the event loop,
    and go back to the discussion (POST-redirect-GET)."""
    page = await run_in_threadpool(load_repo, request, kind_of(request), repo_id, Right.SEE)
    hub, caller = hub_of(request), viewer_of(request).caller
    await run_in_threadpool(work, hub, caller, page.repo)
    return see_other(f"{page.url}/discussions/{num}")


@repo_routes(router, "/discussions/{num:int}/comment", methods=("POST",))
async def post_comment(request: Request, repo_id: str, num: int, form: VerifiedForm) -> Response:
    text = service.validate_text(_field(form, "comment"), "comment")
    return await _act(request, repo_id, num, lambda hub, caller, repo: actions.comment(hub, caller, repo, num, text))


@repo_routes(router, "/discussions/{num:int}/title", methods=("POST",))
async def post_title(request: Request, repo_id: str, num: int, form: VerifiedForm) -> Response:
    title = service.validate_text(_field(form, "title"), "title", limit=service.MAX_TITLE).strip()
    return await _act(request, repo_id, num, lambda hub, caller, repo: actions.rename(hub, caller, repo, num, title))


@repo_routes(router, "/discussions/{num:int}/status", methods=("POST",))
async def post_status(request: Request, repo_id: str, num: int, form: VerifiedForm) -> Response:
    status = _field(form, "status")
    if status not in ("open", "closed"):
        raise BadRequestError("'status' must be 'open' or 'closed'")
    text = service.validate_text(_field(form, "comment") or "", "comment", required=False)
    return await _act(
        request, repo_id, num, lambda hub, caller, repo: actions.change_status(hub, caller, repo, num, status, text)
    )


@repo_routes(router, "/discussions/{num:int}/merge", methods=("POST",))
async def post_merge(request: Request, repo_id: str, num: int, form: VerifiedForm) -> Response:
    text = service.validate_text(_field(form, "comment") or "", "comment", required=False)
    return await _act(
        request, repo_id, num, lambda hub, caller, repo: merge.merge_pull_request(hub, caller, repo, num, text)
    )


@repo_routes(router, "/discussions/{num:int}/comment/{comment_id}/edit", methods=("POST",))
async def post_edit(request: Request, repo_id: str, num: int, comment_id: str, form: VerifiedForm) -> Response:
    text = service.validate_text(_field(form, "content"), "content")
    return await _act(
        request, repo_id, num, lambda hub, caller, repo: actions.edit_comment(hub, caller, repo, num, comment_id, text)
    )


@repo_routes(router, "/discussions/{num:int}/comment/{comment_id}/hide", methods=("POST",))
async def post_hide(request: Request, repo_id: str, num: int, comment_id: str, form: VerifiedForm) -> Response:
    return await _act(
        request, repo_id, num, lambda hub, caller, repo: actions.hide_comment(hub, caller, repo, num, comment_id)
    )
