"""Reading and writing step results. Every step stores either a JSON result or a clear error for
its (config, split), so one bad split never hides the others."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dockyard.db.base import utcnow
from dockyard.viewer.models import ViewerStepResult


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """A step's cached answer for one (config, split): ``result`` when it worked, else
    ``error_code`` (a stable name such as ``"FileFormatError"``) and ``error`` (for people)."""

    result: dict[str, Any] | None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


def _row(session: Session, repo_id: int, revision: str, step: str, config: str, split: str) -> ViewerStepResult | None:
    return session.scalars(
        select(ViewerStepResult).where(
            ViewerStepResult.repo_id == repo_id,
            ViewerStepResult.revision == revision,
            ViewerStepResult.step == step,
            ViewerStepResult.config == config,
            ViewerStepResult.split == split,
        )
    ).one_or_none()


def get(
    session: Session, repo_id: int, revision: str, step: str, version: int, config: str = "", split: str = ""
) -> StepOutcome | None:
    """The cached outcome, or None when the step has not run for this key at this version."""
    row = _row(session, repo_id, revision, step, config, split)
    if row is None or row.step_version != version:
        return None
    if row.status == "ok":
        return StepOutcome(json.loads(row.result or "{}"))
    return StepOutcome(None, row.error_code or "UnexpectedError", row.error)


def put(
    session: Session,
    repo_id: int,
    revision: str,
    step: str,
    version: int,
    outcome: StepOutcome,
    config: str = "",
    split: str = "",
) -> None:
    """Store (or replace) the outcome of one step for one key."""
    row = _row(session, repo_id, revision, step, config, split)
    if row is None:
        row = ViewerStepResult(repo_id=repo_id, revision=revision, step=step, config=config, split=split)
        session.add(row)
    row.step_version = version
    row.status = "ok" if outcome.ok else "error"
    row.result = None if outcome.result is None else json.dumps(outcome.result, separators=(",", ":"))
    row.error_code = outcome.error_code
    row.error = outcome.error
    row.updated_at = utcnow()
    session.flush()


def for_revision(
    session: Session, repo_id: int, revision: str, step: str, version: int
) -> dict[tuple[str, str], StepOutcome]:
    """Every current-version outcome of ``step`` at a revision, keyed by (config, split)."""
    rows = session.scalars(
        select(ViewerStepResult).where(
            ViewerStepResult.repo_id == repo_id,
            ViewerStepResult.revision == revision,
            ViewerStepResult.step == step,
            ViewerStepResult.step_version == version,
        )
    )
    return {
        (row.config, row.split): StepOutcome(json.loads(row.result or "{}"))
        if row.status == "ok"
        else StepOutcome(None, row.error_code or "UnexpectedError", row.error)
        for row in rows
    }


def _drop(session: Session, repo_id: int, revision: str, *where: Any) -> int:
    """Delete the revision's outcomes matching ``where``; how many went."""
    scope = (ViewerStepResult.repo_id == repo_id, ViewerStepResult.revision == revision)
    removed = session.execute(delete(ViewerStepResult).where(*scope, *where))
    return int(removed.rowcount)  # type: ignore[attr-defined]


def forget_ok(session: Session, repo_id: int, revision: str, step: str, version: int, config: str, split: str) -> bool:
    """Drop a successful outcome whose product turned out lost, so the step runs again. True for
    the one caller whose delete removed the row: the claim that makes it (and only it) queue the
    rebuild, however many processes noticed the loss at once."""
    key = (ViewerStepResult.step == step, ViewerStepResult.config == config, ViewerStepResult.split == split)
    return bool(
        _drop(
            session, repo_id, revision, *key, ViewerStepResult.step_version == version, ViewerStepResult.status == "ok"
        )
    )


def forget(session: Session, repo_id: int, revision: str, steps: list[str]) -> int:
    """Drop every outcome of ``steps`` for the revision (an operator's redo: after fixing a file's
    reader or raising a limit, a cached error would otherwise stand); the number removed."""
    return _drop(session, repo_id, revision, ViewerStepResult.step.in_(steps))
