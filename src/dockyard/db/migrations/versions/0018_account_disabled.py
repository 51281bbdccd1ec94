"""accounts.disabled_at: a hub admin can disable (offboard) a user

Revision ID: 0018_account_disabled
Revises: 0017_bucket_ops
Create Date: 2026-12-07 01:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.db.base import UTCDateTime

revision = "0018_account_disabled"
down_revision = "0017_bucket_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("disabled_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("disabled_at")
