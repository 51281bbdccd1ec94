"""Which large-file objects exist, which repos may use them, and recording new ones.

The one LFS intake: bytes that arrive are verified (sha256 and size), published under their hash,
then linked to the repo they were uploaded for (:func:`accept_upload`). Content that does not
arrive is linked only under :func:`dockyard.auth.access.content_usable` (:func:`link_if_usable`):
knowing an oid and its size never makes content usable.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.auth import access
from dockyard.auth.identity import Caller
from dockyard.errors import UploadVerificationError
from dockyard.hub import Hub
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.repos.models import Repo
from dockyard.storage.base import StagedBlob, lfs_key


def stored_size(hub: Hub, session: Session, oid: str) -> int | None:
    """Size of verified content stored under ``oid`` (a whole blob or Xet chunks), if any."""
    row = session.get(LfsObject, oid)
    return row.size if row is not None and (row.has_blob or row.xet_hash is not None) else None


def is_linked(session: Session, repo: Repo, oid: str) -> bool:
    return (
        session.scalar(select(RepoLfsObject.oid).where(RepoLfsObject.repo_id == repo.id, RepoLfsObject.oid == oid))
        is not None
    )


def usable_by(session: Session, caller: Caller, repo: Repo, oid: str) -> bool:
    """True if ``repo`` already has ``oid`` or the caller may download some repo that has it."""
    return access.content_usable(session, caller, repo, oid)


def link_if_usable(hub: Hub, session: Session, caller: Caller, repo: Repo, oid: str, size: int) -> bool:
    """Link stored content of exactly ``size`` bytes to ``repo`` if the caller may use it without
    uploading it; False (nothing linked) otherwise."""
    if stored_size(hub, session, oid) != size or not usable_by(session, caller, repo, oid):
        return False
    if not is_linked(session, repo, oid):
        link(session, repo.id, oid, size)
    return True


def link(
    session: Session, repo_id: int, oid: str, size: int, *, xet_hash: str | None = None, blob: bool = False
) -> None:
    """Record that ``repo`` holds ``oid`` (idempotent); ``blob`` when a whole copy was just published."""
    obj = session.get(LfsObject, oid)
    if obj is None:
        try:
            with session.begin_nested():
                session.add(LfsObject(oid=oid, size=size, xet_hash=xet_hash, has_blob=blob))
        except IntegrityError:
            obj = session.get_one(LfsObject, oid)
    if obj is not None:
        if xet_hash and obj.xet_hash is None:
            obj.xet_hash = xet_hash
        if blob and not obj.has_blob:
            obj.has_blob = True
    if session.get(RepoLfsObject, (repo_id, oid)) is None:
        session.add(RepoLfsObject(repo_id=repo_id, oid=oid))
    session.flush()


def record_files(session: Session, repo_id: int, ref: str, files: dict[str, tuple[str, str]]) -> None:
    """Remember the file name and blob of each committed object (for ``list_lfs_files``)."""
    for oid, (filename, file_oid) in files.items():
        row = session.get(RepoLfsObject, (repo_id, oid))
        if row is not None:
            row.filename = filename
            row.ref = ref
            row.file_oid = file_oid


def accept_upload(hub: Hub, staged: StagedBlob, repo_id: int, oid: str, size: int) -> None:
    """The intake for delivered bytes: verify them, publish them, then link them to the repo."""
    publish_verified(hub, staged, oid, size)
    with hub.db.write() as session:
        link(session, repo_id, oid, size, blob=True)


def store_bytes(hub: Hub, repo_id: int, data: bytes) -> tuple[str, int]:
    """Content the server received inline (a commit line, an imported folder) goes through the
    same intake as an upload; its (oid, size)."""
    staged = hub.blobs.stage_bytes(data)
    accept_upload(hub, staged, repo_id, staged.sha256, staged.size)
    return staged.sha256, staged.size


def publish_verified(hub: Hub, staged: StagedBlob, oid: str, size: int) -> None:
    """Publish staged content under its sha256 only if it is exactly what was announced."""
    if staged.sha256 != oid or staged.size != size:
        hub.blobs.discard(staged)
        raise UploadVerificationError(
            f"Uploaded content has sha256 {staged.sha256} and size {staged.size}, expected {oid} and {size}"
        )
    hub.blobs.publish(staged, lfs_key(oid))
