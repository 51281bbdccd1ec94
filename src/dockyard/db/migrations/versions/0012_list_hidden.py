"""repos: an index of the hidden (private or disabled) repos per type, for the list pages' counts

Revision ID: 0012_list_hidden
Revises: 0011_accounts
Create Date: 2026-12-06 19:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012_list_hidden"
down_revision = "0011_accounts"
branch_labels = None
depends_on = None

COLUMNS = ["type", "private", "disabled", "id"]


def upgrade() -> None:
    op.create_index("ix_repos_hidden", "repos", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_repos_hidden", table_name="repos")
