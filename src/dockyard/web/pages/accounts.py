"""Signing in and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dockyard.accounts import service as accounts
from dockyard.accounts import sessions
from dockyard.accounts.models import USER
from dockyard.accounts.passwords import verify_password
from dockyard.audit.service import record
from dockyard.auth import throttle
from dockyard.errors import RateLimitedError
from dockyard.request_context import SESSION_COOKIE, hub_of
from dockyard.web.csrf import VerifiedForm, cookie_is_secure
from dockyard.web.redirects import safe_next, see_other
from dockyard.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "accounts/login.html", next=safe_next(next), error=None, username="")


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
