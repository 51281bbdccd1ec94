"""Bucket rows. Unlike repos, a bucket has no git history: its files are rows that point at Xet
content by hash, so overwriting a path replaces the reference and nothing is versioned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


class Bucket(Base):
    __tablename__ = "buckets"
    __table_args__ = (
        UniqueConstraint("full_id_lower", name="uq_buckets_full_id_lower"),
        Index("ix_buckets_owner_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(96))
    full_id: Mapped[str] = mapped_column(String(200))
    full_id_lower: Mapped[str] = mapped_column(String(200))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Kept up to date by every file change, so info and listings never sum the files.
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    total_files: Mapped[int] = mapped_column(Integer, default=0)

    owner: Mapped[Account] = relationship(lazy="joined")

    @property
    def namespace(self) -> str:
        return self.owner.name


class BucketFile(Base):
    """One path of a bucket. ``mtime`` is the client's value in milliseconds, kept as sent so it
    round-trips exactly; ``uploaded_at`` is when this server recorded the path."""

    __tablename__ = "bucket_files"
    __table_args__ = (
        UniqueConstraint("bucket_id", "path", name="uq_bucket_files_bucket_path"),
        Index("ix_bucket_files_bucket_xet_hash", "bucket_id", "xet_hash"),  # copies and CAS reads by hash
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(1000))
    xet_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
