"""dockyard gc / dockyard storage …"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.buckets.models import Bucket
from dockyard.cli.common import DataDirOption, open_hub
from dockyard.cli.quotas import quota_app
from dockyard.lfs.usage import hub_usage, usage_of_buckets, usage_of_repos
from dockyard.maintenance.backup import BackupError, backup, restore
from dockyard.maintenance.gc import collect_garbage
from dockyard.quotas import service as quotas
from dockyard.repos.models import Repo

storage_app = typer.Typer(help="Storage accounting.", no_args_is_help=True)
storage_app.add_typer(quota_app, name="quota")


def gc(
    grace_seconds: Annotated[
        int | None, typer.Option("--grace-seconds", help="Keep unreferenced content younger than this")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Free stored content that no commit of any repo references any more."""
    hub = open_hub(data_dir)
    grace = timedelta(seconds=hub.settings.gc_grace_seconds if grace_seconds is None else grace_seconds)
    report = collect_garbage(hub, grace=grace)
    typer.echo(json.dumps(asdict(report), indent=2))


@storage_app.command("report")
def report(
    namespace: Annotated[str | None, typer.Option("--namespace", help="A user or organisation")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Logical bytes against bytes actually stored: for the hub, a namespace, each of its repos and
    buckets, and its quota."""
    hub = open_hub(data_dir)
    with hub.db.read() as session:
        data: dict[str, object] = {"hub": hub_usage(session).as_json()}
        if namespace:
            account = accounts.get_account(session, namespace)
            repos = list(session.execute(select(Repo.id, Repo.type, Repo.full_id).where(Repo.owner_id == account.id)))
            data["namespace"] = {
                "name": account.name,
                **usage_of_repos(session, [r.id for r in repos]).as_json(),
            }
            data["repos"] = [
                {"id": full_id, "type": kind, **usage_of_repos(session, [repo_id]).as_json()}
                for repo_id, kind, full_id in repos
            ]
            data.update(_bucket_report(session, account.id))
    typer.echo(json.dumps(data, indent=2))


def _bucket_report(session: Session, account_id: int) -> dict[str, object]:
    """The namespace's buckets, together and one by one, and its quota against what it counts."""
    rows = list(session.execute(select(Bucket.id, Bucket.full_id).where(Bucket.owner_id == account_id)))
    used = quotas.usage(session, account_id)
    return {
        "bucketsTotal": {"count": len(rows), **usage_of_buckets(session, [r.id for r in rows]).as_json()},
        "buckets": [{"id": full_id, **usage_of_buckets(session, [bucket_id]).as_json()} for bucket_id, full_id in rows],
        "quota": {"maxBytes": quotas.quota_of(session, account_id), "usedBytes": used.total},
    }


def backup_command(
    destination: Annotated[Path, typer.Argument(help="An empty or new directory")],
    data_dir: DataDirOption = None,
) -> None:
    """Write a consistent backup of the database, git repositories and stored content."""
    hub = open_hub(data_dir)
    try:
        manifest = backup(hub, destination)
    except BackupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"backed up {len(manifest.repos)} repos, {len(manifest.blobs)} blobs to {destination}")


def restore_command(
    source: Annotated[Path, typer.Argument(help="A directory written by `dockyard backup`")],
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into an empty hub (fresh data directory, database and bucket)."""
    hub = open_hub(data_dir)
    try:
        manifest = restore(hub, source)
    except BackupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"restored {len(manifest.repos)} repos, {len(manifest.blobs)} blobs from {source}")
