"""Recording and reading audit events.

Where a request came from is kept in a context variable set by the HTTP middleware (or "cli" by
the command line), so domain code records events without passing request objects around.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.audit.models import AuditEvent


@dataclass(frozen=True, slots=True)
class Origin:
    ip: str | None
    user_agent: str | None


_CLI = Origin(ip=None, user_agent="cli")
_ORIGIN: ContextVar[Origin | None] = ContextVar("dockyard_audit_origin", default=None)


def set_origin(origin: Origin) -> None:
    _ORIGIN.set(origin)


def current_origin() -> Origin:
    """Where the current request came from (kept with a commit intent, so that an event recorded
    later by the reconciler names the real origin)."""
    return _ORIGIN.get() or _CLI


def record(
    session: Session,
    action: str,
    *,
    actor: str | None,
    target: str = "",
    token_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an event to the caller's transaction (it exists only if the change commits)."""
    record_from(session, _ORIGIN.get() or _CLI, action, actor=actor, target=target, token_id=token_id, details=details)


def record_from(
    session: Session,
    origin: Origin,
    action: str,
    *,
    actor: str | None,
    target: str = "",
    token_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """:func:`record` for an event that happened in an earlier request, from ``origin``."""
    session.add(
        AuditEvent(
            actor=actor,
            token_id=token_id,
            action=action,
            target=target[:300],
            details=details,
            ip=origin.ip,
            user_agent=(origin.user_agent or "")[:300] or None,
        )
    )


def record_for(session: Session, caller: Any, action: str, target: str = "", **details: Any) -> None:
    """Convenience for a Caller (from dockyard.auth.identity)."""
    user = getattr(caller, "user", None)
    token = getattr(caller, "token", None)
    record(
        session,
        action,
        actor=user.name if user is not None else None,
        target=target,
        token_id=token.id if token is not None else None,
        details=details or None,
    )


def query(
    session: Session,
    *,
    limit: int = 100,
    before_id: int | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(min(max(limit, 1), 1000))
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    return list(session.scalars(stmt))


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "tokenId": event.token_id,
        "action": event.action,
        "target": event.target,
        "details": event.details or {},
        "ip": event.ip,
        "userAgent": event.user_agent,
    }
