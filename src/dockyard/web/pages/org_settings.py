"""An organisation's settings, for its admins (and site admins): members and their roles, invite
links and the default visibility of new repos. Others get what the API gives them: a 404 when
they are not members, a 403 when they are members without the admin role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from dockyard.accounts import invites
from dockyard.accounts import service as accounts
from dockyard.accounts.models import ORG, Account, Membership
from dockyard.accounts.self_service_models import Invite
from dockyard.errors import AccountNotFoundError, DockyardError, ForbiddenError
from dockyard.request_context import base_url, hub_of
from dockyard.web.csrf import VerifiedForm
from dockyard.web.redirects import login_url, see_other
from dockyard.web.templating import render
from dockyard.web.viewer import Viewer, viewer_of

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class OrgAdmin:
    """The organisation a settings page is about, and the admin looking at it."""

    org: Account
    viewer: Viewer

    @property
    def actor(self) -> str:
        assert self.viewer.user is not None
        return self.viewer.user.name


def _org_admin(request: Request, name: str) -> OrgAdmin | Response:
    """The org if the viewer administers it; anonymous viewers are sent to log in first."""
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url(request.url.path))
    with hub_of(request).db.read() as session:
        org = accounts.find_account(session, name)
        if org is None or org.kind != ORG:
            raise AccountNotFoundError(f"No organization named {name!r}")
        role = accounts.org_role(session, org.id, viewer.user.id)
    if viewer.is_admin or role == "admin":
        return OrgAdmin(org=org, viewer=viewer)
    if role is None:
        raise AccountNotFoundError(f"No organization named {name!r}")
    raise ForbiddenError(f"Only admins of {org.name} can change its settings")


def _settings_url(org: Account, page: str = "") -> str:
    return f"/organizations/{org.name}/settings{page}"


@router.get("/organizations/{name}/settings")
def general_page(request: Request, name: str, saved: int = 0) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    notice = "Saved." if saved else None
    return render(request, "settings/org_general.html", org=admin.org, tab="general", notice=notice)


@router.post("/organizations/{name}/settings/visibility")
def save_visibility(request: Request, name: str, form: VerifiedForm) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    private = form.get("visibility") == "private"
    with hub_of(request).db.write() as session:
        org = accounts.get_account(session, admin.org.name)
        accounts.set_default_visibility(session, org, private=private, actor=admin.actor)
    return see_other(_settings_url(admin.org) + "?saved=1")


# -- members and invites --------------------------------------------------------------------------


@router.get("/organizations/{name}/settings/members")
def members_page(request: Request, name: str) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    return _render_members(request, admin, new_link=None, error=None)


def _render_members(
    request: Request, admin: OrgAdmin, *, new_link: str | None, error: str | None, status: int = 200
) -> Response:
    with hub_of(request).db.read() as session:
        members = list(
            session.scalars(select(Membership).where(Membership.org_id == admin.org.id).order_by(Membership.created_at))
        )
        live: list[Invite] = invites.list_invites(session, admin.org)
    return render(
        request,
        "settings/org_members.html",
        status=status,
        org=admin.org,
        tab="members",
        members=members,
        invites=live,
        new_link=new_link,
        error=error,
        roles=accounts.ORG_ROLES,
        notice=None,
    )


@router.post("/organizations/{name}/settings/members/{user}/role")
def change_role(request: Request, name: str, user: str, form: VerifiedForm) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    role = str(form.get("role", ""))
    try:
        with hub_of(request).db.write() as session:
            org = accounts.get_account(session, admin.org.name)
            member = accounts.get_user(session, user)
            if accounts.org_role(session, org.id, member.id) is None:
                raise AccountNotFoundError(f"{member.name} is not a member of {org.name}")
            _keep_an_admin(session, org, member, role)
            accounts.set_membership(session, org, member, role, actor=admin.actor)
    except DockyardError as error:
        return _render_members(request, admin, new_link=None, error=error.message, status=error.status)
    return see_other(_settings_url(admin.org, "/members"))


def _keep_an_admin(session: Session, org: Account, member: Account, role: str) -> None:
    """An organisation always keeps one admin: the last one cannot step down."""
    if role == "admin":
        return
    admins = session.scalars(select(Membership.user_id).where(Membership.org_id == org.id, Membership.role == "admin"))
    if list(admins) == [member.id]:
        raise ForbiddenError(f"{member.name} is the last admin of {org.name}: make someone else admin first")


@router.post("/organizations/{name}/settings/members/{user}/remove")
def remove_member(request: Request, name: str, user: str, form: VerifiedForm) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    try:
        with hub_of(request).db.write() as session:
            org = accounts.get_account(session, admin.org.name)
            accounts.remove_membership(session, org, accounts.get_user(session, user), actor=admin.actor)
    except DockyardError as error:
        return _render_members(request, admin, new_link=None, error=error.message, status=error.status)
    return see_other(_settings_url(admin.org, "/members"))


@router.post("/organizations/{name}/settings/invites")
def create_invite(request: Request, name: str, form: VerifiedForm) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    role = str(form.get("role", "read"))
    try:
        uses = int(str(form.get("max_uses", "1")) or "1")
        with hub_of(request).db.write() as session:
            org = accounts.get_account(session, admin.org.name)
            issued = invites.create_invite(session, org=org, role=role, max_uses=uses, actor=admin.actor)
    except ValueError:
        return _render_members(request, admin, new_link=None, error="Uses must be a number", status=400)
    except DockyardError as error:
        return _render_members(request, admin, new_link=None, error=error.message, status=error.status)
    link = f"{base_url(request)}/organizations/{admin.org.name}/invite/{issued.secret}"
    return _render_members(request, admin, new_link=link, error=None)


@router.post("/organizations/{name}/settings/invites/{invite_id}/revoke")
def revoke_invite(request: Request, name: str, invite_id: int, form: VerifiedForm) -> Response:
    admin = _org_admin(request, name)
    if isinstance(admin, Response):
        return admin
    with hub_of(request).db.write() as session:
        org = accounts.get_account(session, admin.org.name)
        invites.revoke_invite(session, org, invite_id, actor=admin.actor)
    return see_other(_settings_url(admin.org, "/members"))


# -- accepting an invite --------------------------------------------------------------------------


def _live_invite(request: Request, name: str, secret: str) -> tuple[Account, Invite]:
    with hub_of(request).db.read() as session:
        org = accounts.find_account(session, name)
        invite = invites.find_invite(session, secret, org=org) if org is not None and org.kind == ORG else None
    if org is None or invite is None:
        raise AccountNotFoundError("This invite link is not valid any more")
    return org, invite


@router.get("/organizations/{name}/invite/{secret}")
def invite_page(request: Request, name: str, secret: str) -> Response:
    """Signed in: a button to join. Anonymous: log in (coming back here) or sign up with it."""
    org, invite = _live_invite(request, name, secret)
    viewer = viewer_of(request)
    role = None
    if viewer.user is not None:
        with hub_of(request).db.read() as session:
            role = accounts.org_role(session, org.id, viewer.user.id)
    context: dict[str, Any] = {
        "org": org,
        "invite": invite,
        "secret": secret,
        "current_role": role,
        "login": login_url(request.url.path),
    }
    return render(request, "settings/org_invite.html", **context)


@router.post("/organizations/{name}/invite/{secret}")
def accept_invite(request: Request, name: str, secret: str, form: VerifiedForm) -> Response:
    viewer = viewer_of(request)
    if viewer.user is None:
        return see_other(login_url(request.url.path))
    org, _ = _live_invite(request, name, secret)
    with hub_of(request).db.write() as session:
        invites.join_org(
            session, accounts.get_account(session, org.name), secret, accounts.get_user(session, viewer.user.name)
        )
    return see_other(f"/{org.name}")
