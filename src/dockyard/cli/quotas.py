"""dockyard storage quota show|set|clear: storage quotas per namespace."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.cli.common import DataDirOption, open_hub
from dockyard.quotas import service as quotas

quota_app = typer.Typer(help="Storage quotas per namespace (repos' large files and buckets).", no_args_is_help=True)
NamespaceArg = Annotated[str, typer.Argument(help="A user or organisation")]


def _show(session: Session, name: str) -> dict[str, object]:
    account = accounts.get_account(session, name)
    used = quotas.usage(session, account.id)
    return {
        "name": account.name,
        "maxBytes": quotas.quota_of(session, account.id),
        "usedBytes": used.total,
        "repoBytes": used.repo_bytes,
        "bucketBytes": used.bucket_bytes,
    }


@quota_app.command("show")
def show(namespace: NamespaceArg, data_dir: DataDirOption = None) -> None:
    """The namespace's quota (null: none) and the logical bytes it counts."""
    hub = open_hub(data_dir)
    with hub.db.read() as session:
        typer.echo(json.dumps(_show(session, namespace), indent=2))


@quota_app.command("set")
def set_quota(
    namespace: NamespaceArg,
    max_bytes: Annotated[int, typer.Argument(help="Largest total of logical bytes", min=0)],
    data_dir: DataDirOption = None,
) -> None:
    """Uploads that would take the namespace past MAX_BYTES are refused before any data is sent."""
    hub = open_hub(data_dir)
    with hub.db.write() as session:
        quotas.set_quota(session, None, accounts.get_account(session, namespace), max_bytes)
    with hub.db.read() as session:
        typer.echo(json.dumps(_show(session, namespace), indent=2))


@quota_app.command("clear")
def clear(namespace: NamespaceArg, data_dir: DataDirOption = None) -> None:
    """Remove the namespace's quota (no limit)."""
    hub = open_hub(data_dir)
    with hub.db.write() as session:
        cleared = quotas.clear_quota(session, None, accounts.get_account(session, namespace))
    typer.echo("quota cleared" if cleared else "no quota was set")
