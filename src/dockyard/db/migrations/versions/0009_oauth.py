"""oauth: OAuth apps, authorization codes and access tokens (Dockyard as an OpenID provider)

Revision ID: 0009_oauth
Revises: 0008_web_sessions
Create Date: 2026-12-06 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.db.base import UTCDateTime

revision = "0009_oauth"
down_revision = "0008_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_apps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("homepage", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(96), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_oauth_apps_owner_id", "oauth_apps", ["owner_id"])
    op.create_table(
        "oauth_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_oauth_codes_app_id", "oauth_codes", ["app_id"])
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_id", sa.Integer(), sa.ForeignKey("oauth_codes.id", ondelete="SET NULL"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_oauth_tokens_app_id", "oauth_tokens", ["app_id"])


def downgrade() -> None:
    op.drop_index("ix_oauth_tokens_app_id", table_name="oauth_tokens")
    op.drop_table("oauth_tokens")
    op.drop_index("ix_oauth_codes_app_id", table_name="oauth_codes")
    op.drop_table("oauth_codes")
    op.drop_index("ix_oauth_apps_owner_id", table_name="oauth_apps")
    op.drop_table("oauth_apps")
