"""bucket_events (live-follow feed), namespace_quotas

Revision ID: 0017_bucket_ops
Revises: 0016_bucket_xet
Create Date: 2026-12-06 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.db.base import UTCDateTime

revision = "0017_bucket_ops"
down_revision = "0016_bucket_xet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bucket_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bucket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("xet_hash", sa.String(64), nullable=True),
        sa.Column("mtime", sa.BigInteger(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_bucket_events_bucket_id", "bucket_events", ["bucket_id", "id"])
    op.create_table(
        "namespace_quotas",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("max_bytes", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("namespace_quotas")
    op.drop_index("ix_bucket_events_bucket_id", table_name="bucket_events")
    op.drop_table("bucket_events")
