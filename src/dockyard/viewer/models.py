"""Cached results of the viewer's processing steps, one row per (repo, revision, step, config,
split). A row whose ``step_version`` differs from the running code's is stale: the step runs
again, and only that step's rows change, so a new step version recomputes only what it affects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow


class ViewerStepResult(Base):
    __tablename__ = "viewer_step_results"
    __table_args__ = (
        UniqueConstraint("repo_id", "revision", "step", "config", "split", name="uq_viewer_step_results_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    revision: Mapped[str] = mapped_column(String(40))  # the commit sha the step read
    step: Mapped[str] = mapped_column(String(64))
    step_version: Mapped[int] = mapped_column(Integer)
    config: Mapped[str] = mapped_column(String(255), default="")  # "" for a dataset-level step
    split: Mapped[str] = mapped_column(String(255), default="")  # "" for a config-level step
    status: Mapped[str] = mapped_column(String(16))  # "ok" or "error"
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON, when ok
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # a message for people
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
