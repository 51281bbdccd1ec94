"""What a step works with: the hub, the dataset revision, a private scratch folder, and the
revision's files materialised there on demand (with the size limits that keep a job bounded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.hub import Hub
from dockyard.repos.models import Repo
from dockyard.viewer import results
from dockyard.viewer.errors import ViewerNotReadyError, ViewerStepFailedError
from dockyard.viewer.results import StepOutcome

if TYPE_CHECKING:
    from dockyard.viewer.catalog import SplitEntry


@dataclass
class StepContext:
    hub: Hub
    repo_id: int
    uid: str
    full_id: str
    revision: str  # the commit sha of the default branch the job was enqueued for
    workdir: Path  # scratch space of this job run, removed afterwards

    def get(self, step: str, version: int, config: str = "", split: str = "") -> StepOutcome | None:
        with self.hub.db.read() as session:
            return results.get(session, self.repo_id, self.revision, step, version, config, split)

    def put(self, step: str, version: int, outcome: StepOutcome, config: str = "", split: str = "") -> None:
        with self.hub.db.write() as session:
            results.put(session, self.repo_id, self.revision, step, version, outcome, config, split)

    def all(self, step: str, version: int) -> dict[tuple[str, str], StepOutcome]:
        with self.hub.db.read() as session:
            return results.for_revision(session, self.repo_id, self.revision, step, version)


def splits_to_do(ctx: StepContext, name: str, version: int) -> tuple[Repo, list[SplitEntry]] | None:
    """The converted splits a per-split step reading the Parquet export still owes an outcome to.

    A split whose conversion failed gets ``PreviousStepError`` here (the dataset-viewer's code for
    "the step this one reads failed": the split's own error stays the conversion's, and the step's
    status is complete, not pending); a split not converted yet is left for a later run. None when
    the repo is gone or the export is not ready."""
    from dockyard.viewer import catalog  # here, not at the top: catalog imports the steps package

    with ctx.hub.db.read() as session:
        repo = session.get(Repo, ctx.repo_id)
        if repo is None:
            return None
        session.expunge(repo)
        try:
            entries = catalog.dataset_splits(ctx.hub, session, repo, ctx.revision)
        except (ViewerNotReadyError, ViewerStepFailedError):
            return None
    todo = []
    for entry in entries:
        if (entry.num_rows is None and entry.error_code is None) or ctx.get(
            name, version, entry.config, entry.split
        ) is not None:
            continue
        if entry.error_code is not None:
            message = f"The split could not be converted ({entry.error_code})."
            ctx.put(name, version, StepOutcome(None, "PreviousStepError", message), entry.config, entry.split)
            continue
        todo.append(entry)
    return repo, todo
