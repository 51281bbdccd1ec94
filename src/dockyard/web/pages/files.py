"""Files and versions: ``/{repo}/tree/{rev}/{path}`` (a folder at a revision) and
``/{repo}/blob/{rev}/{path}`` (one file in its viewer), for every repo type's URL prefix.

``rev`` may carry ``%2F`` (``refs%2Fpr%2F1``): the routing middleware keeps it in one segment
and the handlers decode it. A ``?switch=`` from the branch and tag picker (a GET form that works
without script) redirects to the same path at the chosen revision."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.api.routing import unquote_param
from dockyard.auth.access import Right
from dockyard.errors import BadRequestError
from dockyard.identifiers import RepoType
from dockyard.web import file_view
from dockyard.web.redirects import see_other
from dockyard.web.repo_pages import load_repo
from dockyard.web.templating import render

router = APIRouter(include_in_schema=False)


def _cursor(request: Request) -> int:
    try:
        cursor = int(request.query_params.get("cursor", "0"))
    except ValueError:
        raise BadRequestError("cursor must be an integer") from None
    if cursor < 0:
        raise BadRequestError("cursor must not be negative")
    return cursor


def _switched(request: Request, repo_url: str, kind: str, path: str) -> Response | None:
    """The redirect of the revision picker, if this request comes from it."""
    target = request.query_params.get("switch", "").strip()
    if not target:
        return None
    build = file_view.tree_url if kind == "tree" or not path else file_view.blob_url
    return see_other(build(repo_url, target, path))


def show_tree(request: Request, kind: RepoType, repo_id: str, revision: str, raw_path: str) -> Response:
    page = load_repo(request, kind, repo_id, Right.SEE)
    revision, path = unquote_param(revision), file_view.clean_path(unquote_param(raw_path))
    switched = _switched(request, page.url, "tree", path)
    if switched is not None:
        return switched
    view = file_view.tree_view(request, page, revision, path, _cursor(request))
    return render(request, "files/tree.html", page=page, tab="files", view=view, where=view.where, here=view.here)


def show_blob(request: Request, kind: RepoType, repo_id: str, revision: str, raw_path: str) -> Response:
    page = load_repo(request, kind, repo_id, Right.SEE)
    revision, path = unquote_param(revision), file_view.clean_path(unquote_param(raw_path))
    switched = _switched(request, page.url, "blob", path)
    if switched is not None:
        return switched
    if not path:
        return see_other(file_view.tree_url(page.url, revision))
    view = file_view.blob_view(request, page, revision, path, plain=request.query_params.get("plain") == "1")
    if isinstance(view, str):
        return see_other(view)
    return render(request, "files/blob.html", page=page, tab="files", view=view, where=view.where, here=view.here)


def _routes(kind: RepoType) -> None:
    base = f"{kind.route_prefix}/{{repo_id:repo}}"

    def tree_root(request: Request, repo_id: str, revision: str) -> Response:
        return show_tree(request, kind, repo_id, revision, "")

    def tree(request: Request, repo_id: str, revision: str, path: str) -> Response:
        return show_tree(request, kind, repo_id, revision, path)

    def blob(request: Request, repo_id: str, revision: str, path: str) -> Response:
        return show_blob(request, kind, repo_id, revision, path)

    router.add_api_route(f"{base}/tree/{{revision}}", tree_root, methods=["GET"])
    router.add_api_route(f"{base}/tree/{{revision}}/{{path:path}}", tree, methods=["GET"])
    router.add_api_route(f"{base}/blob/{{revision}}/{{path:path}}", blob, methods=["GET"])


for _kind in RepoType.routing_order():
    _routes(_kind)
