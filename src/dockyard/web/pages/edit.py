"""Changing a repo's files from the browser: upload (``/{repo}/upload/{rev}``), create a file
(``/{repo}/new/{rev}``) and edit one (``/{repo}/edit/{rev}/{path}``), each committed directly
or as a pull request.

Every commit goes through the domain commit service (:func:`dockyard.repos.commits.
create_commit`) with the same rights the API's commit endpoint asks: writers commit to a
branch, any signed-in reader may open a pull request. The upload page's script
(``upload.js``) calls the real preupload, LFS batch and commit APIs instead; the form it
enhances still works without it for small text files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from dockyard.auth.access import Right, ensure, may_propose
from dockyard.errors import AuthenticationRequiredError, BadRequestError, DockyardError, ForbiddenError
from dockyard.identifiers import RepoType, validate_repo_path
from dockyard.lfs.placement import goes_to_lfs
from dockyard.repos.commits import AddFile, CommitRequest, CommitResult, Operation, create_commit
from dockyard.repos.git_repo import FileEntry
from dockyard.request_context import hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.markdown import LinkBase, render_markdown
from dockyard.web.redirects import login_url, see_other
from dockyard.web.repo_pages import RepoPage, load_repo
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

EDITABLE_BYTES = 1024 * 1024  # larger files are not edited in a textarea
MAX_FORM_FILES = 100


# -- routing shared by the repo sub-pages of this area ----------------------------------------------
def repo_kind(request: Request) -> RepoType:
    """The repo type a page URL names by its first segment (``/datasets/...``); models have none.
    No namespace may be called ``datasets`` etc. (reserved), so the reading is unambiguous."""
    first = request.url.path.lstrip("/").split("/", 1)[0]
    for kind in RepoType:
        if kind is not RepoType.MODEL and first == kind.plural:
            return kind
    return RepoType.MODEL


class NamespacedRepoConvertor(Convertor[str]):
    """``namespace/name`` only. Every repo's page URL has both parts (one-segment ids like ``gpt2``
    are aliases of a namespaced repo), and allowing one segment here would let ``/alice/settings``
    read as the settings of a repo ``alice`` instead of the page of the repo ``alice/settings``."""

    regex = r"[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("namespaced_repo", NamespacedRepoConvertor())


def add_repo_route(router: APIRouter, suffix: str, endpoint: Callable[..., object], methods: list[str]) -> None:
    """Register ``{prefix}/{namespace}/{name}{suffix}`` for every repo type, prefixed types first."""
    for kind in RepoType.routing_order():
        router.add_api_route(f"{kind.route_prefix}/{{repo_id:namespaced_repo}}{suffix}", endpoint, methods=methods)


def quoted(path: str) -> str:
    return quote(path, safe="/")


# -- who may change what -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChangePage:
    """A repo the viewer may change: ``direct`` when they may commit to branches, otherwise only a
    pull request is offered."""

    page: RepoPage
    direct: bool


def open_for_change(request: Request, repo_id: str, right: Right = Right.SEE) -> ChangePage:
    """The repo if the viewer may at least propose changes; 404 for what they may not see (first,
    so that a private repo is a 404 even to anonymous visitors), then 401/403 as the API."""
    page = load_repo(request, repo_kind(request), repo_id, right)
    caller = viewer_of(request).caller
    if caller.user is None:
        raise AuthenticationRequiredError("You must be signed in to change this repository")
    with hub_of(request).db.read() as session:
        if not may_propose(session, caller, page.repo):
            raise ForbiddenError("You cannot change this repository or open pull requests on it")
    return ChangePage(page=page, direct=page.may_write)


def commit_changes(
    request: Request, change: ChangePage, revision: str, message: CommitRequest, *, create_pr: bool
) -> CommitResult:
    """Commit as the API would: a branch needs the write right, checked again at commit time."""
    hub = hub_of(request)
    caller = viewer_of(request).caller
    if not create_pr:
        with hub.db.read() as session:
            ensure(session, caller, change.page.repo, Right.WRITE)
    return create_commit(hub, change.page.repo, caller, revision, message, create_pr=create_pr)


def after_commit(change: ChangePage, result: CommitResult, revision: str, path: str = "", *, folder: str = "") -> str:
    """The page to show next: the new pull request, or the file or folder just committed."""
    if result.pr_num is not None:
        return f"{change.page.url}/discussions/{result.pr_num}"
    if path:
        return f"{change.page.url}/blob/{quote(revision, safe='')}/{quoted(path)}"
    tree = f"{change.page.url}/tree/{quote(revision, safe='')}"
    return f"{tree}/{quoted(folder)}" if folder else tree


def clean_folder(folder: str) -> str:
    """A folder named in the URL (``/upload/main/sub/dir``): a valid repo path, or the root."""
    folder = folder.strip("/")
    return validate_repo_path(folder) if folder else ""


def _signed_in_or_login(request: Request, repo_id: str) -> Response | None:
    """Anonymous visitors of a repo they can see are sent to log in (a 404 for one they cannot)."""
    if viewer_of(request).signed_in:
        return None
    load_repo(request, repo_kind(request), repo_id, Right.SEE)
    return see_other(login_url(request.url.path))


def _text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


# -- create or edit one file -------------------------------------------------------------------------
@dataclass
class EditorForm:
    path: str
    content: str
    summary: str = ""
    description: str = ""
    create_pr: bool = False
    preview: str | None = None  # rendered HTML (Markup) or None
    error: str | None = None


def _editor(
    request: Request, change: ChangePage, revision: str, form: EditorForm, *, creating: bool, status: int = 200
) -> Response:
    return render(
        request,
        "edit/editor.html",
        status=status,
        page=change.page,
        tab="files",
        direct=change.direct,
        revision=revision,
        form=form,
        creating=creating,
    )


def _read_editable(request: Request, change: ChangePage, revision: str, path: str) -> str:
    git = hub_of(request).git.open(change.page.repo.uid)
    entry = git.entry(git.resolve(revision).commit_id, validate_repo_path(path))
    if not isinstance(entry, FileEntry):
        raise _NoSuchFile(f"{path} is not a file at {revision}")
    if entry.lfs is not None or entry.size > EDITABLE_BYTES:
        raise BadRequestError(f"{path} is too large to edit in the browser")
    try:
        return git.read_blob(entry.blob_id).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError(f"{path} is not a text file") from None


class _NoSuchFile(DockyardError):
    status = 404
    default_message = "File not found"


def edit_page(request: Request, repo_id: str, revision: str, file_path: str) -> Response:
    redirect = _signed_in_or_login(request, repo_id)
    if redirect is not None:
        return redirect
    change = open_for_change(request, repo_id, Right.DOWNLOAD)
    content = _read_editable(request, change, revision, file_path)
    form = EditorForm(path=file_path, content=content, create_pr=not change.direct)
    return _editor(request, change, revision, form, creating=False)


def new_file_page(request: Request, repo_id: str, revision: str, folder: str = "") -> Response:
    redirect = _signed_in_or_login(request, repo_id)
    if redirect is not None:
        return redirect
    change = open_for_change(request, repo_id)
    prefix = f"{clean_folder(folder)}/" if clean_folder(folder) else ""
    name = prefix + request.query_params.get("filename", "")
    form = EditorForm(path=name, content="", create_pr=not change.direct)
    return _editor(request, change, revision, form, creating=True)


async def save_edit(request: Request, repo_id: str, revision: str, file_path: str, data: VerifiedForm) -> Response:
    return await run_in_threadpool(_save, request, repo_id, revision, data, file_path)


async def save_new(request: Request, repo_id: str, revision: str, data: VerifiedForm, folder: str = "") -> Response:
    del folder  # the form names the whole path
    return await run_in_threadpool(_save, request, repo_id, revision, data, None)


def _save(request: Request, repo_id: str, revision: str, data: FormData, original: str | None) -> Response:
    """Preview (re-render the form with the rendered text) or commit."""
    creating = original is None
    change = open_for_change(request, repo_id, Right.SEE if creating else Right.DOWNLOAD)
    path = _text(data, "path").strip() if creating else original or ""
    form = EditorForm(
        path=path,
        content=_text(data, "content").replace("\r\n", "\n"),
        summary=_text(data, "summary").strip(),
        description=_text(data, "description").strip(),
        create_pr=_text(data, "target") == "pr" or not change.direct,
    )
    if _text(data, "action") == "preview":
        form.preview = _preview(change, revision, form)
        return _editor(request, change, revision, form, creating=creating)
    try:
        path = validate_repo_path(path)
        summary = form.summary or f"{'Create' if creating else 'Update'} {path}"
        message = CommitRequest(
            summary=summary, description=form.description, operations=[AddFile(path, form.content.encode())]
        )
        result = commit_changes(request, change, revision, message, create_pr=form.create_pr)
    except DockyardError as exc:
        form.error = exc.message
        return _editor(request, change, revision, form, creating=creating, status=exc.status)
    return see_other(after_commit(change, result, revision, "" if result.pr_num else path))


def _preview(change: ChangePage, revision: str, form: EditorForm) -> str:
    """Markdown files are rendered as the repo page would; other text is shown as it is."""
    if not form.path.lower().endswith((".md", ".markdown")):
        return ""
    directory = form.path.rsplit("/", 1)[0] if "/" in form.path else ""
    return render_markdown(form.content, links=LinkBase(change.page.url, revision, directory))


# -- upload ------------------------------------------------------------------------------------------
def upload_page(request: Request, repo_id: str, revision: str, folder: str = "") -> Response:
    redirect = _signed_in_or_login(request, repo_id)
    if redirect is not None:
        return redirect
    change = open_for_change(request, repo_id)
    return _upload(request, change, revision, clean_folder(folder), error=None)


def _upload(
    request: Request, change: ChangePage, revision: str, folder: str, *, error: str | None, status: int = 200
) -> Response:
    kind = RepoType(change.page.repo.type)
    return render(
        request,
        "edit/upload.html",
        status=status,
        page=change.page,
        tab="files",
        direct=change.direct,
        revision=revision,
        folder=folder,
        error=error,
        api_type=kind.plural,
        lfs_prefix=kind.route_prefix,
        regular_limit=hub_of(request).settings.regular_file_limit,
    )


async def upload_files(request: Request, repo_id: str, revision: str, data: VerifiedForm, folder: str = "") -> Response:
    """The form without its script: small regular files, read here and committed in one commit."""
    folder = clean_folder(folder)
    files = [item for item in data.getlist("files") if isinstance(item, UploadFile) and item.filename]
    if not files or len(files) > MAX_FORM_FILES:
        change = await run_in_threadpool(open_for_change, request, repo_id)
        error = f"Choose between 1 and {MAX_FORM_FILES} files to upload"
        return await run_in_threadpool(_upload, request, change, revision, folder, error=error, status=400)
    limit = hub_of(request).settings.regular_file_limit
    contents = [(str(item.filename), await item.read(limit + 1)) for item in files]
    return await run_in_threadpool(_commit_uploads, request, repo_id, revision, folder, data, contents)


def _commit_uploads(
    request: Request, repo_id: str, revision: str, folder: str, data: FormData, contents: list[tuple[str, bytes]]
) -> Response:
    change = open_for_change(request, repo_id)
    try:
        operations = _regular_files(request, change, revision, [(_join(folder, n), c) for n, c in contents])
        summary = _text(data, "summary").strip() or f"Upload {len(operations)} file{'s' if len(operations) > 1 else ''}"
        message = CommitRequest(summary=summary, description=_text(data, "description").strip(), operations=operations)
        create_pr = _text(data, "create_pr") == "on" or not change.direct
        result = commit_changes(request, change, revision, message, create_pr=create_pr)
    except DockyardError as exc:
        return _upload(request, change, revision, folder, error=exc.message, status=exc.status)
    return see_other(after_commit(change, result, revision, folder=folder))


def _join(folder: str, name: str) -> str:
    """The uploaded file's name (never a path the browser made up) inside ``folder``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{folder}/{base}" if folder else base


def _regular_files(
    request: Request, change: ChangePage, revision: str, contents: list[tuple[str, bytes]]
) -> list[Operation]:
    """Files the placement rule keeps in git; large or binary ones need the page's script (LFS)."""
    hub = hub_of(request)
    git = hub.git.open(change.page.repo.uid)
    head = git.resolve(revision).commit_id
    operations: list[Operation] = []
    for name, content in contents:
        path = validate_repo_path(name)
        if goes_to_lfs(git, head, path, len(content), regular_file_limit=hub.settings.regular_file_limit):
            raise BadRequestError(f"{path} is a large file: upload it with JavaScript enabled (it goes to LFS)")
        operations.append(AddFile(path, content))
    return operations


for _suffix in ("", "/{folder:path}"):
    add_repo_route(router, "/upload/{revision}" + _suffix, upload_page, ["GET"])
    add_repo_route(router, "/upload/{revision}" + _suffix, upload_files, ["POST"])
    add_repo_route(router, "/new/{revision}" + _suffix, new_file_page, ["GET"])
    add_repo_route(router, "/new/{revision}" + _suffix, save_new, ["POST"])
add_repo_route(router, "/edit/{revision}/{file_path:path}", edit_page, ["GET"])
add_repo_route(router, "/edit/{revision}/{file_path:path}", save_edit, ["POST"])
