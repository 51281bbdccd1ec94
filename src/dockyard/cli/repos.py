"""dockyard repo …"""

from __future__ import annotations

from typing import Annotated

import typer

from dockyard.cli.common import DataDirOption, open_hub
from dockyard.errors import DockyardError
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos import service

repo_app = typer.Typer(help="Manage repositories.", no_args_is_help=True)


@repo_app.command("alias")
def alias(
    alias_id: Annotated[str, typer.Argument(help="The extra id, e.g. gpt2")],
    repo_id: Annotated[str, typer.Argument(help="The repo it names, e.g. openai-community/gpt2")],
    repo_type: Annotated[str, typer.Option("--type", help="model, dataset or space")] = "model",
    data_dir: DataDirOption = None,
) -> None:
    """Make ALIAS_ID (such as a canonical single-segment name) resolve to REPO_ID."""
    hub = open_hub(data_dir)
    kind = RepoType.parse(repo_type)
    try:
        with hub.db.write() as session:
            repo = service.find_repo(session, service.RepoRef(kind, RepoId.parse(repo_id)))
            if repo is None:
                typer.echo(f"error: no {kind.value} repo {repo_id}", err=True)
                raise typer.Exit(code=1)
            service.add_alias(session, repo, RepoId.parse(alias_id))
    except DockyardError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"{alias_id} now resolves to {repo_id}")
