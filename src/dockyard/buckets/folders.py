"""Folder rows kept in step with a bucket's files: every upload bumps its folders' upload time
(creating them, counting the file), every delete uncounts it and drops folders left empty.

Writes are upserts, so two batches creating the same folder at once both succeed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dockyard.buckets.models import BucketFolder, folders_of, parent_of


def record_upload(session: Session, bucket_id: int, path: str, when: datetime, *, new_file: bool) -> None:
    """``path`` was written at ``when``; ``new_file`` when it did not exist before."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    added = 1 if new_file else 0
    for folder in folders_of(path):
        statement = dialect.insert(BucketFolder).values(
            bucket_id=bucket_id, key=folder + "/", parent=parent_of(folder), files=added, uploaded_at=when
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["bucket_id", "key"],
                set_={"files": BucketFolder.files + added, "uploaded_at": statement.excluded.uploaded_at},
            )
        )


def record_removal(session: Session, bucket_id: int, path: str) -> None:
    """``path`` was deleted: its folders hold one file fewer, and empty ones disappear."""
    keys = [folder + "/" for folder in folders_of(path)]
    if not keys:
        return
    mine = (BucketFolder.bucket_id == bucket_id, BucketFolder.key.in_(keys))
    session.execute(update(BucketFolder).where(*mine).values(files=BucketFolder.files - 1))
    session.execute(delete(BucketFolder).where(*mine, BucketFolder.files <= 0))
