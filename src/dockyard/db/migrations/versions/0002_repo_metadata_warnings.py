"""repos.metadata_warnings: why a repo's card or safetensors headers could not be read

Revision ID: 0002_metadata_warnings
Revises: 0001
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_metadata_warnings"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repos") as batch_op:
        batch_op.add_column(sa.Column("metadata_warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repos") as batch_op:
        batch_op.drop_column("metadata_warnings")
