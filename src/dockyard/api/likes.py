"""Likes: like/unlike a repo, who liked it, what a user liked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from dockyard.accounts import service as accounts
from dockyard.api.deps import caller_of, hub_of
from dockyard.api.routing import repo_ref
from dockyard.auth import permissions
from dockyard.errors import AuthenticationRequiredError
from dockyard.repos import likes
from dockyard.repos.service import get_readable_repo

router = APIRouter()


def _toggle(request: Request, repo_type: str, repo_id: str, liked: bool) -> dict[str, Any]:
    hub = hub_of(request)
    caller = caller_of(request)
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to like a repository")
    with hub.db.write() as session:
        repo = get_readable_repo(session, caller, repo_ref(repo_type, repo_id))
        (likes.like if liked else likes.unlike)(session, caller.user, repo)
    return {}


@router.post("/api/{repo_type:rtype}/{repo_id:repo}/like")
def like(request: Request, repo_type: str, repo_id: str) -> dict[str, Any]:
    return _toggle(request, repo_type, repo_id, True)


@router.delete("/api/{repo_type:rtype}/{repo_id:repo}/like")
def unlike(request: Request, repo_type: str, repo_id: str) -> dict[str, Any]:
    return _toggle(request, repo_type, repo_id, False)


@router.get("/api/{repo_type:rtype}/{repo_id:repo}/likers")
def likers(request: Request, repo_type: str, repo_id: str) -> JSONResponse:
    hub = hub_of(request)
    with hub.db.read() as session:
        repo = get_readable_repo(session, caller_of(request), repo_ref(repo_type, repo_id))
        people = likes.likers(session, repo)
        return JSONResponse([{"user": a.name, "fullname": a.fullname, "avatarUrl": ""} for a in people])


@router.get("/api/users/{name}/likes")
def user_likes(request: Request, name: str) -> JSONResponse:
    """What a user liked, limited to repos the caller can see."""
    hub = hub_of(request)
    caller = caller_of(request)
    with hub.db.read() as session:
        user = accounts.get_user(session, name)
        visible = [r for r in likes.liked_repos(session, user) if permissions.can_read(session, caller, r)]
        return JSONResponse([{"repo": {"name": r.full_id, "type": r.type}} for r in visible])
