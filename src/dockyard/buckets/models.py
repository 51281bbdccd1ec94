"""Bucket rows. Unlike repos, a bucket has no git history: its files are rows that point at Xet
content by hash, so overwriting a path replaces the reference and nothing is versioned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


def path_type(length: int) -> String:
    """Paths compare by code point on every engine: listings page by ``path > cursor`` and skip past
    a folder by the fact that ``dir/`` sorts before ``dir0``, which a language collation (the
    PostgreSQL default on most systems) would break. SQLite's default is already binary."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def parent_of(path: str) -> str:
    """The folder holding ``path`` ("" at the root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def folders_of(path: str) -> list[str]:
    """Every folder above ``path``, outermost first: ``a/b/c.txt`` → ``["a", "a/b"]``."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: depth + 1]) for depth in range(len(parts))]


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
        Index("ix_bucket_files_parent", "bucket_id", "parent", "path"),
        Index("ix_bucket_files_bucket_xet_hash", "bucket_id", "xet_hash"),  # copies and CAS reads by hash
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(path_type(1000))
    # The folder holding the file, so a folder's immediate files are one index range.
    parent: Mapped[str] = mapped_column(path_type(1000))
    xet_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)


class BucketFolder(Base):
    """A folder that holds at least one file, kept by every file change. Non-recursive listings
    read a folder's subfolders from here (one index range) instead of folding file paths, and a
    folder's ``uploadedAt`` (the last upload into it, deleted files included) needs no scan.
    ``key`` is the folder's path with a trailing ``/``: folders sort by it, as in git's tree order
    (``logs-old/`` before ``logs/``). ``files`` counts the files below it at any depth: the row
    goes when it reaches zero."""

    __tablename__ = "bucket_folders"
    __table_args__ = (Index("ix_bucket_folders_parent", "bucket_id", "parent", "key"),)

    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(path_type(1001), primary_key=True)
    parent: Mapped[str] = mapped_column(path_type(1000))
    files: Mapped[int] = mapped_column(BigInteger, default=0)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
