"""model_info / dataset_info / space_info and the listings, with Link-header pagination.

Repo info is the second hottest read (every ``from_pretrained`` with a branch name, every
``model_info``). Its two routes are plain Starlette routes, tried by
:class:`~dockyard.api.hot_routes.HotRoutesMiddleware` before the router's scan (unless an earlier
route would take the path), and their answer is served from :mod:`dockyard.repos.info_cache` while
the repo's row, tags and the asked commit are unchanged: on the event loop when it is cached,
otherwise in a thread of their own executor (:mod:`dockyard.api.hot_work`). The access decision
comes from :func:`~dockyard.api.resolve_access.grant_see` (cached for the security epoch).
``securityStatus=true`` (scan results live in other tables) always renders.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from dockyard.api.deps import caller_of, hub_of
from dockyard.api.hot_work import run_hot
from dockyard.api.pagination import next_link
from dockyard.api.repo_info import (
    DEFAULT_INFO,
    DEFAULT_LIST,
    FULL_LIST_EXTRA,
    InfoContext,
    check_expand,
    render,
)
from dockyard.api.resolve_access import grant_see
from dockyard.api.routing import parse_bool, repo_ref, unquote_param
from dockyard.auth.identity import token_from_authorization
from dockyard.errors import BadRequestError, WouldBlockError
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.info_cache import InfoAnswer, read_repo_row
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


def _repo_info(
    request: Request, hub: Hub, repo_type: str, repo_id: str, revision: str | None, *, cached_only: bool = False
) -> Response:
    """The info dict; metadata that could not be read is named in ``X-HF-Warning`` headers, which
    huggingface_hub logs (the repo itself stays readable whatever its card or headers hold).
    ``cached_only``: on the event loop, a cached answer or WouldBlockError (see hot_work)."""
    token_from_authorization(request.headers.get("authorization"))  # a malformed header: 401 first, as before
    kind = RepoType.from_plural(repo_type)
    expand = _expand_params(request)
    check_expand(kind, expand)
    with_blobs = parse_bool(request.query_params.get("blobs", "false"), "blobs")
    answer = _cached_answer(request, hub, kind, repo_id, revision, expand, with_blobs, cached_only=cached_only)
    response = Response(answer.body, media_type="application/json")
    for warning in answer.warnings[:MAX_WARNING_HEADERS]:
        response.headers.append("X-HF-Warning", f"invalid-metadata; {_header_safe(warning)}")
    return response


def _cached_answer(
    request: Request,
    hub: Hub,
    kind: RepoType,
    repo_id: str,
    revision: str | None,
    expand: list[str],
    with_blobs: bool,
    *,
    cached_only: bool,
) -> InfoAnswer:
    """From the per-process cache while the repo's row, tags and commit are those it was rendered
    from (see :mod:`dockyard.repos.info_cache`); rendered from that very row otherwise."""
    grant = grant_see(request, hub, kind, repo_id, cached_only=cached_only)  # refusals: the full checks
    security = parse_bool(request.query_params.get("securityStatus", "false"), "securityStatus")
    if cached_only and security:
        raise WouldBlockError("scan state is rendered by the full path")
    row = read_repo_row(hub.db, grant.repo_pk, wait=not cached_only)
    if cached_only and row is None:
        raise WouldBlockError("deleted meanwhile: the full path's 404")
    if security or row is None:  # scan state lives elsewhere; a repo deleted meanwhile: the full path's 404
        data, warnings = _info_and_warnings(request, kind.plural, repo_id, revision)
        return InfoAnswer(bytes(JSONResponse(data).body), tuple(warnings))
    git = hub.git.open(grant.uid, exists=cached_only)  # on the loop: a grant of this very epoch
    commit_id = git.resolve(revision, walk=not cached_only).commit_id if revision is not None else None
    head = (git.ref_target(DEFAULT_REF) or "") if revision is None else None
    slot = (grant.repo_pk, revision is not None, commit_id or head, tuple(expand), with_blobs)
    answer = hub.info_answers.get(slot, row.version)
    if answer is None and cached_only:
        raise WouldBlockError("info answer not cached")
    if answer is None:
        ctx = InfoContext(
            hub, row.repo(hub.db), commit_id=commit_id, with_blobs=with_blobs, stored_tags=row.tags, head=head
        )
        data = render(ctx, expand or DEFAULT_INFO[kind])
        answer = InfoAnswer(bytes(JSONResponse(data).body), tuple(ctx.metadata_warnings))
        hub.info_answers.put(slot, row.version, answer)
    return answer


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


#: Threads for the info answers that cannot come from the event loop (see hot_work): a plain
#: executor hand-off, as for /resolve; few threads, as for /resolve (more only contend for the GIL).
_INFO_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="info")


async def repo_info(request: Request) -> Response:
    params = request.path_params
    revision = params.get("revision")
    hub = hub_of(request)
    work = partial(
        _repo_info,
        request,
        hub,
        params["repo_type"],
        params["repo_id"],
        unquote_param(revision) if revision is not None else None,
    )
    return await run_hot(hub, _INFO_THREADS, work)


# Plain Starlette routes (also answering HEAD, as Starlette's GET routes do), without FastAPI's
# dependency injection: see the module docstring. The app's HotRoutesMiddleware tries these first.
router.add_route("/api/{repo_type:rtype}/{repo_id:repo}", repo_info, methods=["GET"], include_in_schema=False)
router.add_route(
    "/api/{repo_type:rtype}/{repo_id:repo}/revision/{revision:path}",
    repo_info,
    methods=["GET"],
    include_in_schema=False,
)
HOT_ROUTES = tuple(router.routes)  # the two above (the listing below is not hot)


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
