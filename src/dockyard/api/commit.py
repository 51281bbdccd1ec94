"""preupload and the NDJSON commit endpoint."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from dockyard.api.deps import base_url, caller_of, hub_of
from dockyard.api.routing import parse_bool, repo_ref, unquote_param
from dockyard.auth import access, permissions
from dockyard.auth.identity import Caller
from dockyard.errors import AuthenticationRequiredError, BadRequestError, ForbiddenError
from dockyard.hub import Hub
from dockyard.identifiers import RepoType, validate_repo_path
from dockyard.lfs.placement import goes_to_lfs
from dockyard.lfs.pointer import is_sha256
from dockyard.repos.commits import (
    AddFile,
    AddLfsFile,
    CommitRequest,
    DeleteFile,
    Operation,
    RemoveFolder,
    create_commit,
    ensure_may_update_pull_request,
)
from dockyard.repos.git_repo import PR_PREFIX, FileEntry, GitRepo
from dockyard.repos.gitignore import MAX_GITIGNORE_CHARS, ignore_rule
from dockyard.repos.models import Repo
from dockyard.repos.service import get_readable_repo
from dockyard.request_bodies import json_body, read_limited

router = APIRouter()
MAX_PREUPLOAD_FILES = 1000


def authorize_commit(hub: Hub, caller: Caller, repo_type: str, repo_id: str, revision: str, create_pr: bool) -> Repo:
    """Writers commit anywhere; any reader with a write token may open a pull request, and only its
    author (or a writer) may add commits to it while it is open."""
    with hub.db.read() as session:
        repo = get_readable_repo(session, caller, repo_ref(repo_type, repo_id))
        if create_pr or revision.startswith(PR_PREFIX):
            if caller.user is None:
                raise AuthenticationRequiredError("You must be authenticated to open a pull request")
            if not access.may_propose(session, caller, repo):
                raise ForbiddenError(f"This token cannot open or update pull requests on {repo.full_id}")
            if not create_pr:
                may_write = permissions.can_write(session, caller, repo)
                ensure_may_update_pull_request(session, repo, revision, may_write=may_write, user_id=caller.user.id)
        else:
            permissions.ensure_write(session, caller, repo)
    return repo


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/preupload/{revision:path}")
async def preupload(request: Request, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
    body = await json_body(request, 16 * 1024 * 1024)
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, list) or len(files) > MAX_PREUPLOAD_FILES:
        raise BadRequestError(f"'files' must be a list of at most {MAX_PREUPLOAD_FILES} entries")
    rules = body.get("gitIgnore")
    if rules is not None and not isinstance(rules, str):
        raise BadRequestError("'gitIgnore' must be the text of a .gitignore file")
    return await run_in_threadpool(_preupload, request, repo_type, repo_id, unquote_param(revision), files, rules)


def _preupload(
    request: Request, repo_type: str, repo_id: str, revision: str, files: list[Any], rules: str | None
) -> dict[str, Any]:
    """Upload mode, remote oid and ``shouldIgnore`` per path; the ignore rules are the payload's
    ``gitIgnore`` when sent, otherwise the revision's own ``.gitignore``."""
    hub = hub_of(request)
    create_pr = parse_bool(request.query_params.get("create_pr", "false"), "create_pr")
    repo = authorize_commit(hub, caller_of(request), repo_type, repo_id, revision, create_pr)
    git = hub.git.open(repo.uid)
    head = git.resolve(revision).commit_id
    ignored = ignore_rule(rules if rules is not None else _revision_gitignore(git, head))
    result = []
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise BadRequestError("Each file needs a 'path'")
        path = validate_repo_path(item["path"])
        size = item.get("size")
        if not isinstance(size, int) or size < 0:
            raise BadRequestError(f"{path}: 'size' must be a non-negative integer")
        is_lfs = goes_to_lfs(git, head, path, size, regular_file_limit=hub.settings.regular_file_limit)
        existing = git.entry(head, path)
        oid = None
        if isinstance(existing, FileEntry):
            oid = existing.lfs.oid if existing.lfs else existing.blob_id
        result.append(
            {"path": path, "uploadMode": "lfs" if is_lfs else "regular", "shouldIgnore": ignored(path), "oid": oid}
        )
    return {"files": result, "commitOid": head}


def _revision_gitignore(git: GitRepo, head: str) -> str | None:
    """The root ``.gitignore`` at ``head``, if it is a regular (not LFS) file; bounded by its size."""
    entry = git.entry(head, ".gitignore")
    if not isinstance(entry, FileEntry) or entry.lfs is not None:
        return None
    if entry.size > MAX_GITIGNORE_CHARS * 4:  # four bytes per character at most in UTF-8
        raise BadRequestError(f"The repository's .gitignore is larger than {MAX_GITIGNORE_CHARS} characters")
    return git.read_blob(entry.blob_id).decode("utf-8", errors="replace")


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/commit/{revision:path}")
async def commit(request: Request, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
    hub = hub_of(request)
    body = await read_limited(request, hub.settings.max_commit_body)
    return await run_in_threadpool(_commit, request, repo_type, repo_id, unquote_param(revision), body)


def _commit(request: Request, repo_type: str, repo_id: str, revision: str, body: bytes) -> dict[str, Any]:
    hub = hub_of(request)
    caller = caller_of(request)
    create_pr = parse_bool(request.query_params.get("create_pr", "false"), "create_pr")
    commit_request = parse_ndjson(body)
    repo = authorize_commit(hub, caller, repo_type, repo_id, revision, create_pr)
    result = create_commit(hub, repo, caller, revision, commit_request, create_pr=create_pr)
    repo_url = f"{base_url(request)}/{RepoType(repo.type).url_prefix}{repo.full_id}"
    response: dict[str, Any] = {
        "success": True,
        "commitOid": result.commit_id,
        "commitUrl": f"{repo_url}/commit/{result.commit_id}",
        "hookOutput": "",
    }
    if result.pr_num is not None:
        response["pullRequestUrl"] = f"{repo_url}/discussions/{result.pr_num}"
    return response


def parse_ndjson(body: bytes) -> CommitRequest:
    """Validate every line before anything is written: a bad line fails the whole commit."""
    header: dict[str, Any] | None = None
    operations: list[Operation] = []
    seen: set[str] = set()
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, a 4,300-digit integer, deep nesting
            raise BadRequestError(f"Line {number} of the commit payload is not valid JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise BadRequestError(f"Line {number}: expected {{'key': ..., 'value': {{...}}}}")
        key, value = item.get("key"), item["value"]
        if key == "header":
            header = value
            continue
        operation = _operation(number, key, value)
        if operation.path in seen:
            raise BadRequestError(f"Line {number}: {operation.path} appears twice in one commit")
        seen.add(operation.path)
        operations.append(operation)
    if header is None:
        raise BadRequestError("The commit payload has no header line")
    summary = header.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise BadRequestError("The commit needs a non-empty summary")
    description = header.get("description") or ""
    parent = header.get("parentCommit")
    if not isinstance(description, str) or (parent is not None and not isinstance(parent, str)):
        raise BadRequestError("description and parentCommit must be strings")
    return CommitRequest(
        summary=summary.strip(), description=description, parent_commit=parent or None, operations=operations
    )


def _operation(number: int, key: Any, value: dict[str, Any]) -> Operation:
    path = value.get("path")
    if not isinstance(path, str):
        raise BadRequestError(f"Line {number}: missing 'path'")
    if key == "file":
        if value.get("encoding", "base64") != "base64" or not isinstance(value.get("content"), str):
            raise BadRequestError(f"Line {number}: file content must be a base64 string")
        try:
            content = base64.b64decode(value["content"], validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError(f"Line {number}: invalid base64 content for {path}") from None
        return AddFile(validate_repo_path(path), content)
    if key == "lfsFile":
        oid, size = value.get("oid"), value.get("size")
        if value.get("algo", "sha256") != "sha256" or not isinstance(oid, str) or not is_sha256(oid):
            raise BadRequestError(f"Line {number}: lfsFile needs a sha256 'oid'")
        if size is not None and (not isinstance(size, int) or size < 0):
            raise BadRequestError(f"Line {number}: invalid size for {path}")
        return AddLfsFile(validate_repo_path(path), oid, size)
    if key == "deletedFile":
        return DeleteFile(validate_repo_path(path, allow_folder_slash=True))  # may name a folder
    if key == "deletedFolder":
        return RemoveFolder(validate_repo_path(path, allow_folder_slash=True))
    raise BadRequestError(f"Line {number}: unknown operation {key!r}")
