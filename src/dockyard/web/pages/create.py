"""Creating a repository from the browser: ``/new`` (and ``/new-dataset``, ``/new-space``, which
preselect the type). The form posts back to itself; the repo is made by the domain service
:func:`dockyard.repos.service.create_repo`, exactly as the API makes it."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.accounts import service as accounts
from dockyard.errors import DockyardError
from dockyard.identifiers import RepoType
from dockyard.repos import service as repos
from dockyard.repos.card_schema import LICENSES
from dockyard.repos.commits import AddFile, CommitRequest, create_commit
from dockyard.request_context import hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.redirects import login_url, see_other
from dockyard.web.repo_pages import repo_url
from dockyard.web.templating import render
from dockyard.web.viewer import Viewer, viewer_of

router = APIRouter(include_in_schema=False)

# The few licenses offered first in the picker; any id of the Hub's list is accepted.
COMMON_LICENSES = ("apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "openrail", "llama3", "other")
_WRITER_ROLES = ("write", "admin")


@dataclass
class NewRepoForm:
    """What the person typed, kept to refill the form after an error."""

    type: str = "model"
    owner: str = ""
    name: str = ""
    visibility: str = "public"
    license: str = ""
    sdk: str = "gradio"
    errors: list[str] = field(default_factory=list)


def _owners(request: Request, viewer: Viewer) -> list[str]:
    """The viewer, then the organisations they may create repos in (write or admin members)."""
    assert viewer.user is not None
    with hub_of(request).db.read() as session:
        user = accounts.get_user(session, viewer.user.name)
        orgs = sorted(m.org.name for m in accounts.memberships_of(session, user) if m.role in _WRITER_ROLES)
    return [viewer.user.name, *orgs]


def _page(request: Request, form: NewRepoForm, status: int = 200) -> Response:
    viewer = viewer_of(request)
    return render(
        request,
        "create/new.html",
        status=status,
        form=form,
        owners=_owners(request, viewer),
        types=[t.value for t in RepoType],
        licenses=COMMON_LICENSES,
        all_licenses=sorted(LICENSES),
        sdks=repos.SPACE_SDKS,
    )


def _new_form(request: Request, kind: str) -> Response:
    viewer = viewer_of(request)
    if not viewer.signed_in:
        return see_other(login_url(request.url.path))
    assert viewer.user is not None
    return _page(request, NewRepoForm(type=kind, owner=viewer.user.name))


@router.get("/new")
def new_repo(request: Request, type: str = "model") -> Response:
    return _new_form(request, type if type in {t.value for t in RepoType} else "model")


@router.get("/new-dataset")
def new_dataset(request: Request) -> Response:
    return _new_form(request, "dataset")


@router.get("/new-space")
def new_space(request: Request) -> Response:
    return _new_form(request, "space")


def _read_form(data: FormData) -> NewRepoForm:
    def text(name: str, default: str = "") -> str:
        value = data.get(name, default)
        return value.strip() if isinstance(value, str) else default

    return NewRepoForm(
        type=text("type", "model"),
        owner=text("owner"),
        name=text("name"),
        visibility=text("visibility", "public"),
        license=text("license").lower(),
        sdk=text("sdk", "gradio"),
    )


@router.post("/new")
async def create_repo(request: Request, data: VerifiedForm) -> Response:
    if not await run_in_threadpool(lambda: viewer_of(request).signed_in):
        return see_other(login_url("/new"))
    form = _read_form(data)
    try:
        target = await run_in_threadpool(_create, request, form)
    except DockyardError as exc:
        form.errors.append(exc.message)
        return await run_in_threadpool(_page, request, form, exc.status if exc.status < 500 else 400)
    return see_other(target)


def _create(request: Request, form: NewRepoForm) -> str:
    """Create the repo, then (as the Hub does) a README whose front matter names the license."""
    hub = hub_of(request)
    viewer = viewer_of(request)
    if form.license and form.license not in LICENSES:
        raise _FormError(f"Unknown license {form.license!r}")
    kind = RepoType.parse(form.type)
    with hub.db.write() as session:
        repo = repos.create_repo(
            hub,
            session,
            viewer.caller,
            repo_type=kind,
            organization=None if viewer.user is not None and form.owner == viewer.user.name else form.owner,
            name=form.name,
            private=form.visibility == "private",
            sdk=form.sdk if kind is RepoType.SPACE else None,
        )
        url = repo_url(repo)
    if form.license and kind is not RepoType.SPACE:
        card = f"---\nlicense: {form.license}\n---\n\n# {repo.name}\n".encode()
        request_ = CommitRequest(summary="Add README.md", operations=[AddFile("README.md", card)])
        create_commit(hub, repo, viewer.caller, "main", request_)
    return url


class _FormError(DockyardError):
    status = 400
    default_message = "Invalid form"
