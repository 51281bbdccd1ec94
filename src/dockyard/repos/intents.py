"""Commit intents: a commit's records are promised durably *before* its ref moves.

A ref move and the database rows that describe it (audit event, scan job, repo sha and metadata,
LFS file names) cannot share one transaction: git is not in the database. So the writer first
commits a :class:`PendingCommit` row naming the ref and the commit it is about to install, then
moves the ref, then records the commit and deletes the row in one transaction
(:func:`dockyard.repos.commits.record_commit`). A crash (or a failure) in between leaves the row,
and the reconciler (:mod:`dockyard.repos.reconcile`) finishes the records from it: once a ref
holds the commit, it is recorded exactly once, whoever gets there first, because recording
*claims* (deletes) the row in the same transaction; a row whose commit never reached its ref is
dropped after a grace period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from dockyard.audit.service import Origin, current_origin
from dockyard.auth.identity import Caller
from dockyard.db.base import Base, UTCDateTime, utcnow
from dockyard.db.database import Database

LfsFiles = dict[str, tuple[str, str]]  # oid -> (path, pointer blob id)


class PendingCommit(Base):
    __tablename__ = "pending_commits"
    __table_args__ = (Index("ix_pending_commits_repo_ref", "repo_id", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(64))  # the object the ref is about to point at
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(96), nullable=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lfs_files: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def origin(self) -> Origin:
        return Origin(ip=self.ip, user_agent=self.user_agent)

    def files(self) -> LfsFiles:
        return {oid: (str(path), str(blob)) for oid, (path, blob) in (self.lfs_files or {}).items()}


def new_intent(
    repo_id: int, ref: str, target: str, *, caller: Caller | None, action: str, lfs_files: LfsFiles | None
) -> PendingCommit:
    origin = current_origin()
    return PendingCommit(
        repo_id=repo_id,
        ref=ref,
        target=target,
        action=action,
        actor=caller.user.name if caller is not None and caller.user is not None else None,
        token_id=caller.token.id if caller is not None and caller.token is not None else None,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:300] or None,
        lfs_files={oid: list(entry) for oid, entry in (lfs_files or {}).items()},
        created_at=utcnow(),
    )


class IntentWriter:
    """The intent of one API commit. ``point_at`` runs before every attempt to move the ref (a
    retry after a concurrent commit builds a new commit), in its own committed transaction."""

    def __init__(
        self, db: Database, repo_id: int, ref: str, *, caller: Caller, action: str, lfs_files: LfsFiles
    ) -> None:
        self._db = db
        self._draft = (repo_id, ref, caller, action, lfs_files)
        self.id: int | None = None

    def point_at(self, target: str) -> None:
        with self._db.write() as session:
            if self.id is None:
                repo_id, ref, caller, action, lfs_files = self._draft
                row = new_intent(repo_id, ref, target, caller=caller, action=action, lfs_files=lfs_files)
                session.add(row)
                session.flush()
                self.id = row.id
            else:
                session.execute(update(PendingCommit).where(PendingCommit.id == self.id).values(target=target))

    def abandon(self) -> None:
        """The ref was not moved (a refused or failed write): nothing to record."""
        if self.id is not None:
            with self._db.write() as session:
                session.execute(delete(PendingCommit).where(PendingCommit.id == self.id))


def claim(session: Session, repo_id: int, ref: str, target: str) -> bool:
    """Delete the intents for ``target`` on ``ref`` in the caller's (recording) transaction;
    False when there was none left: someone else recorded this commit already."""
    ids = list(
        session.scalars(
            select(PendingCommit.id).where(
                PendingCommit.repo_id == repo_id, PendingCommit.ref == ref, PendingCommit.target == target
            )
        )
    )
    if not ids:
        return False
    removed = session.execute(delete(PendingCommit).where(PendingCommit.id.in_(ids)))
    return bool(removed.rowcount)  # type: ignore[attr-defined]


def pending(db: Database) -> list[PendingCommit]:
    with db.read() as session:
        rows = list(session.scalars(select(PendingCommit).order_by(PendingCommit.id)))
        session.expunge_all()
    return rows


def drop(db: Database, intent_id: int) -> None:
    with db.write() as session:
        session.execute(delete(PendingCommit).where(PendingCommit.id == intent_id))
