"""buckets, bucket_files: non-versioned storage referenced by Xet hash

Revision ID: 0013_buckets
Revises: 0012_list_hidden
Create Date: 2026-12-06 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.db.base import UTCDateTime

revision = "0013_buckets"
down_revision = "0012_list_hidden"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buckets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("full_id", sa.String(200), nullable=False),
        sa.Column("full_id_lower", sa.String(200), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("total_files", sa.Integer(), nullable=False),
        sa.UniqueConstraint("full_id_lower", name="uq_buckets_full_id_lower"),
    )
    op.create_index("ix_buckets_owner_id", "buckets", ["owner_id"])
    op.create_table(
        "bucket_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bucket_id", sa.Integer(), sa.ForeignKey("buckets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("xet_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.UniqueConstraint("bucket_id", "path", name="uq_bucket_files_bucket_path"),
    )


def downgrade() -> None:
    op.drop_table("bucket_files")
    op.drop_index("ix_buckets_owner_id", table_name="buckets")
    op.drop_table("buckets")
