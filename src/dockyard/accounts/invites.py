"""Invite links: a site invite lets its holder sign up when the sign-up policy is ``invite``; an
organisation invite adds the signed-in user who opens it to the organisation with its role.

Only the sha256 of the link's secret is stored, so a leaked database holds no usable link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts.models import ORG, Account
from dockyard.accounts.self_service_models import Invite
from dockyard.accounts.service import ORG_ROLES, org_role, set_membership
from dockyard.accounts.tokens import hash_token
from dockyard.audit.service import record
from dockyard.db.base import utcnow
from dockyard.errors import BadRequestError, NotFoundError

INVITE_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    invite: Invite
    secret: str


def create_invite(
    session: Session,
    *,
    org: Account | None = None,
    role: str = "read",
    max_uses: int = 1,
    actor: str | None = None,
    lifetime: timedelta = INVITE_LIFETIME,
) -> IssuedInvite:
    """A new invite; the secret is returned once (the link is ``/join?invite=`` or the org's)."""
    if org is not None and org.kind != ORG:
        raise BadRequestError(f"{org.name!r} is not an organization")
    if role not in ORG_ROLES:
        raise BadRequestError(f"Invalid role {role!r}; expected one of {', '.join(ORG_ROLES)}")
    if not 1 <= max_uses <= 1000:
        raise BadRequestError("An invite allows between 1 and 1000 uses")
    secret = secrets.token_urlsafe(24)
    invite = Invite(
        token_hash=hash_token(secret),
        org_id=org.id if org is not None else None,
        role=role,
        created_by=actor,
        max_uses=max_uses,
        uses=0,
        expires_at=utcnow() + lifetime,
    )
    session.add(invite)
    session.flush()
    target = org.name if org is not None else "site"
    record(session, "invite.created", actor=actor, target=target, details={"invite": invite.id, "role": role})
    return IssuedInvite(invite=invite, secret=secret)


def find_invite(session: Session, secret: str, *, org: Account | None = None) -> Invite | None:
    """The usable invite a link names (for ``org``, or a site invite when ``org`` is None)."""
    if not secret:
        return None
    invite = session.scalar(select(Invite).where(Invite.token_hash == hash_token(secret)))
    if invite is None or invite.revoked_at is not None or invite.expires_at <= utcnow():
        return None
    if invite.uses >= invite.max_uses:
        return None
    if invite.org_id != (org.id if org is not None else None):
        return None
    return invite


def find_signup_invite(session: Session, secret: str) -> Invite | None:
    """An invite that lets a new person join the site: a site invite, or an organisation's (the
    organisation vouches for them and they join it too)."""
    if not secret:
        return None
    invite = session.scalar(select(Invite).where(Invite.token_hash == hash_token(secret)))
    if invite is None:
        return None
    return find_invite(session, secret, org=invite.org)


def use_signup_invite(session: Session, secret: str, user: Account) -> None:
    invite = find_signup_invite(session, secret)
    if invite is None:
        raise NotFoundError("This invite link is not valid any more")
    if invite.org is not None:
        join_org(session, invite.org, secret, user)
        return
    invite.uses += 1
    record(session, "invite.used", actor=user.name, target="site", details={"invite": invite.id})


def join_org(session: Session, org: Account, secret: str, user: Account) -> str:
    """Add ``user`` to ``org`` with the invite's role (an existing higher role is kept); the role."""
    invite = find_invite(session, secret, org=org)
    if invite is None:
        raise NotFoundError("This invite link is not valid any more")
    invite.uses += 1
    current = org_role(session, org.id, user.id)
    role = invite.role
    if current is not None and ORG_ROLES.index(current) >= ORG_ROLES.index(role):
        return current
    set_membership(session, org, user, role, actor=user.name)
    record(session, "invite.used", actor=user.name, target=org.name, details={"invite": invite.id, "role": role})
    return role


def list_invites(session: Session, org: Account | None) -> list[Invite]:
    """The live invites of ``org`` (or of the site), newest first."""
    query = select(Invite).where(Invite.revoked_at.is_(None), Invite.expires_at > utcnow())
    query = query.where(Invite.org_id == org.id) if org is not None else query.where(Invite.org_id.is_(None))
    return [i for i in session.scalars(query.order_by(Invite.id.desc())) if i.uses < i.max_uses]


def revoke_invite(session: Session, org: Account | None, invite_id: int, *, actor: str | None = None) -> None:
    invite = session.get(Invite, invite_id)
    if invite is None or invite.org_id != (org.id if org is not None else None):
        raise NotFoundError(f"No invite {invite_id}")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        target = org.name if org is not None else "site"
        record(session, "invite.revoked", actor=actor, target=target, details={"invite": invite.id})
