"""Backup and restore of a whole hub: database rows, git repositories and stored content.

Consistency: the database is dumped from one snapshot transaction; each repo is then bundled with
``git bundle`` (refs and objects captured together, never a half-written pack), so git is at
least as new as the rows; rows for content that commits made in between reference are added from
the live database; finally every referenced blob and xorb is copied. A restore therefore never has
a pointer without its content, nor a row without its bytes. The dump is engine-neutral JSON, so a
backup of an SQLite hub restores onto PostgreSQL (and back).
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, LargeBinary, Table, func, insert, select, text
from sqlalchemy.orm import Session

from dockyard import __version__
from dockyard.accounts.models import Account
from dockyard.db.base import Base, utcnow
from dockyard.db.migrate import import_all_models
from dockyard.hub import Hub
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.maintenance.gc import referenced_oids
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.models import Repo
from dockyard.storage.base import lfs_key
from dockyard.xet.models import XetFile, XetFileXorb, XetXorb
from dockyard.xet.reader import xorb_key

FORMAT = 1
_COPY_CHUNK = 8 * 1024 * 1024


class BackupError(RuntimeError):
    """The backup or the restore cannot proceed (bad source, non-empty target, …)."""


@dataclass
class BackupManifest:
    format: int
    created_at: str
    version: str
    tables: dict[str, int] = field(default_factory=dict)
    repos: list[str] = field(default_factory=list)
    blobs: dict[str, int] = field(default_factory=dict)


# Queued jobs are transient: a restored hub must not replay the old hub's work.
_NOT_BACKED_UP = {"alembic_version", "jobs"}


def _tables() -> list[Table]:
    import_all_models()
    return [table for table in Base.metadata.sorted_tables if table.name not in _NOT_BACKED_UP]


def _encode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        value = row[column.name]
        if value is None or isinstance(column.type, JSON):
            out[column.name] = value
        elif isinstance(column.type, LargeBinary):
            out[column.name] = base64.b64encode(value).decode()
        elif isinstance(value, datetime):
            out[column.name] = value.isoformat()
        else:
            out[column.name] = value
    return out


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        value = row.get(column.name)
        if value is not None and isinstance(column.type, LargeBinary):
            value = base64.b64decode(value)
        elif value is not None and isinstance(
            column.type, DateTime | type(Base.metadata.tables["accounts"].c.created_at.type)
        ):
            value = datetime.fromisoformat(value)
        out[column.name] = value
    return out


# -- backup ---------------------------------------------------------------------------------
def backup(hub: Hub, destination: Path) -> BackupManifest:
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty")
    (destination / "database").mkdir(parents=True, mode=0o700)  # holds the signing keys
    (destination / "repos").mkdir()
    manifest = BackupManifest(format=FORMAT, created_at=utcnow().isoformat(), version=__version__)
    tables = _tables()
    rows_by_table = _dump_database(hub, tables)
    repos = rows_by_table["repos"]
    pointer_oids: set[str] = set()
    for repo in repos:
        pointer_oids |= _bundle_repo(hub, repo["uid"], destination / "repos" / f"{repo['uid']}.bundle")
        manifest.repos.append(repo["uid"])
    _add_late_content_rows(hub, rows_by_table, pointer_oids)
    for table in tables:
        rows = rows_by_table[table.name]
        with (destination / "database" / f"{table.name}.jsonl").open("w") as handle:
            for row in rows:
                handle.write(json.dumps(_encode(table, row)) + "\n")
        manifest.tables[table.name] = len(rows)
    manifest.blobs = _copy_blobs_out(hub, rows_by_table, destination / "blobs")
    (destination / "manifest.json").write_text(json.dumps(manifest.__dict__, indent=2))
    return manifest


def _dump_database(hub: Hub, tables: list[Table]) -> dict[str, list[dict[str, Any]]]:
    with hub.db.snapshot() as session:
        if not hub.db.is_sqlite:
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return {table.name: [dict(row._mapping) for row in session.execute(select(table))] for table in tables}


def _bundle_repo(hub: Hub, uid: str, target: Path) -> set[str]:
    path = hub.git.path(uid)
    subprocess.run(
        ["git", "-C", str(path), "bundle", "create", "--quiet", str(target), "--all"],
        check=True, capture_output=True,
    )  # fmt: skip
    return referenced_oids(hub.git.open(uid).raw)


def _add_late_content_rows(hub: Hub, rows: dict[str, list[dict[str, Any]]], pointer_oids: set[str]) -> None:
    """Commits made after the snapshot may name objects the snapshot lacks: add their rows."""
    known = {row["oid"] for row in rows["lfs_objects"]}
    missing = sorted(pointer_oids - known)
    if not missing:
        return
    with hub.db.read() as session:
        objects = _rows(session, select(LfsObject.__table__).where(LfsObject.oid.in_(missing)))
        links = _rows(session, select(RepoLfsObject.__table__).where(RepoLfsObject.oid.in_(missing)))
        files = _rows(
            session,
            select(XetFile.__table__).where(XetFile.file_hash.in_([o["xet_hash"] for o in objects if o["xet_hash"]])),
        )
        file_xorbs = _rows(
            session, select(XetFileXorb.__table__).where(XetFileXorb.file_hash.in_([f["file_hash"] for f in files]))
        )
        xorb_hashes = {row["xorb_hash"] for row in file_xorbs}
        known_xorbs = {row["hash"] for row in rows["xet_xorbs"]}
        xorbs = _rows(session, select(XetXorb.__table__).where(XetXorb.hash.in_(sorted(xorb_hashes - known_xorbs))))
    repo_ids = {row["id"] for row in rows["repos"]}
    known_files = {row["file_hash"] for row in rows["xet_files"]}
    known_links = {(row["repo_id"], row["oid"]) for row in rows["repo_lfs_objects"]}
    rows["lfs_objects"] += objects
    rows["repo_lfs_objects"] += [
        r for r in links if r["repo_id"] in repo_ids and (r["repo_id"], r["oid"]) not in known_links
    ]
    rows["xet_files"] += [f for f in files if f["file_hash"] not in known_files]
    rows["xet_file_xorbs"] += [r for r in file_xorbs if r["file_hash"] not in known_files]
    rows["xet_xorbs"] += xorbs


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.execute(query)]


def _content_keys(rows: dict[str, list[dict[str, Any]]]) -> Iterator[str]:
    for obj in rows["lfs_objects"]:
        yield lfs_key(obj["oid"])
    for xorb in rows["xet_xorbs"]:
        yield xorb_key(xorb["hash"])


def _copy_blobs_out(hub: Hub, rows: dict[str, list[dict[str, Any]]], root: Path) -> dict[str, int]:
    copied: dict[str, int] = {}
    for key in _content_keys(rows):
        size = hub.blobs.stat(key)
        if size is None:
            continue  # Xet-only objects have no whole blob; their xorbs are copied instead
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            for block in hub.blobs.iter_range(key, 0, size - 1, _COPY_CHUNK) if size else ():
                handle.write(block)
        copied[key] = size
    return copied


# -- restore --------------------------------------------------------------------------------
def restore(hub: Hub, source: Path) -> BackupManifest:
    manifest_path = source / "manifest.json"
    if not manifest_path.exists():
        raise BackupError(f"{source} is not a Dockyard backup (no manifest.json)")
    manifest = BackupManifest(**json.loads(manifest_path.read_text()))
    if manifest.format != FORMAT:
        raise BackupError(f"Unsupported backup format {manifest.format}")
    tables = _tables()
    with hub.db.read() as session:
        if any(session.scalar(select(func.count()).select_from(t)) for t in (Account.__table__, Repo.__table__)):
            raise BackupError("The target hub is not empty: restore into a fresh data directory and database")
    _load_database(hub, tables, source / "database")
    for uid in manifest.repos:
        _unbundle_repo(hub, uid, source / "repos" / f"{uid}.bundle")
    for key in manifest.blobs:
        _copy_blob_in(hub, source / "blobs" / key, key)
    _refresh_newer_repos(hub)
    return manifest


def _load_database(hub: Hub, tables: list[Table], folder: Path) -> None:
    with hub.db.write() as session:
        for table in tables:
            path = folder / f"{table.name}.jsonl"
            rows = [_decode(table, json.loads(line)) for line in path.read_text().splitlines() if line]
            if table.name == "server_state":
                session.execute(table.delete())
            for start in range(0, len(rows), 500):
                session.execute(insert(table), rows[start : start + 500])
        if not hub.db.is_sqlite:
            _reset_sequences(session, tables)


def _reset_sequences(session: Session, tables: list[Table]) -> None:
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].autoincrement is not False and key[0].type.python_type is int:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key[0].name}'), "
                    f"COALESCE((SELECT MAX({key[0].name}) FROM {table.name}), 0) + 1, false)"
                )
            )


def _unbundle_repo(hub: Hub, uid: str, bundle: Path) -> None:
    path = hub.git.path(uid)
    if path.exists():
        raise BackupError(f"Repository storage {path} already exists")
    hub.git.init(uid)
    subprocess.run(
        ["git", "-C", str(path), "fetch", "--quiet", str(bundle), "+refs/*:refs/*"],
        check=True, capture_output=True,
    )  # fmt: skip


def _copy_blob_in(hub: Hub, source: Path, key: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        with source.open("rb") as handle:
            while block := handle.read(_COPY_CHUNK):
                yield block

    staged = asyncio.run(hub.blobs.stage_stream(chunks()))
    hub.blobs.publish(staged, key)


def _refresh_newer_repos(hub: Hub) -> None:
    """Repos whose git moved on after the database snapshot get their metadata re-derived."""
    from dockyard.repos.commits import record_commit

    with hub.db.read() as session:
        repos = list(session.execute(select(Repo.id, Repo.uid, Repo.metadata_sha)))
    for repo_id, uid, metadata_sha in repos:
        head = hub.git.open(uid).ref_target(DEFAULT_REF)
        if head is not None and head != metadata_sha:
            record_commit(hub, repo_id, DEFAULT_REF, head)
