"""Garbage collection of large-file content no commit references any more.

Mark: every LFS pointer reachable from any ref (branches, tags, pull requests, conversions) of
every repo. Sweep, oldest first and only past a grace period (so uploads in flight, whose content
is stored but not committed yet, are never touched): repo links to unreferenced objects, objects
no repo links, Xet files no object names, xorbs no file uses, and storage keys no row knows.
Rows are deleted before their bytes, so a crash never leaves a row pointing at missing content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pygit2
from pygit2.enums import ObjectType
from sqlalchemy import delete, select

from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from dockyard.repos.models import Repo
from dockyard.storage.base import lfs_key
from dockyard.xet.models import XetFile, XetFileXorb, XetXorb
from dockyard.xet.reader import xorb_key

log = logging.getLogger(__name__)


@dataclass
class GcReport:
    repo_links_removed: int = 0
    objects_removed: int = 0
    xet_files_removed: int = 0
    xorbs_removed: int = 0
    orphan_keys_removed: int = 0
    stale_uploads_removed: int = 0
    bytes_freed: int = 0
    referenced_objects: int = 0
    details: list[str] = field(default_factory=list)


def referenced_oids(repo: pygit2.Repository) -> set[str]:
    """LFS oids of pointer files in every commit reachable from any ref."""
    tips = []
    for name in repo.references:
        try:
            tips.append(repo.references[name].peel(pygit2.Commit).id)
        except (pygit2.InvalidSpecError, ValueError, KeyError):
            continue
    found: set[str] = set()
    seen_trees: set[pygit2.Oid] = set()
    seen_blobs: set[pygit2.Oid] = set()
    if not tips:
        return found
    walker = repo.walk(tips[0])
    for tip in tips[1:]:
        walker.push(tip)
    for commit in walker:
        _scan_tree(repo, commit.tree, seen_trees, seen_blobs, found)
    return found


def _scan_tree(repo: pygit2.Repository, tree: pygit2.Tree, seen_trees: set, seen_blobs: set, found: set[str]) -> None:
    stack = [tree]
    while stack:
        current = stack.pop()
        if current.id in seen_trees:
            continue
        seen_trees.add(current.id)
        for entry in current:
            if entry.type == ObjectType.TREE:
                stack.append(repo[entry.id])
            elif entry.type == ObjectType.BLOB and entry.id not in seen_blobs:
                seen_blobs.add(entry.id)
                _, size = repo.odb.read_header(entry.id)
                if size <= MAX_POINTER_SIZE:
                    pointer = parse_pointer(repo[entry.id].data)
                    if pointer is not None:
                        found.add(pointer.oid)


def collect_garbage(hub: Hub, *, grace: timedelta) -> GcReport:
    report = GcReport()
    cutoff = utcnow() - grace
    with hub.db.read() as session:
        repos = list(session.execute(select(Repo.id, Repo.uid)))
    referenced: set[str] = set()
    for repo_id, uid in repos:
        if not hub.git.exists(uid):  # never conclude "unreferenced" from storage we cannot read
            log.warning("garbage collection: git storage of repo %s is missing; its content is kept", uid)
            continue
        oids = referenced_oids(hub.git.open(uid).raw)
        referenced |= oids
        report.repo_links_removed += _prune_repo_links(hub, repo_id, oids, cutoff)
    report.referenced_objects = len(referenced)
    _sweep_objects(hub, referenced, cutoff, report)
    _sweep_xet(hub, cutoff, report)
    _sweep_orphan_keys(hub, cutoff, report)
    return report


def _prune_repo_links(hub: Hub, repo_id: int, oids: set[str], cutoff) -> int:  # type: ignore[no-untyped-def]
    with hub.db.write() as session:
        stale = [
            oid
            for oid in session.scalars(
                select(RepoLfsObject.oid).where(RepoLfsObject.repo_id == repo_id, RepoLfsObject.pushed_at < cutoff)
            )
            if oid not in oids
        ]
        for start in range(0, len(stale), 500):
            session.execute(
                delete(RepoLfsObject).where(
                    RepoLfsObject.repo_id == repo_id, RepoLfsObject.oid.in_(stale[start : start + 500])
                )
            )
    return len(stale)


def _sweep_objects(hub: Hub, referenced: set[str], cutoff, report: GcReport) -> None:  # type: ignore[no-untyped-def]
    with hub.db.write() as session:
        linked = select(RepoLfsObject.oid)
        rows = list(
            session.execute(
                select(LfsObject.oid, LfsObject.size).where(LfsObject.created_at < cutoff, LfsObject.oid.not_in(linked))
            )
        )
        doomed = [(oid, size) for oid, size in rows if oid not in referenced]
        for start in range(0, len(doomed), 500):
            batch = [oid for oid, _ in doomed[start : start + 500]]
            # Conditions re-checked in the statement: a link made meanwhile saves the object.
            session.execute(
                delete(LfsObject).where(
                    LfsObject.oid.in_(batch), LfsObject.created_at < cutoff, LfsObject.oid.not_in(linked)
                )
            )
    for oid, _size in doomed:
        key = lfs_key(oid)
        if _modified_before(hub, key, cutoff):  # bytes re-uploaded meanwhile are fresh: kept
            freed = hub.blobs.stat(key)
            hub.blobs.delete(key)
            report.bytes_freed += freed or 0
    report.objects_removed = len(doomed)


def _sweep_xet(hub: Hub, cutoff, report: GcReport) -> None:  # type: ignore[no-untyped-def]
    with hub.db.write() as session:
        named = select(LfsObject.xet_hash).where(LfsObject.xet_hash.is_not(None))
        files = session.execute(delete(XetFile).where(XetFile.created_at < cutoff, XetFile.file_hash.not_in(named)))
        report.xet_files_removed = files.rowcount or 0  # type: ignore[attr-defined]
        used = set(session.scalars(select(XetFileXorb.xorb_hash).distinct()))
        candidates = list(
            session.execute(
                select(XetXorb.hash, XetXorb.stored_size).where(
                    XetXorb.created_at < cutoff, XetXorb.last_used_at < cutoff
                )
            )
        )
        doomed = [(h, size) for h, size in candidates if h not in used]
        for start in range(0, len(doomed), 500):
            batch = [h for h, _ in doomed[start : start + 500]]
            session.execute(delete(XetXorb).where(XetXorb.hash.in_(batch), XetXorb.last_used_at < cutoff))
    for hash_hex, size in doomed:
        key = xorb_key(hash_hex)
        if _modified_before(hub, key, cutoff):
            hub.blobs.delete(key)
            report.bytes_freed += size
    report.xorbs_removed = len(doomed)


def _sweep_orphan_keys(hub: Hub, cutoff, report: GcReport) -> None:  # type: ignore[no-untyped-def]
    """Bytes written before a crash kept their row from being created: nothing names them."""
    with hub.db.read() as session:
        objects = set(session.scalars(select(LfsObject.oid)))
        xorbs = set(session.scalars(select(XetXorb.hash)))
    for prefix, known in (("lfs", objects), ("xet/xorbs", xorbs)):
        for key, size in list(hub.blobs.iter_keys(prefix)):
            name = key.rsplit("/", 1)[-1]
            if name not in known and _modified_before(hub, key, cutoff):
                hub.blobs.delete(key)
                report.orphan_keys_removed += 1
                report.bytes_freed += size
    report.stale_uploads_removed = hub.blobs.purge_staging(cutoff)


def _modified_before(hub: Hub, key: str, cutoff: datetime) -> bool:
    modified = hub.blobs.modified_at(key)
    return modified is not None and modified < cutoff
