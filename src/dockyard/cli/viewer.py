"""dockyard viewer: what the dataset viewer's steps made of a dataset revision."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from dockyard.cli.common import DataDirOption, open_hub
from dockyard.identifiers import RepoId, RepoType
from dockyard.jobs.queue import enqueue
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.service import RepoRef, find_repo
from dockyard.viewer import PROCESS_JOB, catalog, results
from dockyard.viewer.errors import ViewerNotReadyError, ViewerStepFailedError
from dockyard.viewer.steps import STEPS

viewer_app = typer.Typer(help="The dataset viewer's processing results.", no_args_is_help=True)


@viewer_app.command("status")
def status(
    repo_id: Annotated[str, typer.Argument(help="namespace/name of a dataset")],
    revision: Annotated[
        str | None, typer.Option("--revision", help="commit sha (default: the main branch's head)")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print each step's status and the splits with their rows, shards or errors, as JSON."""
    hub = open_hub(data_dir)
    with hub.db.read() as session:
        repo = find_repo(session, RepoRef(RepoType.DATASET, RepoId.parse(repo_id)))
        if repo is None:
            raise typer.BadParameter(f"no dataset {repo_id}")
        sha = revision or hub.git.open(repo.uid).ref_target(DEFAULT_REF) or ""
        report: dict[str, object] = {"revision": sha, "steps": catalog.processing_status(hub, session, repo, sha)}
        try:
            report["splits"] = [dataclasses.asdict(entry) for entry in catalog.dataset_splits(hub, session, repo, sha)]
        except (ViewerNotReadyError, ViewerStepFailedError) as error:
            report["error"] = {"code": error.code, "message": error.message}
    typer.echo(json.dumps(report, indent=1))


@viewer_app.command("process")
def process(
    repo_id: Annotated[str, typer.Argument(help="namespace/name of a dataset")],
    revision: Annotated[
        str | None, typer.Option("--revision", help="commit sha (default: the main branch's head)")
    ] = None,
    redo: Annotated[
        list[str] | None,
        typer.Option(
            "--redo", help="forget this step's results for the revision first (repeatable; 'all' for every step)"
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Queue the viewer's steps for a revision (datasets pushed before the viewer existed).
    Steps that already have a result are skipped, errors included: after raising a limit or
    fixing a reader, ``--redo`` the steps to run again."""
    hub = open_hub(data_dir)
    names = [step.NAME for step in STEPS]
    wanted = names if redo and "all" in redo else list(redo or [])
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise typer.BadParameter(f"unknown steps {unknown}; the steps are {names}")
    with hub.db.write() as session:
        repo = find_repo(session, RepoRef(RepoType.DATASET, RepoId.parse(repo_id)))
        if repo is None:
            raise typer.BadParameter(f"no dataset {repo_id}")
        git = hub.git.open(repo.uid)
        sha = git.resolve(revision).commit_id if revision else git.ref_target(DEFAULT_REF)
        if sha is None:
            raise typer.BadParameter(f"{repo_id} has no commit yet")
        if wanted:
            results.forget(session, repo.id, sha, wanted)
        enqueue(session, PROCESS_JOB, {"repo_id": repo.id, "commit_id": sha})
    typer.echo(sha)
