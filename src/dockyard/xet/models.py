"""What the CAS knows: stored xorbs (with their chunk lists), registered files, and which repos
hold which xorbs (the boundary deduplication must not cross)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow


class XetXorb(Base):
    """A validated xorb. ``chunks`` packs (32-byte hash, u32 size) per chunk; ``offsets`` packs the
    u32 stored byte offset of each chunk plus the end, so reconstructions need no storage reads."""

    __tablename__ = "xet_xorbs"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    stored_size: Mapped[int] = mapped_column(BigInteger)
    unpacked_size: Mapped[int] = mapped_column(BigInteger)
    chunk_count: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[bytes] = mapped_column(LargeBinary)
    offsets: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class XetDedupChunk(Base):
    """Chunks a client may ask about in a global-dedup query, and the xorb that holds each."""

    __tablename__ = "xet_dedup_chunks"

    chunk_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(
        ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), primary_key=True, index=True
    )


class XetFile(Base):
    """A file registered by a shard; ``terms`` is JSON ``[[xorb, chunk_start, chunk_end, length], …]``."""

    __tablename__ = "xet_files"

    file_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    terms: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class XetFileXorb(Base):
    """Which xorbs a file's terms read: a dedup match is answered with every xorb of the files that
    hold it (as the Hub answers with the whole shard), and GC learns what is still referenced."""

    __tablename__ = "xet_file_xorbs"
    __table_args__ = (Index("ix_xet_file_xorbs_xorb", "xorb_hash"),)

    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.file_hash", ondelete="CASCADE"), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), primary_key=True)


class XetRepoXorb(Base):
    """Xorbs a repo uploaded or references; deduplication only offers xorbs of readable repos."""

    __tablename__ = "xet_repo_xorbs"
    __table_args__ = (Index("ix_xet_repo_xorbs_xorb", "xorb_hash"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), primary_key=True)


class XetBucketXorb(Base):
    """Xorbs a bucket uploaded or references (by a copy): the bucket's side of the dedup boundary,
    as :class:`XetRepoXorb` is a repo's. A bucket's grant is offered its own xorbs and those of
    repos and buckets its user may download, never a private bucket's to an outsider."""

    __tablename__ = "xet_bucket_xorbs"
    __table_args__ = (Index("ix_xet_bucket_xorbs_xorb", "xorb_hash"),)

    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), primary_key=True)
