"""Signing in and out, joining, password-reset links and account pictures."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dockyard.accounts import avatars, sessions
from dockyard.accounts import service as accounts
from dockyard.accounts.invites import find_signup_invite
from dockyard.accounts.models import USER
from dockyard.accounts.password_reset import find_reset, reset_password
from dockyard.accounts.passwords import verify_password
from dockyard.accounts.signup import MIN_PASSWORD, SignupError, sign_up
from dockyard.audit.service import record
from dockyard.auth import throttle
from dockyard.errors import AccountDisabledError, NotFoundError, RateLimitedError
from dockyard.request_context import SESSION_COOKIE, hub_of
from dockyard.web.csrf import VerifiedForm, cookie_is_secure
from dockyard.web.redirects import safe_next, see_other
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/", reset: int = 0, user: str = "") -> Response:
    notice = "Your password was changed: log in with the new one." if reset else None
    return render(request, "accounts/login.html", next=safe_next(next), error=None, username=user[:96], notice=notice)


@router.post("/login")
async def log_in(request: Request, form: VerifiedForm) -> Response:
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))
    try:
        opened = await run_in_threadpool(_sign_in, request, username, password)
    except RateLimitedError as exc:
        page = render(request, "accounts/login.html", status=429, next=target, error=exc.message, username=username)
        page.headers.update(exc.headers or {})
        return page
    except AccountDisabledError as exc:  # the right password, on a disabled account
        return render(request, "accounts/login.html", status=403, next=target, error=exc.message, username=username)
    if opened is None:
        error = "Wrong username or password."
        return render(request, "accounts/login.html", status=401, next=target, error=error, username=username)
    response = see_other(target)
    start_session_cookie(request, response, opened.cookie_value)
    return response


def _sign_in(request: Request, username: str, password: str) -> sessions.OpenedSession | None:
    """Failed attempts count against the client's address, as failed token checks do."""
    hub = hub_of(request)
    client = request.client.host if request.client else None
    throttle.check(hub.db, client)
    with hub.db.write() as session:
        user = accounts.find_account(session, username) if username else None
        if user is None or user.kind != USER or not verify_password(user.password_hash, password):
            record(session, "session.login_failed", actor=None, target=username[:96])
            user = None
        else:
            agent = request.headers.get("user-agent", "")
            return sessions.open_session(session, user, user_agent=agent, ip=client)
    throttle.note_failure(hub.db, client)
    return None


def start_session_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request),
        path="/",
    )


@router.post("/logout")
def log_out(request: Request, form: VerifiedForm) -> Response:
    hub = hub_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with hub.db.write() as session:
            row = sessions.find_session(session, cookie)
            if row is not None:
                sessions.revoke_session(session, row.user, row.id)
    response = see_other("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- joining --------------------------------------------------------------------------------------


@router.get("/join")
def join_page(request: Request, invite: str = "") -> Response:
    policy = hub_of(request).settings.signup_policy
    if viewer_of(request).signed_in:
        return see_other("/")
    return render(request, "accounts/join.html", **_join_context(request, policy, invite, {}, None))


@router.post("/join")
async def join(request: Request, form: VerifiedForm) -> Response:
    fields = {key: str(form.get(key, "")) for key in ("username", "fullname", "email", "password", "confirm", "invite")}
    fields["username"] = fields["username"].strip()
    fields["email"] = fields["email"].strip()
    policy = hub_of(request).settings.signup_policy
    try:
        opened = await run_in_threadpool(_join, request, policy, fields)
    except SignupError as error:
        context = _join_context(request, policy, fields["invite"], fields, error)
        return render(request, "accounts/join.html", status=400, **context)
    response = see_other("/settings/profile?welcome=1")
    start_session_cookie(request, response, opened.cookie_value)
    return response


def _join_context(
    request: Request, policy: str, invite: str, fields: dict[str, str], error: SignupError | None
) -> dict[str, Any]:
    """What the join form shows: whether joining is possible at all, and the error of one field."""
    hub = hub_of(request)
    invite_ok = True
    if policy == "invite":
        with hub.db.read() as session:
            invite_ok = find_signup_invite(session, invite) is not None
    return {
        "policy": policy,
        "invite": invite,
        "invite_ok": invite_ok,
        "fields": fields,
        "error": error,
        "min_password": MIN_PASSWORD,
    }


def _join(request: Request, policy: str, fields: dict[str, str]) -> sessions.OpenedSession:
    hub = hub_of(request)
    client = request.client.host if request.client else None
    with hub.db.write() as session:
        user = sign_up(
            session,
            policy=policy,
            username=fields["username"],
            fullname=fields["fullname"],
            email=fields["email"],
            password=fields["password"],
            confirm=fields["confirm"],
            invite=fields["invite"],
        )
        return sessions.open_session(session, user, user_agent=request.headers.get("user-agent", ""), ip=client)


# -- password reset (links made by `dockyard user reset-link`) -------------------------------------


@router.get("/reset/{secret}")
def reset_page(request: Request, secret: str) -> Response:
    with hub_of(request).db.read() as session:
        row = find_reset(session, secret)
        name = row.user.name if row is not None else None
    if name is None:
        raise NotFoundError("This reset link has expired or was already used")
    return render(request, "accounts/reset.html", name=name, secret=secret, error=None, min_password=MIN_PASSWORD)


@router.post("/reset/{secret}")
async def reset(request: Request, secret: str, form: VerifiedForm) -> Response:
    new, confirm = str(form.get("password", "")), str(form.get("confirm", ""))
    try:
        name = await run_in_threadpool(_reset, request, secret, new, confirm)
    except SignupError as error:
        with hub_of(request).db.read() as session:
            row = find_reset(session, secret)
            user_name = row.user.name if row is not None else ""
        context: dict[str, Any] = {"name": user_name, "secret": secret, "error": error, "min_password": MIN_PASSWORD}
        return render(request, "accounts/reset.html", status=400, **context)
    return see_other(f"/login?reset=1&next=/settings/profile&user={quote(name)}")


def _reset(request: Request, secret: str, new: str, confirm: str) -> str:
    with hub_of(request).db.write() as session:
        return reset_password(session, secret, new, confirm).name


# -- avatars --------------------------------------------------------------------------------------

_AVATAR_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=300",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@router.get("/-/avatars/{name}")
def avatar(request: Request, name: str) -> Response:
    """An account's uploaded picture (its sniffed type, never sniffed again by the browser) or a
    generated one; every name gets a picture, so this reveals nothing about which names exist."""
    with hub_of(request).db.read() as session:
        account = accounts.find_account(session, name)
        uploaded = avatars.uploaded_avatar(session, account) if account is not None else None
        if uploaded is not None:
            return Response(uploaded.data, media_type=uploaded.content_type, headers=_AVATAR_HEADERS)
    label = account.name if account is not None else name
    return Response(avatars.generated_avatar(label), media_type="image/svg+xml", headers=_AVATAR_HEADERS)
