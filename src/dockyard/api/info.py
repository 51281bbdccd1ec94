"""model_info / dataset_info / space_info and the listings, with Link-header pagination."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from dockyard.api.deps import caller_of, hub_of
from dockyard.api.pagination import next_link
from dockyard.api.repo_info import (
    DEFAULT_INFO,
    DEFAULT_LIST,
    FULL_LIST_EXTRA,
    InfoContext,
    check_expand,
    render,
)
from dockyard.api.routing import parse_bool, repo_ref, unquote_param
from dockyard.errors import BadRequestError
from dockyard.identifiers import RepoType
from dockyard.repos.models import RepoTag
from dockyard.repos.service import get_readable_repo
from dockyard.scanning import service as scanning
from dockyard.search.listing import MAX_LIMIT, ListQuery, list_repos

router = APIRouter()
PAGE_SIZE = 100
MAX_WARNING_HEADERS = 5


def _tags_of(session: Session, repo_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {repo_id: [] for repo_id in repo_ids}
    if repo_ids:
        rows = session.execute(
            select(RepoTag.repo_id, RepoTag.tag).where(RepoTag.repo_id.in_(repo_ids)).order_by(RepoTag.tag)
        )
        for repo_id, tag in rows:
            result[repo_id].append(tag)
    return result


def _expand_params(request: Request) -> list[str]:
    return request.query_params.getlist("expand") + request.query_params.getlist("expand[]")


def _repo_info(request: Request, repo_type: str, repo_id: str, revision: str | None) -> JSONResponse:
    """The info dict; metadata that could not be read is named in ``X-HF-Warning`` headers, which
    huggingface_hub logs (the repo itself stays readable whatever its card or headers hold)."""
    data, warnings = _info_and_warnings(request, repo_type, repo_id, revision)
    response = JSONResponse(data)
    for warning in warnings[:MAX_WARNING_HEADERS]:
        response.headers.append("X-HF-Warning", f"invalid-metadata; {_header_safe(warning)}")
    return response


def _header_safe(text: str) -> str:
    """One printable ASCII line (header values are latin-1, and a newline would split the header)."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:300]


def _info_and_warnings(
    request: Request, repo_type: str, repo_id: str, revision: str | None
) -> tuple[dict[str, Any], list[str]]:
    hub = hub_of(request)
    caller = caller_of(request)
    kind = RepoType.from_plural(repo_type)
    expand = _expand_params(request)
    check_expand(kind, expand)
    with_blobs = parse_bool(request.query_params.get("blobs", "false"), "blobs")
    with hub.db.read() as session:
        repo = get_readable_repo(session, caller, repo_ref(kind, repo_id))
        commit_id = None
        if revision is not None:
            commit_id = hub.git.open(repo.uid).resolve(revision).commit_id
        ctx = InfoContext(
            hub,
            repo,
            commit_id=commit_id,
            with_blobs=with_blobs,
            stored_tags=_tags_of(session, [repo.id])[repo.id],
        )
        data = render(ctx, expand or DEFAULT_INFO[kind])
        if parse_bool(request.query_params.get("securityStatus", "false"), "securityStatus") and ctx.commit_id:
            data["securityRepoStatus"] = scanning.repo_security_status(session, hub, repo, ctx.commit_id)
        return data, ctx.metadata_warnings


@router.get("/api/{repo_type:rtype}/{repo_id:repo}")
def repo_info(request: Request, repo_type: str, repo_id: str) -> JSONResponse:
    return _repo_info(request, repo_type, repo_id, None)


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/revision/{revision:path}")
def repo_info_at_revision(request: Request, repo_type: str, repo_id: str, revision: str) -> JSONResponse:
    return _repo_info(request, repo_type, repo_id, unquote_param(revision))


def _list_query(request: Request, kind: RepoType) -> ListQuery:
    params = request.query_params
    tags = [t for value in params.getlist("filter") for t in value.split(",") if t]
    for key in ("library", "language", "license"):
        for value in params.getlist(key):
            tags.append(value if key == "library" else f"{key}:{value}")
    if params.get("trained_dataset"):
        tags.append(f"dataset:{params['trained_dataset']}")
    try:
        limit = int(params["limit"]) if params.get("limit") else None
        offset = int(params.get("cursor", "0"))
    except ValueError:
        raise BadRequestError("limit and cursor must be integers") from None
    if (limit is not None and limit < 0) or offset < 0:
        raise BadRequestError("limit and cursor must not be negative")
    gated = params.get("gated")
    return ListQuery(
        repo_type=kind,
        search=params.get("search") or params.get("model_name") or params.get("dataset_name") or None,
        author=params.get("author") or None,
        tags=tags,
        pipeline_tag=params.get("pipeline_tag") or None,
        gated=parse_bool(gated, "gated") if gated is not None else None,
        sort=params.get("sort") or None,
        limit=limit,
        offset=offset,
    )


def _list_fields(request: Request, kind: RepoType) -> list[str]:
    expand = _expand_params(request)
    check_expand(kind, expand)
    if expand:
        return expand
    fields = list(DEFAULT_LIST[kind])
    params = request.query_params
    if parse_bool(params.get("full", "false"), "full"):
        fields += [f for f in FULL_LIST_EXTRA if f not in fields]
    if parse_bool(params.get("cardData", "false"), "cardData") and "cardData" not in fields:
        fields.append("cardData")
    if parse_bool(params.get("config", "false"), "config") and kind is RepoType.MODEL:
        fields.append("config")
    return fields


@router.get("/api/{repo_type:rtype}")
def list_repos_route(request: Request, repo_type: str) -> JSONResponse:
    hub = hub_of(request)
    caller = caller_of(request)
    kind = RepoType.from_plural(repo_type)
    query = _list_query(request, kind)
    fields = _list_fields(request, kind)
    page_size = min(query.limit or PAGE_SIZE, PAGE_SIZE, MAX_LIMIT)
    with hub.db.read() as session:
        repos = list_repos(session, caller, query, page_size=page_size + 1)
        has_more = len(repos) > page_size
        repos = repos[:page_size]
        tags = _tags_of(session, [r.id for r in repos])
        items = [
            render(InfoContext(hub, r, commit_id=None, with_blobs=False, stored_tags=tags[r.id]), fields) for r in repos
        ]
    headers = {}
    remaining = None if query.limit is None else query.limit - len(items)
    if has_more and (remaining is None or remaining > 0):
        headers["Link"] = next_link(request, query.offset + len(items), remaining=remaining)
    return JSONResponse(items, headers=headers)
