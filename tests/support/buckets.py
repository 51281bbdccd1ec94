"""Putting files in a bucket, making an organisation and reading the audit log and the CAS's rows,
straight in the hub's database. Tests that need real content upload it with the client
(``HfApi.batch_bucket_files``); ``add_files`` puts rows in place for listing tests that need many
files or exact values, their hashes naming no stored content."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dockyard.accounts import service as accounts
from dockyard.audit import service as audit
from dockyard.buckets import service as buckets
from dockyard.cli.common import open_hub
from tests.support.server import LiveServer


@dataclass(frozen=True)
class File:
    path: str
    size: int = 1
    mtime: int | None = 1727278262346  # milliseconds, as the client sends them
    xet_hash: str = "96e637d9665bd35477b1908a23f2e254edfba0618dbd2d62f90a6baee7d139cf"
    content_type: str | None = None


@contextmanager
def hub_session(server: LiveServer) -> Iterator[Session]:
    """A write session on the live server's database (its engine settings, its data dir)."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in server.env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(server.data_dir)
        try:
            with hub.db.write() as session:
                yield session
        finally:
            hub.db.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def add_files(server: LiveServer, bucket_id: str, files: list[File]) -> None:
    namespace, name = bucket_id.split("/")
    with hub_session(server) as session:
        bucket = buckets.find_bucket(session, buckets.BucketId(namespace, name))
        assert bucket is not None, bucket_id
        for f in files:
            buckets.add_file(
                session, bucket, f.path, xet_hash=f.xet_hash, size=f.size, mtime=f.mtime, content_type=f.content_type
            )


def delete_file(server: LiveServer, bucket_id: str, path: str) -> bool:
    namespace, name = bucket_id.split("/")
    with hub_session(server) as session:
        bucket = buckets.find_bucket(session, buckets.BucketId(namespace, name))
        assert bucket is not None, bucket_id
        return buckets.delete_file(session, bucket, path)


def create_org(server: LiveServer, name: str, owner: str) -> None:
    """A fresh organisation (default visibility: private), so tests never change acme's."""
    with hub_session(server) as session:
        accounts.create_org(session, name, owner=accounts.get_user(session, owner))


def audit_targets(server: LiveServer, action: str) -> list[str]:
    with hub_session(server) as session:
        return [event.target for event in audit.query(session, action=action, limit=1000)]


def xorb_count(server: LiveServer) -> int:
    """Xorbs the hub stores (every bucket and repo together): a copy must not add any."""
    from sqlalchemy import func, select

    from dockyard.xet.models import XetXorb

    with hub_session(server) as session:
        return int(session.scalar(select(func.count()).select_from(XetXorb)) or 0)


def file_row(server: LiveServer, xet_hash: str) -> tuple[int, str | None] | None:
    """The CAS's row for a Xet file: (size, sha256), None when it was never registered."""
    from dockyard.xet.models import XetFile

    with hub_session(server) as session:
        row = session.get(XetFile, xet_hash)
        return None if row is None else (row.size, row.sha256)


def audit_details(server: LiveServer, action: str, target: str) -> list[dict[str, object]]:
    with hub_session(server) as session:
        events = audit.query(session, action=action, limit=1000)
        return [dict(event.details or {}) for event in events if event.target == target]
