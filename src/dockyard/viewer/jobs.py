"""Background jobs of the viewer domain: ``viewer.process`` runs every step for one dataset
revision (enqueued by the commit pipeline for each new head of a dataset's default branch)."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from dockyard.hub import Hub
from dockyard.jobs.registry import JobRegistry, job
from dockyard.repos.models import Repo
from dockyard.viewer import PROCESS_JOB
from dockyard.viewer.results import StepOutcome
from dockyard.viewer.steps import STEPS
from dockyard.viewer.steps.context import StepContext

log = logging.getLogger(__name__)

PROCESS = PROCESS_JOB


@job(PROCESS, max_attempts=3)
def process(hub: Hub, payload: dict[str, Any]) -> None:
    """Run the steps for ``{"repo_id", "commit_id"}``. Idempotent: a step skips what already has
    a current result, so a retry only does what is missing."""
    with hub.db.read() as session:
        repo = session.get(Repo, int(payload["repo_id"]))
        if repo is None or repo.type != "dataset":
            return
        uid, full_id = repo.uid, repo.full_id
    scratch = Path(tempfile.mkdtemp(prefix="dockyard-viewer-"))
    try:
        ctx = StepContext(hub, int(payload["repo_id"]), uid, full_id, str(payload["commit_id"]), scratch)
        for step in STEPS:
            _run_step(ctx, step)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_step(ctx: StepContext, step: Any) -> None:
    """A step that crashes records UnexpectedError for the revision and the next steps still run
    (they skip what they cannot read): one bad dataset never wedges the queue with retries."""
    try:
        step.run(ctx)
    except Exception as error:  # a bug or a library failure on untrusted data: recorded, not retried
        log.exception("viewer step %s failed for %s at %s", step.NAME, ctx.full_id, ctx.revision)
        ctx.put(step.NAME, step.VERSION, StepOutcome(None, "UnexpectedError", f"{type(error).__name__}: {error}"))


def register(registry: JobRegistry) -> None:
    """Called by the composition root: every job declared in this module."""
    registry.include(sys.modules[__name__])
