"""dockyard gc / dockyard storage …"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import select

from dockyard.accounts import service as accounts
from dockyard.cli.common import DataDirOption, open_hub
from dockyard.lfs.usage import hub_usage, usage_of_repos
from dockyard.maintenance.gc import collect_garbage
from dockyard.repos.models import Repo

storage_app = typer.Typer(help="Storage accounting.", no_args_is_help=True)


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
    """Logical bytes against bytes actually stored: for the hub, a namespace and each of its repos."""
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
    typer.echo(json.dumps(data, indent=2))
