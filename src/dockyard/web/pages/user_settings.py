"""A user's own settings: profile and picture, password, browser sessions and access tokens.

Every page needs a signed-in user; the forms post back to the page (POST-redirect-GET), except
token creation, whose answer shows the new value once and is never stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from dockyard.accounts import avatars, sessions
from dockyard.accounts import service as accounts
from dockyard.accounts.models import AccessToken, Account, WebSession
from dockyard.accounts.signup import MIN_PASSWORD, SignupError, change_password, check_email
from dockyard.accounts.tokens import FINE_GRAINED
from dockyard.auth import throttle
from dockyard.auth.scopes import ENTITY_TYPES, LEVELS, Scope, load_scopes
from dockyard.buckets.models import Bucket
from dockyard.errors import BadRequestError, DockyardError
from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo
from dockyard.request_context import SESSION_COOKIE, hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.redirects import login_url, see_other
from dockyard.web.templating import render
from dockyard.web.viewer import Viewer, viewer_of

router = APIRouter(include_in_schema=False)
MAX_SCOPE_REPOS = 300


def _signed_in(request: Request) -> Viewer | Response:
    """The signed-in viewer, or the redirect to the login page that comes back here."""
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url(request.url.path))
    return viewer


@router.get("/settings")
def settings_home(request: Request) -> Response:
    return see_other("/settings/profile")


# -- profile --------------------------------------------------------------------------------------


@router.get("/settings/profile")
def profile_page(request: Request, welcome: int = 0, saved: int = 0) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    notice = "Welcome to Dockyard! Your account is ready." if welcome else ("Profile saved." if saved else None)
    return _render_profile(request, viewer, notice=notice, error=None)


def _render_profile(
    request: Request, viewer: Viewer, *, notice: str | None, error: str | None, status: int = 200
) -> Response:
    assert viewer.user is not None
    with hub_of(request).db.read() as session:
        user = accounts.get_user(session, viewer.user.name)
        has_upload = avatars.uploaded_avatar(session, user) is not None
    return render(
        request,
        "settings/profile.html",
        status=status,
        tab="profile",
        user=user,
        has_upload=has_upload,
        notice=notice,
        error=error,
        max_kib=hub_of(request).settings.avatar_max_bytes // 1024,
    )


@router.post("/settings/profile")
async def save_profile(request: Request, form: VerifiedForm) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    fullname = str(form.get("fullname", "")).strip()
    email = str(form.get("email", "")).strip()
    try:
        await run_in_threadpool(_save_profile, request, viewer, fullname, email)
    except DockyardError as error:
        return _render_profile(request, viewer, notice=None, error=error.message, status=400)
    return see_other("/settings/profile?saved=1")


def _save_profile(request: Request, viewer: Viewer, fullname: str, email: str) -> None:
    assert viewer.user is not None
    if len(fullname) > 200:
        raise BadRequestError("The full name is too long: at most 200 characters")
    check_email(email)
    with hub_of(request).db.write() as session:
        user = accounts.get_user(session, viewer.user.name)
        user.fullname = fullname or user.name
        user.email = email or None


@router.post("/settings/profile/avatar")
async def upload_avatar(request: Request, form: VerifiedForm) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    limit = hub_of(request).settings.avatar_max_bytes
    upload = form.get("avatar")
    remove = form.get("remove") == "1"
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(limit + 1)
    try:
        await run_in_threadpool(_store_avatar, request, viewer, data, remove, limit)
    except DockyardError as error:
        return _render_profile(request, viewer, notice=None, error=error.message, status=400)
    return see_other("/settings/profile?saved=1")


def _store_avatar(request: Request, viewer: Viewer, data: bytes, remove: bool, limit: int) -> None:
    assert viewer.user is not None
    with hub_of(request).db.write() as session:
        user = accounts.get_user(session, viewer.user.name)
        if remove:
            avatars.remove_avatar(session, user)
        elif not data:
            raise BadRequestError("Choose a picture to upload")
        else:
            avatars.set_avatar(session, user, data, max_bytes=limit)


# -- password -------------------------------------------------------------------------------------


@router.get("/settings/password")
def password_page(request: Request, changed: int = 0) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    notice = "Password changed. Your other sessions were signed out." if changed else None
    context: dict[str, Any] = {"tab": "password", "notice": notice, "error": None, "min_password": MIN_PASSWORD}
    return render(request, "settings/password.html", **context)


@router.post("/settings/password")
async def save_password(request: Request, form: VerifiedForm) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    current, new, confirm = (str(form.get(k, "")) for k in ("current", "password", "confirm"))
    try:
        await run_in_threadpool(_change_password, request, viewer, current, new, confirm)
    except SignupError as error:
        context: dict[str, Any] = {"tab": "password", "notice": None, "error": error, "min_password": MIN_PASSWORD}
        return render(request, "settings/password.html", status=400, **context)
    return see_other("/settings/password?changed=1")


def _change_password(request: Request, viewer: Viewer, current: str, new: str, confirm: str) -> None:
    """Wrong current passwords count against the client like failed logins, so a stolen cookie
    cannot be used to guess the password."""
    assert viewer.user is not None
    hub = hub_of(request)
    client = request.client.host if request.client else None
    throttle.check(hub.db, client)
    keep = viewer.session.id if viewer.session is not None else None
    try:
        with hub.db.write() as session:
            user = accounts.get_user(session, viewer.user.name)
            change_password(session, user, current=current, new=new, confirm=confirm, keep_session=keep)
    except SignupError as error:
        if error.field == "current":
            throttle.note_failure(hub.db, client)
        raise


# -- sessions -------------------------------------------------------------------------------------


@router.get("/settings/sessions")
def sessions_page(request: Request) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    assert viewer.user is not None
    with hub_of(request).db.read() as session:
        rows = sessions.list_sessions(session, accounts.get_user(session, viewer.user.name))
    current = viewer.session.id if viewer.session is not None else None
    return render(
        request, "settings/sessions.html", tab="sessions", rows=rows, current=current, describe=describe_agent
    )


@router.post("/settings/sessions/{session_id}/revoke")
def revoke_session(request: Request, session_id: int, form: VerifiedForm) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    assert viewer.user is not None
    with hub_of(request).db.write() as session:
        sessions.revoke_session(session, accounts.get_user(session, viewer.user.name), session_id)
    if viewer.session is not None and viewer.session.id == session_id:
        response = see_other("/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return see_other("/settings/sessions")


def describe_agent(row: WebSession) -> str:
    """A short, readable device description from the user agent (the full string is a tooltip)."""
    agent = row.user_agent or ""
    browser = next((name for name in ("Edg", "Firefox", "Chrome", "Safari") if name in agent), None)
    system = next((name for name in ("Android", "iPhone", "Windows", "Mac OS", "Linux") if name in agent), None)
    if browser is None and system is None:
        return agent[:60] or "Unknown device"
    label = {"Edg": "Edge", "Mac OS": "macOS"}
    parts = [label.get(p, p) for p in (browser, system) if p is not None]
    return " on ".join(parts)


# -- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeTarget:
    """One row of the fine-grained scope picker: an org, the user's namespace or one repo."""

    entity_type: str
    name: str
    label: str


def scope_targets(session: Session, user: Account, search: str = "") -> list[ScopeTarget]:
    """What a fine-grained token of ``user`` may be scoped to: their namespace, their orgs, and
    the repos owned by either (only repos the user can see, by construction); the repos are the
    first MAX_SCOPE_REPOS whose id contains ``search``, so any repo can be found."""
    orgs = [m.org for m in accounts.memberships_of(session, user)]
    targets = [ScopeTarget("user", user.name, f"All repos of {user.name}")]
    targets += [
        ScopeTarget("org", org.name, f"All repos of {org.name}") for org in sorted(orgs, key=lambda o: o.name_lower)
    ]
    query = select(Repo).where(Repo.owner_id.in_([user.id, *(org.id for org in orgs)]))
    if search:
        query = query.where(Repo.full_id_lower.contains(search.lower(), autoescape=True))
    repos = session.scalars(query.order_by(Repo.full_id_lower).limit(MAX_SCOPE_REPOS))
    for repo in repos:
        kind = RepoType(repo.type)
        prefix = "" if kind is RepoType.MODEL else f"{kind.value} "
        targets.append(ScopeTarget(kind.value, repo.full_id, f"{prefix}{repo.full_id}"))
    return targets + _bucket_targets(session, [user.id, *(org.id for org in orgs)], search)


def _bucket_targets(session: Session, owners: list[int], search: str) -> list[ScopeTarget]:
    query = select(Bucket).where(Bucket.owner_id.in_(owners))
    if search:
        query = query.where(Bucket.full_id_lower.contains(search.lower(), autoescape=True))
    buckets = session.scalars(query.order_by(Bucket.full_id_lower).limit(MAX_SCOPE_REPOS))
    return [ScopeTarget("bucket", bucket.full_id, f"bucket {bucket.full_id}") for bucket in buckets]


def _may_scope(session: Session, user: Account, entity_type: str, name: str) -> bool:
    """The picker's rule, checked for each ticked box: the user's namespace, one of their orgs,
    or a repo owned by either."""
    orgs = {m.org.name_lower: m.org.id for m in accounts.memberships_of(session, user)}
    if entity_type == "user":
        return name.lower() == user.name_lower
    if entity_type == "org":
        return name.lower() in orgs
    owners = [user.id, *orgs.values()]
    if entity_type == "bucket":
        bucket = select(Bucket.id).where(Bucket.full_id_lower == name.lower(), Bucket.owner_id.in_(owners))
        return session.scalar(bucket) is not None
    if entity_type not in {t.value for t in RepoType}:
        return False
    kind = RepoType(entity_type)
    found = select(Repo.id).where(Repo.type == kind.value, Repo.full_id_lower == name.lower())
    return session.scalar(found.where(Repo.owner_id.in_(owners))) is not None


def parse_scope_choices(session: Session, user: Account, values: list[str]) -> list[Scope]:
    """``TYPE:NAME:LEVEL`` checkbox values, each one a target the picker may offer ``user``;
    ticking both read and write on one target means write."""
    chosen: dict[tuple[str, str], str] = {}
    for value in values:
        entity_type, _, rest = value.partition(":")
        name, _, level = rest.rpartition(":")
        if entity_type not in ENTITY_TYPES or level not in LEVELS or not _may_scope(session, user, entity_type, name):
            raise BadRequestError(f"Unknown scope {value!r}")
        if chosen.get((entity_type, name)) != "write":
            chosen[(entity_type, name)] = level
    return [Scope(entity_type=t, name=n, level=level) for (t, n), level in chosen.items()]


@router.get("/settings/tokens")
def tokens_page(request: Request) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    return _render_tokens(request, viewer, created=None, error=None)


def _render_tokens(
    request: Request, viewer: Viewer, *, created: accounts.IssuedToken | None, error: str | None, status: int = 200
) -> Response:
    assert viewer.user is not None
    search = request.query_params.get("repos", "")[:96]
    with hub_of(request).db.read() as session:
        user = accounts.get_user(session, viewer.user.name)
        tokens = [t for t in accounts.list_tokens(session, user) if t.revoked_at is None]
        targets = scope_targets(session, user, search)
    return render(
        request,
        "settings/tokens.html",
        status=status,
        tab="tokens",
        tokens=list(reversed(tokens)),
        targets=targets,
        repo_search=search,
        created=created,
        error=error,
        scopes_of=_scope_labels,
        fine_grained=FINE_GRAINED,
    )


def _scope_labels(token: AccessToken) -> list[str]:
    return [f"{s.level} · {s.entity_type} {s.name}" for s in load_scopes(token.scopes)]


@router.post("/settings/tokens")
async def create_token(request: Request, form: VerifiedForm) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    role = str(form.get("role", "read"))
    name = str(form.get("name", "")).strip()[:200]
    chosen = [str(v) for v in form.getlist("scope")]
    try:
        issued = await run_in_threadpool(_issue, request, viewer, role, name, chosen)
    except DockyardError as error:
        return _render_tokens(request, viewer, created=None, error=error.message, status=400)
    return _render_tokens(request, viewer, created=issued, error=None)


def _issue(request: Request, viewer: Viewer, role: str, name: str, chosen: list[str]) -> accounts.IssuedToken:
    assert viewer.user is not None
    if not name:
        raise BadRequestError("Give the token a name, to recognise it in this list later")
    with hub_of(request).db.write() as session:
        user = accounts.get_user(session, viewer.user.name)
        scopes = parse_scope_choices(session, user, chosen) if role == FINE_GRAINED else []
        if role == FINE_GRAINED and not scopes:
            raise BadRequestError("A fine-grained token needs at least one permission: tick one below")
        return accounts.issue_token(session, user, role=role, display_name=name, scopes=scopes or None)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int, form: VerifiedForm) -> Response:
    viewer = _signed_in(request)
    if isinstance(viewer, Response):
        return viewer
    assert viewer.user is not None
    with hub_of(request).db.write() as session:
        accounts.revoke_token(session, accounts.get_user(session, viewer.user.name), token_id)
    return see_other("/settings/tokens")
