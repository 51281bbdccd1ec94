"""collections: curated lists of repos and collections, with their items

Revision ID: 0004_collections
Revises: 0003_pending_commits
Create Date: 2026-12-06 16:33:22.771008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision = "0004_collections"
down_revision = "0003_pending_commits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=24), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_slug", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("theme", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("upvotes", sa.Integer(), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_updated", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_collections_owner_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("owner_id", "title_slug", name="uq_collections_owner_title_slug"),
        sa.UniqueConstraint("uid", name=op.f("uq_collections_uid")),
    )
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.create_index("ix_collections_last_updated", ["last_updated"], unique=False)
        batch_op.create_index("ix_collections_owner_id", ["owner_id"], unique=False)

    op.create_table(
        "collection_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=24), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("item_type", sa.String(length=16), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=True),
        sa.Column("target_collection_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_items_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name=op.f("fk_collection_items_repo_id_repos"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_items_target_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_items")),
        sa.UniqueConstraint("collection_id", "repo_id", name="uq_collection_items_repo"),
        sa.UniqueConstraint("collection_id", "target_collection_id", name="uq_collection_items_target_collection"),
        sa.UniqueConstraint("uid", name=op.f("uq_collection_items_uid")),
    )
    with op.batch_alter_table("collection_items", schema=None) as batch_op:
        batch_op.create_index("ix_collection_items_repo_id", ["repo_id"], unique=False)
        batch_op.create_index("ix_collection_items_target_collection_id", ["target_collection_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("collection_items", schema=None) as batch_op:
        batch_op.drop_index("ix_collection_items_target_collection_id")
        batch_op.drop_index("ix_collection_items_repo_id")

    op.drop_table("collection_items")
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_index("ix_collections_owner_id")
        batch_op.drop_index("ix_collections_last_updated")

    op.drop_table("collections")
