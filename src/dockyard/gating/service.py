"""The access-request flow of gated repos: asking, deciding, granting.

Who may download a gated repo's files is decided in one place, :mod:`dockyard.auth.access`
(``Right.DOWNLOAD``). ``gated="auto"`` accepts requests at once, ``"manual"`` leaves them pending
for the owners.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.audit.service import record_for
from dockyard.auth.access import Right, may
from dockyard.auth.cache import bump_epoch
from dockyard.auth.identity import Caller
from dockyard.db.base import utcnow
from dockyard.errors import AuthenticationRequiredError, BadRequestError, NotFoundError
from dockyard.gating.models import ACCEPTED, PENDING, REJECTED, STATUSES, AccessRequest
from dockyard.repos.models import Repo


def required_fields(repo: Repo) -> dict[str, Any]:
    fields = (repo.card_data or {}).get("extra_gated_fields") or {}
    return fields if isinstance(fields, dict) else {}


def request_access(session: Session, caller: Caller, repo: Repo, fields: dict[str, Any]) -> AccessRequest:
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to ask for access")
    if not repo.gated:
        raise BadRequestError(f"{repo.full_id} is not gated")
    missing = [name for name in required_fields(repo) if fields.get(name) in (None, "", False)]
    if missing:
        raise BadRequestError(f"Please fill in: {', '.join(missing)}")
    request = session.scalar(
        select(AccessRequest).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == caller.user.id)
    )
    if request is None:
        request = AccessRequest(repo_id=repo.id, user_id=caller.user.id)
        session.add(request)
    request.fields = {str(k): v for k, v in fields.items()}
    bump_epoch(session)
    request.status = ACCEPTED if repo.gated == "auto" else PENDING
    request.updated_at = utcnow()
    session.flush()
    record_for(session, caller, "access.requested", repo.full_id, status=request.status)
    return request


def list_requests(session: Session, repo: Repo, status: str) -> list[AccessRequest]:
    if status not in STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(STATUSES)}")
    return list(
        session.scalars(
            select(AccessRequest)
            .where(AccessRequest.repo_id == repo.id, AccessRequest.status == status)
            .order_by(AccessRequest.id)
        )
    )


def decide(
    session: Session, caller: Caller, repo: Repo, user: Account, status: str, reason: str | None = None
) -> AccessRequest:
    """Accept, reject or move back to pending (cancel) an existing request."""
    if status not in STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(STATUSES)}")
    request = session.scalar(
        select(AccessRequest).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == user.id)
    )
    if request is None:
        raise NotFoundError(f"{user.name} has not asked for access to {repo.full_id}")
    if status == ACCEPTED and request.status == ACCEPTED:  # the Hub: not in the list it is taken from
        raise NotFoundError(f"The access request of {user.name} to {repo.full_id} is already accepted")
    bump_epoch(session)
    request.status = status
    request.rejection_reason = reason if status == REJECTED else None
    request.updated_at = utcnow()
    session.flush()
    record_for(session, caller, f"access.{status}", repo.full_id, user=user.name, reason=reason)
    return request


def grant(session: Session, caller: Caller, repo: Repo, user: Account) -> AccessRequest:
    """Give access to a user who never asked (or was rejected). As on the Hub, granting it to one
    who has it already (an accepted request, or as a member of the owning namespace) is a 400."""
    if may(session, Caller(user=user, role="read"), repo, Right.DOWNLOAD):
        raise BadRequestError(f"{user.name} already has access to {repo.full_id}")
    request = session.scalar(
        select(AccessRequest).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == user.id)
    )
    if request is None:
        request = AccessRequest(repo_id=repo.id, user_id=user.id, fields={})
        session.add(request)
    bump_epoch(session)
    request.status = ACCEPTED
    request.updated_at = utcnow()
    session.flush()
    record_for(session, caller, "access.granted", repo.full_id, user=user.name)
    return request
