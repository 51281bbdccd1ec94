"""viewer_step_results: cached outcomes of the dataset viewer's processing steps

Revision ID: 0014_viewer
Revises: 0013_buckets
Create Date: 2026-12-06 21:35:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.db.base import UTCDateTime

revision = "0014_viewer"
down_revision = "0013_buckets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "viewer_step_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("revision", sa.String(40), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("step_version", sa.Integer(), nullable=False),
        sa.Column("config", sa.String(255), nullable=False),
        sa.Column("split", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("repo_id", "revision", "step", "config", "split", name="uq_viewer_step_results_key"),
    )
    op.create_index("ix_viewer_step_results_repo_id", "viewer_step_results", ["repo_id"])


def downgrade() -> None:
    op.drop_index("ix_viewer_step_results_repo_id", table_name="viewer_step_results")
    op.drop_table("viewer_step_results")
