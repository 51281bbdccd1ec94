"""The repo page (``/{repo}``, ``/datasets/{repo}``, ``/spaces/{repo}``, ``/kernels/{repo}``): the
card, the sidebar, "Use this model", and the two forms it holds: like/unlike and asking for
access to a gated repo. Both forms post back here and redirect to the page (POST-redirect-GET)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.errors import BadRequestError
from dockyard.gating import service as gating
from dockyard.identifiers import RepoType
from dockyard.repos import likes
from dockyard.repos.models import Repo
from dockyard.request_context import hub_of
from dockyard.web import viewer_table
from dockyard.web.csrf import VerifiedForm
from dockyard.web.redirects import login_url, see_other
from dockyard.web.repo_pages import load_repo, repo_path_prefixes
from dockyard.web.repo_view import build_repo_view
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)


def show_repo(request: Request, kind: RepoType, repo_id: str, *, gate_error: str | None = None) -> Response:
    page = load_repo(request, kind, repo_id)
    view = build_repo_view(request, page)
    title = f"{page.repo.full_id} · Dockyard"
    table = viewer_table.build(request, page.repo, page.url) if kind is RepoType.DATASET and page.may_download else None
    return render(
        request,
        "repo/page.html",
        status=400 if gate_error else 200,
        view=view,
        page=page,
        title=title,
        gate_error=gate_error,
        viewer_table=table,
    )


def toggle_like(request: Request, kind: RepoType, repo_id: str, form: FormData) -> Response:
    """``action=like`` or ``action=unlike``: anyone signed in who can see the repo."""
    page = load_repo(request, kind, repo_id)
    user = viewer_of(request).user
    if user is None:
        return see_other(login_url(page.url))
    with hub_of(request).db.write() as session:
        repo = session.get_one(Repo, page.repo.id)
        (likes.unlike if form.get("action") == "unlike" else likes.like)(session, user, repo)
    return see_other(page.url)


def ask_access(request: Request, kind: RepoType, repo_id: str, form: FormData) -> Response:
    """The gated form: the owner's questions as fields; the domain service checks them."""
    page = load_repo(request, kind, repo_id)
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url(page.url))
    fields = _answers(page.repo, form)
    try:
        with hub_of(request).db.write() as session:
            gating.request_access(session, viewer.caller, session.get_one(Repo, page.repo.id), fields)
    except BadRequestError as error:
        return show_repo(request, kind, repo_id, gate_error=error.message)
    return see_other(f"{page.url}#access")


def _answers(repo: Repo, form: FormData) -> dict[str, Any]:
    """The owner's fields from the form; a ticked checkbox is ``True`` as the API takes it."""
    answers: dict[str, Any] = {}
    for name, spec in gating.required_fields(repo).items():
        value = form.get(f"field:{name}")
        if spec == "checkbox":
            answers[name] = value == "on"
        else:
            answers[name] = value.strip() if isinstance(value, str) else ""
    return answers


def _routes(kind: RepoType, prefix: str) -> None:
    """The three routes of one repo type, bound to ``kind`` (FastAPI needs one function each)."""
    base = f"{prefix}/{{namespace}}/{{name}}"

    def get_page(request: Request, namespace: str, name: str) -> Response:
        return show_repo(request, kind, f"{namespace}/{name}")

    async def post_like(request: Request, namespace: str, name: str, form: VerifiedForm) -> Response:
        return await run_in_threadpool(toggle_like, request, kind, f"{namespace}/{name}", form)

    async def post_ask_access(request: Request, namespace: str, name: str, form: VerifiedForm) -> Response:
        return await run_in_threadpool(ask_access, request, kind, f"{namespace}/{name}", form)

    handlers: tuple[tuple[str, str, Callable[..., Any]], ...] = (
        ("GET", base, get_page),
        ("POST", f"{base}/like", post_like),
        ("POST", f"{base}/ask-access", post_ask_access),
    )
    for method, path, handler in handlers:
        router.add_api_route(path, handler, methods=[method], name=f"{kind.value}-{handler.__name__}")


for _kind, _prefix in repo_path_prefixes():
    _routes(_kind, _prefix)
