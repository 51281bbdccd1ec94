"""What a step works with: the hub, the dataset revision, a private scratch folder, and the
revision's files materialised there on demand (with the size limits that keep a job bounded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.hub import Hub
from dockyard.viewer import results
from dockyard.viewer.results import StepOutcome


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
