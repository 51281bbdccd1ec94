"""discussions: events, a pull request's base ref and merge commit

Revision ID: 0005_discussions
Revises: 0004_collections
Create Date: 2026-12-06 16:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision = "0005_discussions"
down_revision = "0004_collections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("discussions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_ref", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("merge_commit_id", sa.String(length=40), nullable=True))
    op.create_table(
        "discussion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=24), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_discussion_events_author_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_discussion_events_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_events")),
        sa.UniqueConstraint("uid", name=op.f("uq_discussion_events_uid")),
    )
    with op.batch_alter_table("discussion_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discussion_events_discussion_id"), ["discussion_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("discussion_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_events_discussion_id"))
    op.drop_table("discussion_events")
    with op.batch_alter_table("discussions", schema=None) as batch_op:
        batch_op.drop_column("merge_commit_id")
        batch_op.drop_column("base_ref")
