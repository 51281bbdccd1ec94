"""accounts.default_repo_private: an organisation's visibility for repos created without ``private``

Revision ID: 0006_org_default_visibility
Revises: 0005_discussions
Create Date: 2026-12-06 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_org_default_visibility"
down_revision = "0005_discussions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("default_repo_private", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("default_repo_private")
