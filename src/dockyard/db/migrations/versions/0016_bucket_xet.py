"""xet_bucket_xorbs: the buckets' side of the Xet dedup boundary; bucket files by Xet hash

Revision ID: 0016_bucket_xet
Revises: 0015_bucket_folders
Create Date: 2026-12-06 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_bucket_xet"
down_revision = "0015_bucket_folders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xet_bucket_xorbs",
        sa.Column("bucket_id", sa.Integer(), nullable=False),
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_id"], ["buckets.id"], name=op.f("fk_xet_bucket_xorbs_bucket_id_buckets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["xorb_hash"],
            ["xet_xorbs.hash"],
            name=op.f("fk_xet_bucket_xorbs_xorb_hash_xet_xorbs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_id", "xorb_hash", name=op.f("pk_xet_bucket_xorbs")),
    )
    op.create_index("ix_xet_bucket_xorbs_xorb", "xet_bucket_xorbs", ["xorb_hash"])
    op.create_index("ix_bucket_files_bucket_xet_hash", "bucket_files", ["bucket_id", "xet_hash"])


def downgrade() -> None:
    op.drop_index("ix_bucket_files_bucket_xet_hash", table_name="bucket_files")
    op.drop_index("ix_xet_bucket_xorbs_xorb", table_name="xet_bucket_xorbs")
    op.drop_table("xet_bucket_xorbs")
