"""Inside a repo: tree listings, paths-info, refs, commit history and diffs."""

from __future__ import annotations

from itertools import islice
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse

from dockyard.api.deps import RepoToDownload, caller_of, hub_of
from dockyard.api.pagination import next_link
from dockyard.api.routing import parse_bool, repo_ref, unquote_param
from dockyard.api.serialize import iso, tree_entry
from dockyard.errors import BadRequestError
from dockyard.identifiers import validate_repo_path
from dockyard.lfs.models import LfsObject
from dockyard.repos.git_repo import (
    BRANCH_PREFIX,
    CONVERT_PREFIX,
    PR_PREFIX,
    TAG_PREFIX,
    Entry,
    FileEntry,
    GitRepo,
)
from dockyard.repos.models import Repo
from dockyard.repos.service import get_readable_repo
from dockyard.request_bodies import json_body, read_form
from dockyard.scanning import service as scanning

router = APIRouter()
TREE_PAGE = 1000
COMMITS_PAGE = 50


def _open(request: Request, repo_type: str, repo_id: str) -> tuple[Repo, GitRepo]:
    hub = hub_of(request)
    with hub.db.read() as session:
        repo = get_readable_repo(session, caller_of(request), repo_ref(repo_type, repo_id))
    return repo, hub.git.open(repo.uid)


def _cursor(request: Request) -> int:
    try:
        value = int(request.query_params.get("cursor", "0"))
    except ValueError:
        raise BadRequestError("cursor must be an integer") from None
    if value < 0:
        raise BadRequestError("cursor must not be negative")
    return value


def _xet_hashes(request: Request, entries: list[Entry]) -> dict[str, str]:
    oids = [e.lfs.oid for e in entries if isinstance(e, FileEntry) and e.lfs is not None]
    if not oids:
        return {}
    with hub_of(request).db.read() as session:
        rows = session.execute(
            select(LfsObject.oid, LfsObject.xet_hash).where(LfsObject.oid.in_(oids), LfsObject.xet_hash.is_not(None))
        )
        return {oid: xet for oid, xet in rows if xet is not None}  # the query already excludes None


def _render_entries(
    request: Request, git: GitRepo, commit_id: str, entries: list[Entry], expand: bool
) -> list[dict[str, Any]]:
    last = git.last_commits(commit_id, [e.path for e in entries]) if expand else {}
    xet = _xet_hashes(request, entries)
    security: dict[str, dict[str, Any]] = {}
    if expand:
        with hub_of(request).db.read() as session:
            security = scanning.file_statuses(session, entries)
    return [
        tree_entry(
            e,
            last_commit=last.get(e.path),
            xet_hash=xet.get(e.lfs.oid) if isinstance(e, FileEntry) and e.lfs else None,
            security=security.get(e.path),
        )
        for e in entries
    ]


def _tree(request: Request, repo_type: str, repo_id: str, revision: str, path: str) -> JSONResponse:
    _repo, git = _open(request, repo_type, repo_id)
    revision = unquote_param(revision)
    path = unquote_param(path).strip("/")
    if path:
        validate_repo_path(path)
    commit_id = git.resolve(revision).commit_id
    recursive = parse_bool(request.query_params.get("recursive", "false"), "recursive")
    expand = parse_bool(request.query_params.get("expand", "false"), "expand")
    cursor = _cursor(request)
    page_size = 50 if expand else TREE_PAGE
    listing = git.list_tree(commit_id, path, recursive=recursive)
    entries = list(islice(listing, cursor, cursor + page_size + 1))
    headers = {"X-Repo-Commit": commit_id}
    if len(entries) > page_size:
        entries = entries[:page_size]
        headers["Link"] = next_link(request, cursor + page_size)
    return JSONResponse(_render_entries(request, git, commit_id, entries, expand), headers=headers)


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/tree/{revision}")
def tree_root(request: Request, repo_type: str, repo_id: str, revision: str) -> JSONResponse:
    return _tree(request, repo_type, repo_id, revision, "")


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/tree/{revision}/{path:path}")
def tree_path(request: Request, repo_type: str, repo_id: str, revision: str, path: str) -> JSONResponse:
    return _tree(request, repo_type, repo_id, revision, path)


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/paths-info/{revision:path}")
async def paths_info(request: Request, repo_type: str, repo_id: str, revision: str) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    limit = hub_of(request).settings.max_query_body  # anyone may ask about a public repo: a small body
    if content_type.startswith("application/json"):
        body = await json_body(request, limit)
        paths = body.get("paths", []) if isinstance(body, dict) else []
        expand = bool(body.get("expand", False)) if isinstance(body, dict) else False
    else:
        form = await read_form(request, limit)
        paths = [str(p) for p in form.getlist("paths")]
        expand = parse_bool(form.get("expand", "false"), "expand")
    if not isinstance(paths, list) or len(paths) > 10_000:
        raise BadRequestError("paths must be a list of at most 10000 paths")
    return await run_in_threadpool(_paths_info, request, repo_type, repo_id, revision, paths, expand)


def _paths_info(
    request: Request, repo_type: str, repo_id: str, revision: str, paths: list[str], expand: bool
) -> JSONResponse:
    _, git = _open(request, repo_type, repo_id)
    commit_id = git.resolve(unquote_param(revision)).commit_id
    entries = []
    for path in paths:
        clean = str(path).strip("/")
        entry = git.entry(commit_id, validate_repo_path(clean)) if clean else None
        if entry is not None:
            entries.append(entry)
    return JSONResponse(_render_entries(request, git, commit_id, entries, expand))


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/refs")
def list_refs(request: Request, repo_type: str, repo_id: str) -> dict[str, Any]:
    _repo, git = _open(request, repo_type, repo_id)

    def refs(prefix: str) -> list[dict[str, str]]:
        return [{"name": r.name, "ref": r.ref, "targetCommit": r.target} for r in git.refs(prefix)]

    data: dict[str, Any] = {
        "branches": refs(BRANCH_PREFIX),
        "converts": refs(CONVERT_PREFIX),
        "tags": refs(TAG_PREFIX),
    }
    if parse_bool(request.query_params.get("include_prs", "false"), "include_prs"):
        data["pullRequests"] = [{"name": r.name, "ref": r.ref, "targetCommit": r.target} for r in git.refs(PR_PREFIX)]
    return data


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/commits/{revision:path}")
def list_commits(request: Request, repo_type: str, repo_id: str, revision: str) -> JSONResponse:
    _, git = _open(request, repo_type, repo_id)
    commit_id = git.resolve(unquote_param(revision)).commit_id
    cursor = _cursor(request)
    formatted = bool(request.query_params.getlist("expand[]") or request.query_params.getlist("expand"))
    commits = list(islice(git.log(commit_id), cursor, cursor + COMMITS_PAGE + 1))
    headers = {}
    if len(commits) > COMMITS_PAGE:
        commits = commits[:COMMITS_PAGE]
        headers["Link"] = next_link(request, cursor + COMMITS_PAGE)
    items = []
    for commit in commits:
        item: dict[str, Any] = {
            "id": commit.id,
            "authors": [{"user": commit.author_name, "avatar": None}],
            "date": iso(commit.date),
            "title": commit.title,
            "message": commit.message,
        }
        if formatted:
            item["formatted"] = {"title": commit.title, "message": commit.message}
        items.append(item)
    return JSONResponse(items, headers=headers)


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/compare/{spec:path}")
def compare(request: Request, repo: RepoToDownload, spec: str) -> PlainTextResponse:
    """A unified git diff between two revisions (``a..b``) or a commit and its parent: file
    contents, so it needs the download right (a gated repo's metadata alone is not enough)."""
    git = hub_of(request).git.open(repo.uid)
    spec = unquote_param(spec)
    if ".." in spec:
        old_rev, new_rev = spec.split("..", 1)
        old = git.resolve(old_rev).commit_id
    else:
        new_rev, old = spec, None
    new = git.resolve(new_rev).commit_id
    if old is None:
        parents = git.commit_summary(new).parents
        old = parents[0] if parents else None
    return PlainTextResponse(git.diff(old, new))
