"""bucket_folders and bucket_files.parent: non-recursive listings as index ranges

Revision ID: 0015_bucket_folders
Revises: 0014_viewer
Create Date: 2026-12-06 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.db.base import UTCDateTime

revision = "0015_bucket_folders"
down_revision = "0014_viewer"
branch_labels = None
depends_on = None


def _path(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # code-point order for paging (see models.path_type)
        op.alter_column("bucket_files", "path", type_=_path(1000))
    op.add_column("bucket_files", sa.Column("parent", _path(1000), nullable=False, server_default=""))
    op.create_index("ix_bucket_files_parent", "bucket_files", ["bucket_id", "parent", "path"])
    op.create_table(
        "bucket_folders",
        sa.Column("bucket_id", sa.Integer(), sa.ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", _path(1001), primary_key=True),
        sa.Column("parent", _path(1000), nullable=False),
        sa.Column("files", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_bucket_folders_parent", "bucket_folders", ["bucket_id", "parent", "key"])
    _backfill()


def _backfill() -> None:
    """Buckets made before this revision: parents and folders from their files, in one pass."""
    bind = op.get_bind()
    files = sa.table(
        "bucket_files", sa.column("id"), sa.column("bucket_id"), sa.column("path"), sa.column("parent"),
        sa.column("uploaded_at", UTCDateTime()),
    )  # fmt: skip
    folders: dict[tuple[int, str], list[object]] = {}
    for row in bind.execute(sa.select(files.c.id, files.c.bucket_id, files.c.path, files.c.uploaded_at)):
        parts = row.path.split("/")[:-1]
        if parts:
            bind.execute(files.update().where(files.c.id == row.id).values(parent="/".join(parts)))
        for depth in range(len(parts)):
            entry = folders.setdefault((row.bucket_id, "/".join(parts[: depth + 1]) + "/"), [0, row.uploaded_at])
            entry[0] = int(entry[0]) + 1  # type: ignore[call-overload]
            entry[1] = max(entry[1], row.uploaded_at)
    table = sa.table(
        "bucket_folders", sa.column("bucket_id"), sa.column("key"), sa.column("parent"), sa.column("files"),
        sa.column("uploaded_at", UTCDateTime()),
    )  # fmt: skip
    rows = [
        {"bucket_id": bucket_id, "key": key, "parent": key[:-1].rpartition("/")[0], "files": count, "uploaded_at": at}
        for (bucket_id, key), (count, at) in folders.items()
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_bucket_folders_parent", table_name="bucket_folders")
    op.drop_table("bucket_folders")
    op.drop_index("ix_bucket_files_parent", table_name="bucket_files")
    op.drop_column("bucket_files", "parent")
