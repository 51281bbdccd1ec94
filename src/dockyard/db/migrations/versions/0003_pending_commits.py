"""pending commits: the intent of a commit, written before its ref moves

Revision ID: 0003_pending_commits
Revises: 0002_metadata_warnings
Create Date: 2026-12-06 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision = "0003_pending_commits"
down_revision = "0002_metadata_warnings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_commits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("lfs_files", sa.JSON(), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_commits")),
    )
    with op.batch_alter_table("pending_commits", schema=None) as batch_op:
        batch_op.create_index("ix_pending_commits_repo_ref", ["repo_id", "ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_commits", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_commits_repo_ref")
    op.drop_table("pending_commits")
