"""dockyard secret rotate / drop-previous: rotating the key that signs upload URLs and Xet tokens."""

from __future__ import annotations

import typer

from dockyard.cli.common import DataDirOption, load_settings, open_hub
from dockyard.db.server_state import drop_previous_secret, rotate_secret

secret_app = typer.Typer(help="The signing key of upload URLs and Xet tokens.", no_args_is_help=True)


def _refuse_configured(data_dir: DataDirOption) -> None:
    if load_settings(data_dir).secret_key:
        typer.echo(
            "DOCKYARD_SECRET_KEY is set, so the key is not kept in the database: set the new key there and "
            "the old one in DOCKYARD_PREVIOUS_SECRET_KEY, then restart every process.",
            err=True,
        )
        raise typer.Exit(2)


@secret_app.command("rotate")
def rotate(data_dir: DataDirOption = None) -> None:
    """Sign with a new key from now on; the old key keeps verifying what it signed.

    Restart every API process and worker afterwards (they read the keys at start-up); once the old
    URLs have expired (DOCKYARD_UPLOAD_URL_TTL, a few hours), run `dockyard secret drop-previous`.
    """
    _refuse_configured(data_dir)
    hub = open_hub(data_dir)
    rotate_secret(hub.db)
    typer.echo("signing key rotated: restart every dockyard process; the previous key is still accepted")


@secret_app.command("drop-previous")
def drop_previous(data_dir: DataDirOption = None) -> None:
    """Stop accepting the key that the last rotation replaced (restart the processes afterwards)."""
    _refuse_configured(data_dir)
    hub = open_hub(data_dir)
    dropped = drop_previous_secret(hub.db)
    typer.echo("previous signing key dropped" if dropped else "there was no previous signing key")
