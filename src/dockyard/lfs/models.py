"""Large-file objects (content-addressed by sha256) and which repos reference them.

Content is stored once for the whole hub, but an object is usable by a repo only once that repo
received it (uploaded, pushed, or copied from a repo its user can read): knowing a sha256 must
never be enough to read someone else's private file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow


class LfsObject(Base):
    __tablename__ = "lfs_objects"

    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    xet_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # A whole copy is stored under lfs_key(oid) (LFS uploads, git pushes, large inline files);
    # kept here so readers never ask the storage (a network round trip on S3) where bytes are.
    has_blob: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepoLfsObject(Base):
    __tablename__ = "repo_lfs_objects"
    __table_args__ = (Index("ix_repo_lfs_objects_oid", "oid"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    oid: Mapped[str] = mapped_column(ForeignKey("lfs_objects.oid", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    file_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
