"""Site administration (``/admin``), for site admins only; to anyone else it does not exist (404).

Pages: users and organisations (with making and unmaking admins), the audit log with filters,
the storage and dedup report (what ``dockyard storage report`` prints), and the job queue's state.
Everything is read from the domain models through small view-model functions; the one change
(admin rights) is recorded in the audit log like every other account change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dockyard.accounts import service as accounts
from dockyard.accounts.models import ORG, USER, Account
from dockyard.audit.models import AuditEvent
from dockyard.audit.service import record_for
from dockyard.auth.cache import bump_epoch
from dockyard.errors import BadRequestError, NotFoundError
from dockyard.jobs.models import FAILED, QUEUED, RUNNING, Job
from dockyard.lfs.usage import hub_usage, usage_of_repos
from dockyard.repos.models import Repo
from dockyard.request_context import hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.redirects import see_other
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


class _NoAdminPage(NotFoundError):
    default_message = "Not found"


def _ensure_site_admin(request: Request) -> None:
    """The admin pages are invisible, not forbidden, to everyone but site admins."""
    viewer = viewer_of(request)
    if not (viewer.signed_in and viewer.is_admin):
        raise _NoAdminPage()


def _admin_page(request: Request, template: str, section: str, **context: Any) -> Response:
    return render(request, f"admin/{template}", section=section, **context)


@router.get("/admin")
def admin_home(request: Request) -> Response:
    _ensure_site_admin(request)
    with hub_of(request).db.read() as session:
        counts = {
            "users": session.scalar(select(func.count()).where(Account.kind == USER)) or 0,
            "organisations": session.scalar(select(func.count()).where(Account.kind == ORG)) or 0,
            "repositories": session.scalar(select(func.count()).select_from(Repo)) or 0,
            "queued jobs": session.scalar(select(func.count()).where(Job.status == QUEUED)) or 0,
            "failed jobs": session.scalar(select(func.count()).where(Job.status == FAILED)) or 0,
        }
    return _admin_page(request, "home.html", "home", counts=counts)


# -- users and organisations ---------------------------------------------------------------------------
@router.get("/admin/users")
def admin_users(request: Request, q: str = "", kind: str = "", page: int = 1) -> Response:
    _ensure_site_admin(request)
    page = max(page, 1)
    with hub_of(request).db.read() as session:
        rows, more = _accounts(session, q.strip(), kind, page)
        roles = _member_counts(session, [row.id for row in rows])
    notice = {"admin": "Admin rights updated."}.get(request.query_params.get("done", ""))
    return _admin_page(
        request, "users.html", "users", rows=rows, roles=roles, q=q, kind=kind, page=page, more=more, notice=notice
    )


def _accounts(session: Session, q: str, kind: str, page: int) -> tuple[list[Account], bool]:
    stmt = select(Account).order_by(Account.name_lower)
    if q:
        stmt = stmt.where(or_(Account.name_lower.contains(q.lower()), Account.fullname.contains(q)))
    if kind in (USER, ORG):
        stmt = stmt.where(Account.kind == kind)
    rows = list(session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def _member_counts(session: Session, ids: list[int]) -> dict[int, int]:
    """Repositories per account, shown beside each name."""
    if not ids:
        return {}
    rows = session.execute(select(Repo.owner_id, func.count()).where(Repo.owner_id.in_(ids)).group_by(Repo.owner_id))
    return {owner: count for owner, count in rows}


@router.post("/admin/users/admin")
async def set_admin(request: Request, data: VerifiedForm) -> Response:
    _ensure_site_admin(request)
    await run_in_threadpool(_set_admin, request, data)
    return see_other("/admin/users?done=admin")


def _set_admin(request: Request, data: FormData) -> None:
    name = str(data.get("user", ""))
    make = data.get("admin") == "true"
    viewer = viewer_of(request)
    if viewer.user is not None and name.lower() == viewer.user.name.lower() and not make:
        raise BadRequestError("You cannot remove your own admin rights")
    with hub_of(request).db.write() as session:
        user = accounts.get_user(session, name)
        user.is_admin = make
        bump_epoch(session)
        record_for(session, viewer.caller, "user.admin_granted" if make else "user.admin_revoked", user.name)


# -- audit log -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    target: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequestError(f"Dates are YYYY-MM-DD, not {value[:20]!r}") from None


@router.get("/admin/audit")
def admin_audit(
    request: Request, actor: str = "", action: str = "", target: str = "", since: str = "", until: str = "",
    before: int | None = None,
) -> Response:  # fmt: skip
    _ensure_site_admin(request)
    filters = AuditFilters(actor.strip(), action.strip(), target.strip(), _day(since), _day(until), before)
    with hub_of(request).db.read() as session:
        events = _audit_events(session, filters)
        actions = list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return _admin_page(
        request, "audit.html", "audit", events=events, filters=filters, actions=actions,
        next_before=events[-1].id if more and events else None,
    )  # fmt: skip


def _audit_events(session: Session, filters: AuditFilters) -> list[AuditEvent]:
    """Newest first; ``target`` matches a part of the target, the dates are whole UTC days."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor == filters.actor)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.target:
        stmt = stmt.where(AuditEvent.target.contains(filters.target, autoescape=True))
    if filters.since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        stmt = stmt.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time.min, UTC))
    if filters.before is not None:
        stmt = stmt.where(AuditEvent.id < filters.before)
    return list(session.scalars(stmt))


# -- storage and jobs ----------------------------------------------------------------------------------
@router.get("/admin/storage")
def admin_storage(request: Request, namespace: str = "") -> Response:
    _ensure_site_admin(request)
    with hub_of(request).db.read() as session:
        total = hub_usage(session)
        repos: list[dict[str, Any]] = []
        if namespace.strip():
            account = accounts.get_account(session, namespace.strip())
            owned = session.execute(select(Repo.id, Repo.type, Repo.full_id).where(Repo.owner_id == account.id))
            repos = [
                {"id": full_id, "type": kind, "usage": usage_of_repos(session, [repo_id])}
                for repo_id, kind, full_id in owned
            ]
    saved = total.logical_bytes - total.stored_bytes
    ratio = (total.logical_bytes / total.stored_bytes) if total.stored_bytes else None
    return _admin_page(
        request, "storage.html", "storage", total=total, saved=saved, ratio=ratio, namespace=namespace, repos=repos
    )


@router.get("/admin/jobs")
def admin_jobs(request: Request) -> Response:
    _ensure_site_admin(request)
    with hub_of(request).db.read() as session:
        by_kind = session.execute(
            select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status).order_by(Job.kind)
        ).all()
        active = list(session.scalars(select(Job).where(Job.status.in_((QUEUED, RUNNING))).order_by(Job.id).limit(50)))
        failed = list(session.scalars(select(Job).where(Job.status == FAILED).order_by(Job.id.desc()).limit(50)))
    table: dict[str, dict[str, int]] = {}
    for kind, status, count in by_kind:
        table.setdefault(kind, {})[status] = count
    return _admin_page(request, "jobs.html", "jobs", table=table, active=active, failed=failed)
