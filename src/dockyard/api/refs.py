"""Branch, tag and super-squash routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from dockyard.api.deps import caller_of, hub_of
from dockyard.api.routing import repo_ref, unquote_param
from dockyard.auth import permissions
from dockyard.repos import refs
from dockyard.repos.models import Repo
from dockyard.repos.service import get_readable_repo

router = APIRouter()


class BranchBody(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    starting_point: str | None = Field(default=None, alias="startingPoint")


class TagBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    tag: str
    message: str | None = None


class SquashBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str | None = None


def _writable(request: Request, repo_type: str, repo_id: str) -> Repo:
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.read() as session:
        repo = get_readable_repo(session, caller, repo_ref(repo_type, repo_id))
        permissions.ensure_write(session, caller, repo)
    return repo


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/branch/{branch:path}")
def create_branch(
    request: Request, repo_type: str, repo_id: str, branch: str, body: BranchBody | None = None
) -> dict[str, Any]:
    repo = _writable(request, repo_type, repo_id)
    start = body.starting_point if body else None
    refs.create_branch(hub_of(request), repo, unquote_param(branch), start)
    refs.audit(hub_of(request), caller_of(request), "branch.created", repo, unquote_param(branch))
    return {}


@router.delete("/api/{repo_type:rtype}/{repo_id:repo}/branch/{branch:path}")
def delete_branch(request: Request, repo_type: str, repo_id: str, branch: str) -> dict[str, Any]:
    repo = _writable(request, repo_type, repo_id)
    refs.delete_branch(hub_of(request), repo, unquote_param(branch))
    refs.audit(hub_of(request), caller_of(request), "branch.deleted", repo, unquote_param(branch))
    return {}


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/tag/{revision:path}")
def create_tag(request: Request, repo_type: str, repo_id: str, revision: str, body: TagBody) -> dict[str, Any]:
    repo = _writable(request, repo_type, repo_id)
    refs.create_tag(hub_of(request), repo, caller_of(request), body.tag, unquote_param(revision), body.message)
    refs.audit(hub_of(request), caller_of(request), "tag.created", repo, body.tag)
    return {}


@router.delete("/api/{repo_type:rtype}/{repo_id:repo}/tag/{tag:path}")
def delete_tag(request: Request, repo_type: str, repo_id: str, tag: str) -> dict[str, Any]:
    repo = _writable(request, repo_type, repo_id)
    refs.delete_tag(hub_of(request), repo, unquote_param(tag))
    refs.audit(hub_of(request), caller_of(request), "tag.deleted", repo, unquote_param(tag))
    return {}


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/super-squash/{branch:path}")
def super_squash(
    request: Request, repo_type: str, repo_id: str, branch: str, body: SquashBody | None = None
) -> dict[str, Any]:
    repo = _writable(request, repo_type, repo_id)
    commit_id = refs.super_squash(
        hub_of(request), repo, caller_of(request), unquote_param(branch), body.message if body else None
    )
    return {"commitId": commit_id}
