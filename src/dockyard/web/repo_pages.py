"""What every repo page shares: finding the repo a URL names (checked for the viewer's right,
invisible repos are a 404 like in the API), its URL, and the header with its tabs."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from dockyard.auth.access import Right, ensure, may
from dockyard.auth.permissions import not_found
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.models import Repo
from dockyard.repos.service import RepoRef, find_repo
from dockyard.request_context import hub_of
from dockyard.web.viewer import viewer_of


def repo_url(repo: Repo) -> str:
    """``/alice/model``, ``/datasets/alice/data``: the page URL the clients print."""
    return f"{RepoType(repo.type).route_prefix}/{repo.full_id}"


def repo_path_prefixes() -> tuple[tuple[RepoType, str], ...]:
    """(type, route prefix) in routing order: prefixed types before models, so that
    ``/datasets/x/y`` is the dataset ``x/y`` and not the model ``datasets/x``."""
    return tuple((kind, kind.route_prefix) for kind in RepoType.routing_order())


@dataclass(frozen=True, slots=True)
class RepoPage:
    """A repo as a page sees it, with what the viewer may do there (for showing buttons)."""

    repo: Repo
    url: str
    may_download: bool
    may_write: bool
    may_admin: bool


def load_repo(request: Request, kind: RepoType, repo_id: str, right: Right = Right.SEE) -> RepoPage:
    """The repo ``repo_id`` of ``kind`` if the viewer has ``right`` on it; otherwise the same
    errors the API gives (404 for what they may not see, 401/403 for the rest)."""
    hub = hub_of(request)
    caller = viewer_of(request).caller
    try:
        ref = RepoRef(kind, RepoId.parse(repo_id))
    except Exception:  # an unparsable id names no repo
        raise not_found(repo_id) from None
    with hub.db.read() as session:
        repo = find_repo(session, ref)
        if repo is None:
            raise not_found(repo_id)
        ensure(session, caller, repo, right, requested=repo_id)
        return RepoPage(
            repo=repo,
            url=repo_url(repo),
            may_download=may(session, caller, repo, Right.DOWNLOAD),
            may_write=may(session, caller, repo, Right.WRITE),
            may_admin=may(session, caller, repo, Right.ADMIN),
        )
