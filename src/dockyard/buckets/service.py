"""Bucket lifecycle (create, find, list, move, visibility, delete) and the file rows the Xet batch
will write. Every change that the audit log keeps is recorded in the transaction that makes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.accounts.models import Account
from dockyard.audit.service import record_for
from dockyard.auth import permissions
from dockyard.auth.access import Right, Viewer
from dockyard.auth.cache import bump_epoch
from dockyard.auth.identity import Caller
from dockyard.buckets import access, events, folders
from dockyard.buckets.models import Bucket, BucketFile, parent_of
from dockyard.db.base import utcnow
from dockyard.errors import AuthenticationRequiredError, RepoExistsError
from dockyard.identifiers import validate_account_name, validate_repo_name


@dataclass(frozen=True, slots=True)
class BucketId:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def resolve_namespace(caller: Caller, namespace: str) -> str:
    """``me`` is the caller (the client sends it when the id has no namespace)."""
    if namespace != "me":
        return namespace
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to use the 'me' namespace")
    return caller.user.name


def find_bucket(session: Session, bucket_id: BucketId) -> Bucket | None:
    return session.scalar(select(Bucket).where(Bucket.full_id_lower == str(bucket_id).lower()))


def get_bucket(session: Session, caller: Caller, bucket_id: BucketId, right: Right) -> Bucket:
    """The bucket, checked for ``right``; missing and hidden buckets give the same answer."""
    bucket = find_bucket(session, bucket_id)
    if bucket is None:
        raise access.not_found(caller)
    access.ensure(session, caller, bucket, right)
    return bucket


def _namespace_for_create(session: Session, caller: Caller, namespace: str) -> Account:
    if caller.user is None:
        raise AuthenticationRequiredError("You must be authenticated to create a bucket")
    validate_account_name(namespace)
    owner = accounts.get_account(session, namespace)
    permissions.ensure_can_create_in(session, caller, owner)
    return owner


def create_bucket(session: Session, caller: Caller, bucket_id: BucketId, *, private: bool | None) -> Bucket:
    """``private=None`` takes an organisation's default visibility; a user's buckets are public."""
    validate_repo_name(bucket_id.name)
    owner = _namespace_for_create(session, caller, bucket_id.namespace)
    full_id = f"{owner.name}/{bucket_id.name}"
    existing = find_bucket(session, BucketId(owner.name, bucket_id.name))
    if existing is not None:
        raise RepoExistsError(f"You already created this bucket: {existing.full_id}")
    if private is None:
        private = owner.is_org and owner.default_repo_private
    bucket = Bucket(
        owner_id=owner.id,
        owner=owner,
        name=bucket_id.name,
        full_id=full_id,
        full_id_lower=full_id.lower(),
        private=private,
        size=0,
        total_files=0,
    )
    session.add(bucket)
    session.flush()
    record_for(session, caller, "bucket.created", f"bucket:{full_id}", private=private)
    return bucket


def delete_bucket(session: Session, caller: Caller, bucket: Bucket) -> None:
    """The file rows go with the bucket; their Xet content is left to garbage collection."""
    session.execute(delete(BucketFile).where(BucketFile.bucket_id == bucket.id))
    events.record_reset(session, bucket.id, "deleted")
    record_for(session, caller, "bucket.deleted", f"bucket:{bucket.full_id}", files=bucket.total_files)
    session.delete(bucket)
    bump_epoch(session)


def set_private(session: Session, caller: Caller, bucket: Bucket, private: bool) -> None:
    if bucket.private == private:
        return
    bucket.private = private
    bucket.updated_at = utcnow()
    record_for(session, caller, "bucket.visibility_changed", f"bucket:{bucket.full_id}", private=private)
    bump_epoch(session)


def move_bucket(session: Session, caller: Caller, bucket: Bucket, target: BucketId) -> None:
    """Rename or transfer: the caller must be able to create in the target namespace."""
    validate_repo_name(target.name)
    owner = accounts.get_account(session, target.namespace)
    permissions.ensure_can_create_in(session, caller, owner)
    new_full_id = f"{owner.name}/{target.name}"
    clash = find_bucket(session, BucketId(owner.name, target.name))
    if clash is not None and clash.id != bucket.id:
        raise RepoExistsError(f"A bucket called {new_full_id} already exists")
    record_for(session, caller, "bucket.moved", f"bucket:{bucket.full_id}", to=new_full_id)
    bucket.owner_id = owner.id
    bucket.owner = owner
    bucket.name = target.name
    bucket.full_id = new_full_id
    bucket.full_id_lower = new_full_id.lower()
    bucket.updated_at = utcnow()
    events.record_reset(session, bucket.id, "moved")
    bump_epoch(session)
    session.flush()


def list_buckets(
    session: Session, caller: Caller, owner: Account, *, search: str | None, after: str | None, limit: int
) -> Sequence[Bucket]:
    """Buckets of ``owner`` that ``caller`` may see, by lower-cased id after ``after`` (keyset
    paging: a page costs the same however far the listing goes)."""
    query = select(Bucket).where(Bucket.owner_id == owner.id, access.visible_clause(Viewer.of(caller)))
    if search:
        query = query.where(Bucket.name.icontains(search, autoescape=True))
    if after is not None:
        query = query.where(Bucket.full_id_lower > after)
    return session.scalars(query.order_by(Bucket.full_id_lower).limit(limit)).all()


# -- files (written by the Xet batch in a later slice) --------------------------------------------
def add_file(
    session: Session,
    bucket: Bucket,
    path: str,
    *,
    xet_hash: str,
    size: int,
    mtime: int | None,
    content_type: str | None = None,
) -> BucketFile:
    """Point ``path`` at new content, replacing any previous reference (nothing is versioned)."""
    row = session.scalar(select(BucketFile).where(BucketFile.bucket_id == bucket.id, BucketFile.path == path))
    new = row is None
    now = utcnow()
    folders.record_upload(session, bucket.id, path, now, new_file=new)
    if row is None:
        row = BucketFile(bucket_id=bucket.id, path=path, parent=parent_of(path), size=0)
        session.add(row)
        bucket.total_files += 1
    events.record_write(session, bucket.id, path, new=new, size=size, xet_hash=xet_hash, mtime=mtime)
    bucket.size += size - row.size
    row.xet_hash, row.size, row.mtime, row.content_type = xet_hash, size, mtime, content_type
    row.uploaded_at = bucket.updated_at = now
    session.flush()
    return row


def delete_file(session: Session, bucket: Bucket, path: str) -> bool:
    """False when there was no such path (deleting is idempotent for the batch)."""
    row = session.scalar(select(BucketFile).where(BucketFile.bucket_id == bucket.id, BucketFile.path == path))
    if row is None:
        return False
    bucket.total_files -= 1
    bucket.size -= row.size
    bucket.updated_at = utcnow()
    folders.record_removal(session, bucket.id, path)
    events.record_delete(session, bucket.id, path)
    session.delete(row)
    session.flush()
    return True


def paths_info(session: Session, bucket: Bucket, paths: Sequence[str]) -> Sequence[BucketFile]:
    """The files among ``paths``, by path; missing paths are left out."""
    query = select(BucketFile).where(BucketFile.bucket_id == bucket.id, BucketFile.path.in_(set(paths)))
    return session.scalars(query.order_by(BucketFile.path)).all()
