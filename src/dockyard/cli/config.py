"""dockyard config …"""

from __future__ import annotations

import typer

from dockyard.config_reference import render

config_app = typer.Typer(help="Configuration.", no_args_is_help=True)


@config_app.command("reference")
def reference() -> None:
    """Print the configuration reference (Markdown), generated from the settings object."""
    typer.echo(render(), nl=False)
