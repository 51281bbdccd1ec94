"""Storage accounting: logical bytes (what repos hold) against bytes actually stored.

Content is stored once for the whole hub, and Xet splits it further into chunks shared between
files, so a repo's *stored* bytes are the distinct xorbs (and whole blobs) behind its files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dockyard.buckets.models import BucketFile
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.xet.models import XetFileXorb, XetXorb


@dataclass(frozen=True, slots=True)
class StorageUsage:
    files: int
    logical_bytes: int
    stored_bytes: int

    def as_json(self) -> dict[str, int]:
        data = asdict(self)
        return {
            "files": data["files"],
            "logicalBytes": data["logical_bytes"],
            "storedBytes": data["stored_bytes"],
        }


def usage_of_repos(session: Session, repo_ids: list[int]) -> StorageUsage:
    if not repo_ids:
        return StorageUsage(0, 0, 0)
    rows = session.execute(
        select(LfsObject.oid, LfsObject.size, LfsObject.xet_hash)
        .join(RepoLfsObject, RepoLfsObject.oid == LfsObject.oid)
        .where(RepoLfsObject.repo_id.in_(repo_ids))
        .distinct()
    ).all()
    logical = sum(size for _, size, _ in rows)
    whole_blobs = sum(size for _, size, xet in rows if xet is None)
    xet_hashes = [xet for _, _, xet in rows if xet is not None]
    return StorageUsage(
        files=len(rows), logical_bytes=logical, stored_bytes=whole_blobs + _xorb_bytes(session, xet_hashes)
    )


def _xorb_bytes(session: Session, file_hashes: list[str]) -> int:
    xorbs: set[str] = set()
    for start in range(0, len(file_hashes), 500):
        batch = file_hashes[start : start + 500]
        xorbs.update(session.scalars(select(XetFileXorb.xorb_hash).where(XetFileXorb.file_hash.in_(batch))))
    total = 0
    hashes = sorted(xorbs)
    for start in range(0, len(hashes), 500):
        batch = hashes[start : start + 500]
        total += (
            session.scalar(select(func.coalesce(func.sum(XetXorb.stored_size), 0)).where(XetXorb.hash.in_(batch))) or 0
        )
    return int(total)


def hub_usage(session: Session) -> StorageUsage:
    """Everything the hub stores: all xorbs plus all whole blobs."""
    files, logical = session.execute(select(func.count(), func.coalesce(func.sum(LfsObject.size), 0))).one()
    blobs = session.scalar(select(func.coalesce(func.sum(LfsObject.size), 0)).where(LfsObject.xet_hash.is_(None)))
    xorbs = session.scalar(select(func.coalesce(func.sum(XetXorb.stored_size), 0)))
    return StorageUsage(files=int(files), logical_bytes=int(logical), stored_bytes=int(blobs or 0) + int(xorbs or 0))


def usage_of_buckets(session: Session, bucket_ids: list[int]) -> StorageUsage:
    """Bucket files are Xet files: logical bytes are their sizes, stored bytes the distinct xorbs
    behind them (shared with repos and other buckets, so namespace figures never double count)."""
    if not bucket_ids:
        return StorageUsage(0, 0, 0)
    files, logical = session.execute(
        select(func.count(), func.coalesce(func.sum(BucketFile.size), 0)).where(BucketFile.bucket_id.in_(bucket_ids))
    ).one()
    hashes = list(session.scalars(select(BucketFile.xet_hash).where(BucketFile.bucket_id.in_(bucket_ids)).distinct()))
    return StorageUsage(files=int(files), logical_bytes=int(logical), stored_bytes=_xorb_bytes(session, hashes))
