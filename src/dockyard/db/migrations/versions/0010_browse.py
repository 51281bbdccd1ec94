"""repos: a covering index for the facet counts of the list pages

Revision ID: 0010_browse
Revises: 0009_oauth
Create Date: 2026-12-06 18:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010_browse"
down_revision = "0009_oauth"
branch_labels = None
depends_on = None

COLUMNS = ["type", "pipeline_tag", "library_name", "private", "disabled", "owner_id"]


def upgrade() -> None:
    op.create_index("ix_repos_facets", "repos", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_repos_facets", table_name="repos")
