"""dockyard audit"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dockyard.audit import service as audit
from dockyard.cli.common import DataDirOption, open_hub


def audit_log(
    limit: Annotated[int, typer.Option("--limit")] = 50,
    action: Annotated[str | None, typer.Option("--action", help="e.g. token.created, repo.deleted")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print recent audit events, newest first, one JSON object per line."""
    hub = open_hub(data_dir)
    with hub.db.read() as session:
        for event in audit.query(session, limit=limit, action=action, actor=actor):
            typer.echo(json.dumps(audit.as_json(event)))
