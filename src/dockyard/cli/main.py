"""Entry point of the ``dockyard`` command."""

from __future__ import annotations

import typer

from dockyard.cli import audit, config, demo, repos, secret, server, storage, users, viewer

app = typer.Typer(help="Dockyard: a self-hosted hub for models, datasets and spaces.", no_args_is_help=True)
app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.command("demo")(demo.demo)
app.command("audit")(audit.audit_log)
app.command("gc")(storage.gc)
app.command("backup")(storage.backup_command)
app.command("restore")(storage.restore_command)
app.add_typer(storage.storage_app, name="storage")
app.add_typer(config.config_app, name="config")
app.add_typer(secret.secret_app, name="secret")

app.add_typer(server.db_app, name="db")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(users.org_app, name="org")
app.add_typer(repos.repo_app, name="repo")
app.add_typer(viewer.viewer_app, name="viewer")


def main() -> None:
    app()
