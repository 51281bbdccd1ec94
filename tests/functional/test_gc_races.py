"""Garbage collection never deletes bytes that are in use again (attack 9).

The race: the sweep removed an object's row, and before it deletes the bytes a client uploads
the same content again (the row comes back, the bytes are published or found in place). The
sweep must then keep the bytes. The interleaving is placed exactly by the real local store, whose
first change to that key lets the racing upload (the real service calls) run first.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from dockyard.accounts import service as accounts
from dockyard.auth.identity import Caller
from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.lfs import service as lfs
from dockyard.lfs.models import LfsObject
from dockyard.maintenance.gc import TOMBSTONES, collect_garbage
from dockyard.repos.service import create_repo
from dockyard.storage.base import lfs_key


class _UploadRacesTheSweep:
    """The hub's real blob store; the first time the sweep touches ``key``, ``upload`` runs first."""

    def __init__(self, store: Any, key: str, upload: Any) -> None:
        self._store, self._key, self._upload = store, key, upload
        self.raced = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _race(self, key: str) -> None:
        if key == self._key and not self.raced:
            self.raced = True
            self._upload()

    def delete(self, key: str) -> None:
        self._race(key)
        self._store.delete(key)

    def move(self, key: str, new_key: str) -> bool:
        self._race(key)
        return bool(self._store.move(key, new_key))


def test_content_uploaded_again_while_the_sweep_frees_it_keeps_its_bytes(hub: Hub) -> None:
    content = os.urandom(4096)
    oid, key = hashlib.sha256(content).hexdigest(), lfs_key(hashlib.sha256(content).hexdigest())
    with hub.db.write() as session:
        owner = accounts.create_user(session, "uploader")
        repo = create_repo(
            hub, session, Caller(user=owner, role="write"), repo_type=RepoType.MODEL, organization=None,
            name="again", private=False,
        )  # fmt: skip
        repo_id = repo.id
    # Content uploaded long ago and never committed: garbage, by every rule.
    hub.blobs.publish(hub.blobs.stage_bytes(content), key)
    with hub.db.write() as session:
        session.add(LfsObject(oid=oid, size=len(content), has_blob=True))
    long_ago = utcnow() - timedelta(days=2)
    with hub.db.write() as session:
        session.execute(update(LfsObject).where(LfsObject.oid == oid).values(created_at=long_ago))
    stored = hub.blobs.local_path(key)
    assert isinstance(stored, Path)
    os.utime(stored, (long_ago.timestamp(), long_ago.timestamp()))

    def upload_again() -> None:  # what the LFS intake does for a new upload of the same content
        hub.blobs.publish(hub.blobs.stage_bytes(content), key)
        with hub.db.write() as session:
            lfs.link(session, repo_id, oid, len(content), blob=True)

    racing = _UploadRacesTheSweep(hub.blobs, key, upload_again)
    hub.blobs = racing  # type: ignore[assignment]
    collect_garbage(hub, grace=timedelta(hours=1))

    assert racing.raced
    with hub.db.read() as session:
        assert session.get(LfsObject, oid) is not None  # the upload's row stands ...
    assert hub.blobs.stat(key) == len(content)  # ... and so do its bytes
    with hub.blobs.open(key) as handle:
        assert handle.read() == content
    assert list(hub.blobs.iter_keys(TOMBSTONES)) == []


def test_unused_content_is_still_freed(hub: Hub) -> None:
    content = os.urandom(2048)
    oid, key = hashlib.sha256(content).hexdigest(), lfs_key(hashlib.sha256(content).hexdigest())
    hub.blobs.publish(hub.blobs.stage_bytes(content), key)
    long_ago = utcnow() - timedelta(days=2)
    with hub.db.write() as session:
        session.add(LfsObject(oid=oid, size=len(content), has_blob=True, created_at=long_ago))
    stored = hub.blobs.local_path(key)
    assert isinstance(stored, Path)
    os.utime(stored, (long_ago.timestamp(), long_ago.timestamp()))

    report = collect_garbage(hub, grace=timedelta(hours=1))

    assert (report.objects_removed, report.bytes_freed) == (1, len(content))
    assert hub.blobs.stat(key) is None
    assert list(hub.blobs.iter_keys(TOMBSTONES)) == []
