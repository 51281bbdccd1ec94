"""Repository lifecycle: create, delete, move, settings, duplicate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from dockyard.api import buckets
from dockyard.api.deps import RepoToAdmin, RepoToDownload, RepoToWrite, base_url, caller_of, hub_of
from dockyard.api.errors import error_response
from dockyard.api.routing import repo_ref
from dockyard.auth import permissions
from dockyard.errors import BadRequestError, RepoExistsError
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos import service
from dockyard.repos.models import Repo

router = APIRouter()


class CreateRepoBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    organization: str | None = None
    type: str | None = None
    private: bool | None = None
    visibility: str | None = None
    sdk: str | None = None


class DeleteRepoBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    organization: str | None = None
    type: str | None = None


class MoveRepoBody(BaseModel):
    from_repo: str = Field(alias="fromRepo")
    to_repo: str = Field(alias="toRepo")
    type: str | None = None


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    private: bool | None = None
    visibility: str | None = None
    gated: str | bool | None = None


class DuplicateBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    repository: str
    private: bool | None = None
    visibility: str | None = None


def _visibility(private: bool | None, visibility: str | None) -> bool | None:
    if visibility is not None:
        if visibility not in ("public", "private", "protected"):
            raise BadRequestError("visibility must be 'public', 'private' or 'protected'")
        return visibility != "public"
    return private


def repo_url(request: Request, repo: Repo) -> str:
    return f"{base_url(request)}/{RepoType(repo.type).url_prefix}{repo.full_id}"


@router.post("/api/repos/create")
def create_repo(request: Request, body: CreateRepoBody) -> JSONResponse:
    hub = hub_of(request)
    caller = caller_of(request)
    repo_type = RepoType.parse(body.type)
    private = _visibility(body.private, body.visibility)  # None: the namespace's default
    try:
        with hub.db.write() as session:
            repo = service.create_repo(
                hub,
                session,
                caller,
                repo_type=repo_type,
                organization=body.organization,
                name=body.name,
                private=private,
                sdk=body.sdk,
            )
            url = repo_url(request, repo)
            full_id = repo.full_id
            uid = repo.uid
    except RepoExistsError as exc:
        namespace = body.organization or (caller.user.name if caller.user else "")
        url = f"{base_url(request)}/{repo_type.url_prefix}{namespace}/{body.name}"
        return error_response(exc.status, exc.message, exc.code, extra={"url": url})
    return JSONResponse({"url": url, "name": full_id, "id": uid})


@router.delete("/api/repos/delete")
def delete_repo(request: Request, body: DeleteRepoBody) -> dict[str, Any]:
    hub = hub_of(request)
    caller = caller_of(request)
    full_id = f"{body.organization}/{body.name}" if body.organization else body.name
    with hub.db.write() as session:
        repo = service.get_readable_repo(session, caller, repo_ref(RepoType.parse(body.type), full_id))
        permissions.ensure_admin(session, caller, repo)
        uid = service.delete_repo(hub, session, caller, repo)
    hub.git.delete(uid)
    return {}


@router.post("/api/repos/move")
def move_repo(request: Request, body: MoveRepoBody) -> dict[str, Any]:
    if body.type == "bucket":  # buckets are not repos: their own domain moves them
        buckets.move(request, body.from_repo, body.to_repo)
        return {}
    hub = hub_of(request)
    caller = caller_of(request)
    target = RepoId.parse(body.to_repo)
    if not target.namespace:
        raise BadRequestError("toRepo must be 'namespace/name'")
    with hub.db.write() as session:
        repo = service.get_readable_repo(session, caller, repo_ref(RepoType.parse(body.type), body.from_repo))
        permissions.ensure_admin(session, caller, repo)
        service.move_repo(session, caller, repo, target)
    return {}


@router.put("/api/{repo_type:rtype}/{repo_id:repo}/settings")
def update_settings(request: Request, repo: RepoToAdmin, body: SettingsBody) -> dict[str, Any]:
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.write() as session:
        current = session.get_one(Repo, repo.id)
        service.update_settings(
            session, caller, current, private=_visibility(body.private, body.visibility), gated=body.gated
        )
    return {}


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/duplicate")
def duplicate_repo(request: Request, source: RepoToDownload, body: DuplicateBody) -> JSONResponse:
    """Copying a repo copies its content, so the source needs the download right, not just sight
    (a gated repo's files would otherwise move into a repo without a gate)."""
    hub = hub_of(request)
    caller = caller_of(request)
    target = RepoId.parse(body.repository)
    with hub.db.write() as session:
        current = session.get_one(Repo, source.id)
        private = _visibility(body.private, body.visibility)
        repo = service.duplicate_repo(
            hub,
            session,
            caller,
            current,
            target,
            private=current.private if private is None else private,
        )
        url = repo_url(request, repo)
    return JSONResponse({"url": url})


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/auth-check")
def auth_check(repo: RepoToDownload) -> dict[str, Any]:
    """Read access means the files: on a gated repo without a grant, 403 GatedRepo (401 anonymous)."""
    return {}


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/auth-check/write")
def auth_check_write(repo: RepoToWrite) -> dict[str, Any]:
    return {}
