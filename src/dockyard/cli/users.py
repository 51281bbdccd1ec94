"""dockyard user … / dockyard token … / dockyard org …"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from dockyard.accounts import invites, password_reset, sessions
from dockyard.accounts import service as accounts
from dockyard.accounts.passwords import hash_password
from dockyard.accounts.signup import check_password
from dockyard.auth.scopes import load_scopes, parse_scope
from dockyard.cli.common import DataDirOption, open_hub
from dockyard.errors import DockyardError

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage access tokens.", no_args_is_help=True)
org_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)


def _fail(error: DockyardError) -> None:
    typer.echo(f"error: {error.message}", err=True)
    raise typer.Exit(code=1)


@user_app.command("create")
def create_user(
    name: str,
    fullname: Annotated[str | None, typer.Option("--fullname")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    admin: Annotated[bool, typer.Option("--admin")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user account."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            user = accounts.create_user(
                session, name, fullname=fullname, email=email, password=password, is_admin=admin
            )
            typer.echo(f"created user {user.name}")
    except DockyardError as error:
        _fail(error)


@token_app.command("create")
def create_token(
    name: str,
    role: Annotated[str, typer.Option("--role", help="read, write or fineGrained")] = "write",
    label: Annotated[str | None, typer.Option("--name", help="A label for the token")] = None,
    value: Annotated[str | None, typer.Option("--value", help="Import this existing token string")] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="fineGrained only, repeatable: TYPE:NAME:read|write, e.g. model:acme/bert:write"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a token for user NAME; the token is printed on the last line."""
    hub = open_hub(data_dir)
    try:
        scopes = [parse_scope(text) for text in scope or []]
        with hub.db.write() as session:
            user = accounts.get_user(session, name)
            issued = accounts.issue_token(
                session, user, role=role, display_name=label or "", value=value, scopes=scopes or None
            )
    except DockyardError as error:
        _fail(error)
        return
    typer.echo(f"{role} token for {name} ({issued.token.display_name}):")
    typer.echo(issued.value)


@token_app.command("list")
def list_tokens(name: str, data_dir: DataDirOption = None) -> None:
    """List NAME's tokens: id, label, role, scopes, created, last used, revoked (never the values)."""
    hub = open_hub(data_dir)
    try:
        with hub.db.read() as session:
            tokens = accounts.list_tokens(session, accounts.get_user(session, name))
    except DockyardError as error:
        _fail(error)
        return
    for token in tokens:
        scopes = ",".join(f"{s.entity_type}:{s.name}:{s.level}" for s in load_scopes(token.scopes)) or "-"
        typer.echo(
            f"{token.id}\t{token.display_name}\t{token.role}\t{token.token_hint}\tscopes={scopes}\t"
            f"created={token.created_at:%Y-%m-%d %H:%M}\tlast_used={_when(token.last_used_at)}\t"
            f"revoked={_when(token.revoked_at)}"
        )


@token_app.command("revoke")
def revoke_token(name: str, token_id: int, data_dir: DataDirOption = None) -> None:
    """Revoke token TOKEN_ID of user NAME (see `dockyard token list`)."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            token = accounts.revoke_token(session, accounts.get_user(session, name), token_id)
            typer.echo(f"revoked token {token.id} ({token.display_name})")
    except DockyardError as error:
        _fail(error)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


@org_app.command("create")
def create_org(
    org: str,
    owner: Annotated[str, typer.Option("--owner", help="The user who becomes the first admin")],
    fullname: Annotated[str | None, typer.Option("--fullname")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an organisation owned by an existing user."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            account = accounts.create_org(session, org, owner=accounts.get_user(session, owner), fullname=fullname)
            typer.echo(f"created organization {account.name}")
    except DockyardError as error:
        _fail(error)


@org_app.command("set-default-visibility")
def set_default_visibility(
    org: str,
    visibility: Annotated[str, typer.Argument(help="private or public")],
    data_dir: DataDirOption = None,
) -> None:
    """Set the visibility of ORG's new repos when create_repo does not say (private by default)."""
    if visibility not in ("private", "public"):
        typer.echo("error: visibility must be 'private' or 'public'", err=True)
        raise typer.Exit(code=2)
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            org_account = accounts.get_account(session, org)
            accounts.set_default_visibility(session, org_account, private=visibility == "private")
            typer.echo(f"new repos of {org_account.name} are {visibility} unless created otherwise")
    except DockyardError as error:
        _fail(error)


@org_app.command("add-member")
def add_member(
    org: str,
    name: str,
    role: Annotated[str, typer.Option("--role", help="read, write or admin")] = "read",
    data_dir: DataDirOption = None,
) -> None:
    """Add NAME to ORG with a role (or change their role)."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            accounts.set_membership(session, accounts.get_account(session, org), accounts.get_user(session, name), role)
            typer.echo(f"{name} is now {role} in {org}")
    except DockyardError as error:
        _fail(error)


@org_app.command("remove-member")
def remove_member(org: str, name: str, data_dir: DataDirOption = None) -> None:
    """Remove NAME from ORG."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            accounts.remove_membership(session, accounts.get_account(session, org), accounts.get_user(session, name))
            typer.echo(f"{name} is no longer a member of {org}")
    except DockyardError as error:
        _fail(error)


def _public_base(hub_url: str | None) -> str:
    return (hub_url or "http://127.0.0.1:8000").rstrip("/")


@user_app.command("invite")
def invite(
    org: Annotated[str | None, typer.Option("--org", help="Invite into this organisation (with --role)")] = None,
    role: Annotated[str, typer.Option("--role", help="read, write or admin (org invites)")] = "read",
    uses: Annotated[int, typer.Option("--uses", help="How many people may use the link")] = 1,
    data_dir: DataDirOption = None,
) -> None:
    """Print an invite link: to sign up when DOCKYARD_SIGNUP_POLICY=invite, or to join --org."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            org_account = accounts.get_account(session, org) if org else None
            issued = invites.create_invite(session, org=org_account, role=role, max_uses=uses, actor="cli")
    except DockyardError as error:
        _fail(error)
        return
    base = _public_base(hub.settings.public_url)
    if org:
        typer.echo(f"invite to {org} as {role} ({uses} use(s), valid 7 days):")
        typer.echo(f"{base}/organizations/{org}/invite/{issued.secret}")
    else:
        typer.echo(f"sign-up invite ({uses} use(s), valid 7 days):")
        typer.echo(f"{base}/join?invite={issued.secret}")


@user_app.command("reset-link")
def reset_link(name: str, data_dir: DataDirOption = None) -> None:
    """Print a one-time link (valid 1 hour) with which user NAME sets a new password."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            secret = password_reset.create_reset(session, accounts.get_user(session, name), actor="cli")
    except DockyardError as error:
        _fail(error)
        return
    typer.echo(f"password-reset link for {name} (one use, valid 1 hour):")
    typer.echo(f"{_public_base(hub.settings.public_url)}/reset/{secret}")


@user_app.command("set-password")
def set_password(
    name: str,
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDirOption = None,
) -> None:
    """Set user NAME's password (at least 8 characters) and sign them out everywhere."""
    hub = open_hub(data_dir)
    try:
        check_password(password, password)
        with hub.db.write() as session:
            user = accounts.get_user(session, name)
            user.password_hash = hash_password(password)
            sessions.revoke_all_sessions(session, user)
    except DockyardError as error:
        _fail(error)
        return
    typer.echo(f"password of {name} set")


@user_app.command("disable")
def disable(name: str, data_dir: DataDirOption = None) -> None:
    """Offboard user NAME at once: tokens revoked, browser sessions ended, sign-in refused.
    Their repos and memberships stay."""
    _switch_user(name, accounts.disable_user, "disabled: every token revoked, every session ended", data_dir)


@user_app.command("enable")
def enable(name: str, data_dir: DataDirOption = None) -> None:
    """Let disabled user NAME sign in again (old tokens stay revoked: they create new ones)."""
    _switch_user(name, accounts.enable_user, "enabled", data_dir)


def _switch_user(name: str, change: Callable[..., None], done: str, data_dir: Path | None) -> None:
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            change(session, accounts.get_user(session, name), actor="cli")
    except DockyardError as error:
        _fail(error)
        return
    typer.echo(f"{name} {done}")
