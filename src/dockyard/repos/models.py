"""Repository rows. Git is the source of truth for content and refs; these rows hold identity,
visibility, counters and the metadata extracted from the default branch for search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (
        UniqueConstraint("type", "full_id_lower", name="uq_repos_type_full_id_lower"),
        Index("ix_repos_type_downloads", "type", "downloads"),
        Index("ix_repos_type_likes", "type", "likes"),
        Index("ix_repos_type_last_modified", "type", "last_modified"),
        Index("ix_repos_type_created_at", "type", "created_at"),
        Index("ix_repos_type_trending", "type", "trending_score"),
        Index("ix_repos_owner_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(96))
    full_id: Mapped[str] = mapped_column(String(200))
    full_id_lower: Mapped[str] = mapped_column(String(200))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gated: Mapped[str | None] = mapped_column(String(8), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads_all_time: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    trending_score: Mapped[float] = mapped_column(Float, default=0.0)
    pipeline_tag: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    library_name: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    sdk: Mapped[str | None] = mapped_column(String(32), nullable=True)
    card_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    safetensors: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    metadata_sha: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the commit the metadata describes
    # "Invalid metadata": what could not be read at ``metadata_sha`` (a bad card, a bad header), and why.
    metadata_warnings: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    owner: Mapped[Account] = relationship(lazy="joined")

    @property
    def namespace(self) -> str:
        return self.owner.name


class RepoTag(Base):
    """One row per (repo, tag): the index behind ``filter=`` in listings."""

    __tablename__ = "repo_tags"
    __table_args__ = (Index("ix_repo_tags_tag_repo", "tag", "repo_id"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)


class RepoAlias(Base):
    """An old or canonical name that keeps resolving to a repo (after a move, or ``gpt2``)."""

    __tablename__ = "repo_aliases"
    __table_args__ = (UniqueConstraint("type", "full_id_lower", name="uq_repo_aliases_type_full_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    full_id_lower: Mapped[str] = mapped_column(String(200))
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)


class RepoDownloadDay(Base):
    """Downloads per repo and UTC day, so ``downloads`` can be the last 30 days as on the Hub."""

    __tablename__ = "repo_download_days"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class Like(Base):
    __tablename__ = "likes"

    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Discussion(Base):
    """Discussions and pull requests; a PR owns the git ref ``refs/pr/<num>``."""

    __tablename__ = "discussions"
    __table_args__ = (UniqueConstraint("repo_id", "num"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A pull request's target branch (a full ref) and, once merged, the commit that merged it.
    base_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    merge_commit_id: Mapped[str | None] = mapped_column(String(40), nullable=True)

    author: Mapped[Account | None] = relationship(lazy="joined")
