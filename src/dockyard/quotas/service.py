"""Namespace quotas: set and cleared by hub administrators, checked before an upload sends data.

Usage is *logical* bytes, the figure a user can predict: the distinct large files (LFS or Xet)
linked to the namespace's repos plus the bytes of its buckets (``Bucket.size``). Deduplication
only ever makes what is stored smaller, so a check against logical bytes never lets a namespace
store more than its quota.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.audit.service import record_for
from dockyard.auth.identity import Caller
from dockyard.buckets.models import Bucket
from dockyard.db.base import utcnow
from dockyard.errors import BadRequestError, QuotaExceededError
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.quotas.models import NamespaceQuota
from dockyard.repos.models import Repo
from dockyard.xet.tokens import CasGrant


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    repo_bytes: int
    bucket_bytes: int

    @property
    def total(self) -> int:
        return self.repo_bytes + self.bucket_bytes


def repo_bytes(session: Session, account_id: int) -> int:
    linked = select(RepoLfsObject.oid).join(Repo, Repo.id == RepoLfsObject.repo_id).where(Repo.owner_id == account_id)
    total = session.scalar(select(func.coalesce(func.sum(LfsObject.size), 0)).where(LfsObject.oid.in_(linked)))
    return int(total or 0)


def bucket_bytes(session: Session, account_id: int) -> int:
    total = session.scalar(select(func.coalesce(func.sum(Bucket.size), 0)).where(Bucket.owner_id == account_id))
    return int(total or 0)


def usage(session: Session, account_id: int) -> NamespaceUsage:
    return NamespaceUsage(repo_bytes(session, account_id), bucket_bytes(session, account_id))


def quota_of(session: Session, account_id: int) -> int | None:
    row = session.get(NamespaceQuota, account_id)
    return None if row is None else row.max_bytes


def set_quota(session: Session, caller: Caller | None, account: Account, max_bytes: int) -> None:
    if max_bytes < 0:
        raise BadRequestError("A quota is a non-negative number of bytes")
    row = session.get(NamespaceQuota, account.id)
    if row is None:
        row = NamespaceQuota(account_id=account.id, max_bytes=max_bytes)
        session.add(row)
    row.max_bytes, row.updated_at = max_bytes, utcnow()
    _audit(session, caller, "storage.quota_set", account, max_bytes=max_bytes)


def clear_quota(session: Session, caller: Caller | None, account: Account) -> bool:
    row = session.get(NamespaceQuota, account.id)
    if row is None:
        return False
    session.delete(row)
    _audit(session, caller, "storage.quota_cleared", account)
    return True


def _audit(session: Session, caller: Caller | None, action: str, account: Account, **details: object) -> None:
    """``caller`` is None for the command line: the event then has no actor and the CLI origin."""
    record_for(session, caller, action, f"namespace:{account.name}", **details)


def ensure_room(session: Session, account_id: int, extra_bytes: int) -> None:
    """Raise :class:`QuotaExceededError` when ``extra_bytes`` more would take the namespace past
    its quota. The message names the namespace, its quota and its usage, so the client shows why.
    Call it before accepting any data (bucket ``addFile`` calls it with the file's size)."""
    if extra_bytes <= 0:
        return
    limit = quota_of(session, account_id)
    if limit is None:
        return
    used = usage(session, account_id).total
    if used + extra_bytes > limit:
        name = session.scalar(select(Account.name).where(Account.id == account_id))
        raise QuotaExceededError(
            f"Storage quota exceeded for {name}: {used} of {limit} bytes used, "
            f"this upload needs {extra_bytes} more. Ask an administrator to raise the quota or free space."
        )


def new_lfs_bytes(session: Session, account_id: int, objects: Iterable[tuple[str, int]]) -> int:
    """Bytes the namespace's usage grows by if these ``(oid, size)`` objects are linked: objects
    already linked to one of its repos count nothing."""
    wanted = dict(objects)
    if not wanted:
        return 0
    linked = select(RepoLfsObject.oid).join(Repo, Repo.id == RepoLfsObject.repo_id).where(Repo.owner_id == account_id)
    present = set(
        session.scalars(select(LfsObject.oid).where(LfsObject.oid.in_(list(wanted)), LfsObject.oid.in_(linked)))
    )
    return sum(size for oid, size in wanted.items() if oid not in present)


def namespace_of_grant(session: Session, grant: CasGrant) -> int | None:
    """The account whose quota a CAS write grant spends: the owner of the grant's repo or bucket."""
    if grant.bucket_id is not None:
        return session.scalar(select(Bucket.owner_id).where(Bucket.id == grant.bucket_id))
    return session.scalar(select(Repo.owner_id).where(Repo.id == grant.repo_id))
