"""Request-scoped helpers shared by the route modules: the request context (re-exported) and the
dependencies that give routes their repo, checked for the right they need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from dockyard.api.routing import repo_ref
from dockyard.auth.access import Right, ensure
from dockyard.auth.permissions import not_found
from dockyard.repos.models import Repo
from dockyard.repos.service import find_repo
from dockyard.request_context import base_url, caller_of, hub_of

__all__ = ["base_url", "caller_of", "hub_of", "repo_for"]


def repo_for(right: Right) -> Callable[[Request, str, str], Repo]:
    """A dependency giving a ``/api/{repo_type}/{repo_id}/...`` route its repo, already checked for
    ``right``: routes state the right they need instead of repeating the checks."""

    def dependency(request: Request, repo_type: str, repo_id: str) -> Repo:
        hub = hub_of(request)
        caller = caller_of(request)
        ref = repo_ref(repo_type, repo_id)
        with hub.db.read() as session:
            repo = find_repo(session, ref)
            if repo is None:
                raise not_found(str(ref.id))
            ensure(session, caller, repo, right, requested=str(ref.id))
        return repo

    return dependency


RepoToSee = Annotated[Repo, Depends(repo_for(Right.SEE))]
RepoToDownload = Annotated[Repo, Depends(repo_for(Right.DOWNLOAD))]
RepoToWrite = Annotated[Repo, Depends(repo_for(Right.WRITE))]
RepoToAdmin = Annotated[Repo, Depends(repo_for(Right.ADMIN))]
