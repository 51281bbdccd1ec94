"""Discussions and pull requests: ``/api/{type}s/{id}/discussions[/{num}[/action]]``.

Routes parse and validate; :mod:`dockyard.discussions` holds the rules. Bodies are small JSON
objects, read with a limit and parsed off the event loop; every action answers with its event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from dockyard.api.deps import RepoToSee, caller_of, hub_of
from dockyard.api.routing import parse_bool
from dockyard.discussions import actions, merge, service
from dockyard.errors import BadRequestError
from dockyard.request_bodies import parse_json as parse_json_body
from dockyard.request_bodies import read_limited

router = APIRouter()
_BODY_LIMIT = 1024 * 1024
_PREFIX = "/api/{repo_type:rtype}/{repo_id:repo}/discussions"


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent (an empty body is ``{}``: merge and hide may send none)."""
    raw = await read_limited(request, _BODY_LIMIT)
    if not raw.strip():
        return {}
    body = await run_in_threadpool(parse_json_body, raw)
    if not isinstance(body, dict):
        raise BadRequestError("The body must be a JSON object")
    return body


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str:
    value = request.query_params.get(name) or "all"
    if value not in allowed:
        raise BadRequestError(f"'{name}' must be one of {', '.join(allowed)}")
    return value


@router.get(_PREFIX)
def list_discussions(request: Request, repo: RepoToSee) -> dict[str, Any]:
    page = request.query_params.get("p", "0")
    if not page.isdigit() or len(page) > 6:
        raise BadRequestError("'p' must be a page number")
    wanted = service.ListFilter(
        page=int(page),
        kind=_choice(request, "type", ("all", "discussion", "pull_request")),
        status=_choice(request, "status", ("all", "open", "closed")),
        author=request.query_params.get("author") or None,
    )
    with hub_of(request).db.read() as session:
        return service.list_page(session, repo, wanted)


@router.post(_PREFIX)
async def create_discussion(request: Request, repo: RepoToSee) -> dict[str, Any]:
    body = await _body(request)
    title = service.validate_text(body.get("title"), "title", limit=service.MAX_TITLE).strip()
    description = service.validate_text(body.get("description"), "description", required=False)
    pull_request = parse_bool(body.get("pullRequest", False), "pullRequest")
    hub, caller = hub_of(request), caller_of(request)
    num = await run_in_threadpool(service.create, hub, caller, repo, title, description, pull_request=pull_request)
    return {"num": num, "url": {"web": f"/{repo.full_id}/discussions/{num}"}}


@router.get(_PREFIX + "/{num:int}")
def discussion_details(request: Request, repo: RepoToSee, num: int) -> dict[str, Any]:
    with_diff = parse_bool(request.query_params.get("diff", "0"), "diff")
    return service.details(hub_of(request), caller_of(request), repo, num, with_diff=with_diff)


async def _act(request: Request, action: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    return await run_in_threadpool(action, hub_of(request), caller_of(request), *args)


@router.post(_PREFIX + "/{num:int}/comment")
async def comment(request: Request, repo: RepoToSee, num: int) -> dict[str, Any]:
    text = service.validate_text((await _body(request)).get("comment"), "comment")
    return {"newMessage": await _act(request, actions.comment, repo, num, text)}


@router.post(_PREFIX + "/{num:int}/title")
async def title(request: Request, repo: RepoToSee, num: int) -> dict[str, Any]:
    new_title = service.validate_text((await _body(request)).get("title"), "title", limit=service.MAX_TITLE)
    return {"newTitle": await _act(request, actions.rename, repo, num, new_title.strip())}


@router.post(_PREFIX + "/{num:int}/status")
async def status(request: Request, repo: RepoToSee, num: int) -> dict[str, Any]:
    body = await _body(request)
    new_status = body.get("status")
    if new_status not in ("open", "closed"):
        raise BadRequestError("'status' must be 'open' or 'closed'")
    text = service.validate_text(body.get("comment"), "comment", required=False)
    return {"newStatus": await _act(request, actions.change_status, repo, num, new_status, text)}


@router.post(_PREFIX + "/{num:int}/merge")
async def merge_pull_request(request: Request, repo: RepoToSee, num: int) -> dict[str, Any]:
    text = service.validate_text((await _body(request)).get("comment"), "comment", required=False)
    commit_id = await run_in_threadpool(merge.merge_pull_request, hub_of(request), caller_of(request), repo, num, text)
    return {"mergeCommitId": commit_id}


@router.post(_PREFIX + "/{num:int}/comment/{comment_id}/edit")
async def edit_comment(request: Request, repo: RepoToSee, num: int, comment_id: str) -> dict[str, Any]:
    text = service.validate_text((await _body(request)).get("content"), "content")
    return {"updatedComment": await _act(request, actions.edit_comment, repo, num, comment_id, text)}


@router.post(_PREFIX + "/{num:int}/comment/{comment_id}/hide")
async def hide_comment(request: Request, repo: RepoToSee, num: int, comment_id: str) -> dict[str, Any]:
    await _body(request)
    return {"updatedComment": await _act(request, actions.hide_comment, repo, num, comment_id)}
