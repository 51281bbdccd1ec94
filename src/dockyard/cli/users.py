"""dockyard user … / dockyard token … / dockyard org …"""

from __future__ import annotations

from typing import Annotated

import typer

from dockyard.accounts import service as accounts
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
    role: Annotated[str, typer.Option("--role", help="read or write")] = "write",
    label: Annotated[str | None, typer.Option("--name", help="A label for the token")] = None,
    value: Annotated[str | None, typer.Option("--value", help="Import this existing token string")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a token for user NAME; the token is printed on the last line."""
    hub = open_hub(data_dir)
    try:
        with hub.db.write() as session:
            user = accounts.get_user(session, name)
            issued = accounts.issue_token(session, user, role=role, display_name=label or "", value=value)
    except DockyardError as error:
        _fail(error)
        return
    typer.echo(f"{role} token for {name} ({issued.token.display_name}):")
    typer.echo(issued.value)


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
