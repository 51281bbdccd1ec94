"""Collection rows. A collection is found by its ``uid`` (the trailing part of its slug), so a
slug stays valid after the title or the owner's name changes; items point at their targets by
foreign key, so they follow renames and vanish with the repo or collection they name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dockyard.accounts.models import Account
from dockyard.db.base import Base, UTCDateTime, utcnow


class Collection(Base):
    __tablename__ = "collections"
    __table_args__ = (
        UniqueConstraint("owner_id", "title_slug", name="uq_collections_owner_title_slug"),
        Index("ix_collections_last_updated", "last_updated"),
        Index("ix_collections_owner_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(24), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    title_slug: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    theme: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)  # among the owner's collections
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[Account] = relationship(lazy="joined")

    @property
    def slug(self) -> str:
        return f"{self.owner.name}/{self.title_slug}-{self.uid}"


class CollectionItem(Base):
    """One entry: a repo (model, dataset, space, ...) or another collection, with a note."""

    __tablename__ = "collection_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "repo_id", name="uq_collection_items_repo"),
        UniqueConstraint("collection_id", "target_collection_id", name="uq_collection_items_target_collection"),
        Index("ix_collection_items_repo_id", "repo_id"),
        Index("ix_collection_items_target_collection_id", "target_collection_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(24), unique=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    item_type: Mapped[str] = mapped_column(String(16))
    repo_id: Mapped[int | None] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), nullable=True)
    target_collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), nullable=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
