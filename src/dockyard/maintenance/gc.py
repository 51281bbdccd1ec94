"""Garbage collection of large-file content no commit references any more.

Mark: every LFS pointer reachable from any ref (branches, tags, pull requests, conversions) of
every repo, and every Xet file a bucket path points at (buckets have no history: a deleted or
overwritten bucket file stops being a root at once). Sweep, oldest first and only past a grace
period (so uploads in flight, whose content is stored but not committed yet, are never touched):
repo links to unreferenced objects, objects no repo links, Xet files no object or bucket file
names, xorbs no file uses, and storage keys no row knows.
Rows are deleted before their bytes, so a crash never leaves a row pointing at missing content.

Bytes are freed only for the rows the guarded DELETE really removed (``DELETE … RETURNING``: a row
saved meanwhile by a new link keeps its bytes), and never straight away: they are first moved to a
tombstone, then the database is asked again whether a row names them (content uploaded again
while the sweep ran); if one does they are put back, otherwise the tombstone is deleted. An
upload links its row before it relies on bytes already being stored, so either the sweep sees the
row and restores, or the upload sees the bytes gone and stores them again. Tombstones left by a
crash are settled the same way by the next run.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import pygit2
from pygit2.enums import ObjectType
from sqlalchemy import CompoundSelect, delete, select, union

from dockyard.buckets.models import BucketFile
from dockyard.db.base import utcnow
from dockyard.hub import Hub
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from dockyard.repos.models import Repo
from dockyard.storage.base import lfs_key
from dockyard.viewer import search_store
from dockyard.viewer.models import ViewerStepResult
from dockyard.viewer.steps import search_index
from dockyard.xet.models import XetFile, XetFileXorb, XetXorb
from dockyard.xet.reader import xorb_key

log = logging.getLogger(__name__)
TOMBSTONES = "gc-tombstones"


@dataclass
class GcReport:
    repo_links_removed: int = 0
    objects_removed: int = 0
    xet_files_removed: int = 0
    xorbs_removed: int = 0
    orphan_keys_removed: int = 0
    stale_uploads_removed: int = 0
    search_indexes_removed: int = 0
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


def _scan_tree(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    seen_trees: set[pygit2.Oid],
    seen_blobs: set[pygit2.Oid],
    found: set[str],
) -> None:
    stack = [tree]
    while stack:
        current = stack.pop()
        if current.id in seen_trees:
            continue
        seen_trees.add(current.id)
        for entry in current:
            if entry.type == ObjectType.TREE:
                subtree = repo[entry.id]
                assert isinstance(subtree, pygit2.Tree)
                stack.append(subtree)
            elif entry.type == ObjectType.BLOB and entry.id not in seen_blobs:
                seen_blobs.add(entry.id)
                _, size = repo.odb.read_header(entry.id)
                if size <= MAX_POINTER_SIZE:
                    blob = repo[entry.id]
                    assert isinstance(blob, pygit2.Blob)
                    pointer = parse_pointer(blob.data)
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
    _sweep_search_indexes(hub, cutoff, report)
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
        candidates = list(
            session.scalars(select(LfsObject.oid).where(LfsObject.created_at < cutoff, LfsObject.oid.not_in(linked)))
        )
        doomed = [oid for oid in candidates if oid not in referenced]
        removed: list[str] = []
        for start in range(0, len(doomed), 500):
            # Conditions re-checked in the statement: a link made meanwhile saves the object, and
            # only what the statement really removed loses its bytes.
            removed += session.scalars(
                delete(LfsObject)
                .where(LfsObject.oid.in_(doomed[start : start + 500]), LfsObject.created_at < cutoff)
                .where(LfsObject.oid.not_in(linked))
                .returning(LfsObject.oid)
            )
    for oid in removed:
        report.bytes_freed += _free_bytes(hub, lfs_key(oid), cutoff, partial(_lfs_row_exists, hub, oid))
    report.objects_removed = len(removed)


def _sweep_xet(hub: Hub, cutoff, report: GcReport) -> None:  # type: ignore[no-untyped-def]
    with hub.db.write() as session:
        named: CompoundSelect[tuple[str | None]] = union(  # bucket files name Xet files directly, with no LFS object
            select(LfsObject.xet_hash).where(LfsObject.xet_hash.is_not(None)), select(BucketFile.xet_hash)
        )
        files = session.execute(delete(XetFile).where(XetFile.created_at < cutoff, XetFile.file_hash.not_in(named)))
        report.xet_files_removed = files.rowcount or 0  # type: ignore[attr-defined]
        used = select(XetFileXorb.xorb_hash)
        candidates = list(
            session.scalars(select(XetXorb.hash).where(XetXorb.created_at < cutoff, XetXorb.last_used_at < cutoff))
        )
        removed: list[str] = []
        for start in range(0, len(candidates), 500):
            removed += session.scalars(
                delete(XetXorb)
                .where(XetXorb.hash.in_(candidates[start : start + 500]), XetXorb.last_used_at < cutoff)
                .where(XetXorb.hash.not_in(used))
                .returning(XetXorb.hash)
            )
    for hash_hex in removed:
        report.bytes_freed += _free_bytes(hub, xorb_key(hash_hex), cutoff, partial(_xorb_row_exists, hub, hash_hex))
    report.xorbs_removed = len(removed)


def _sweep_orphan_keys(hub: Hub, cutoff, report: GcReport) -> None:  # type: ignore[no-untyped-def]
    """Bytes written before a crash kept their row from being created: nothing names them."""
    _settle_tombstones(hub)
    with hub.db.read() as session:
        objects = set(session.scalars(select(LfsObject.oid)))
        xorbs = set(session.scalars(select(XetXorb.hash)))
    row_exists: tuple[tuple[str, set[str], Callable[[Hub, str], bool]], ...] = (
        ("lfs", objects, _lfs_row_exists),
        ("xet/xorbs", xorbs, _xorb_row_exists),
    )
    for prefix, known, exists in row_exists:
        for key, _size in list(hub.blobs.iter_keys(prefix)):
            name = key.rsplit("/", 1)[-1]
            if name not in known and _modified_before(hub, key, cutoff):
                freed = _free_bytes(hub, key, cutoff, partial(exists, hub, name))
                if freed:
                    report.orphan_keys_removed += 1
                    report.bytes_freed += freed
    report.stale_uploads_removed = hub.blobs.purge_staging(cutoff)


def _search_index_keys(hub: Hub) -> set[str]:
    """The viewer's search indexes some step result still names (a deleted repo's results went
    with it; a re-run at a new step version names new keys)."""
    with hub.db.read() as session:
        rows = session.scalars(
            select(ViewerStepResult.result).where(
                ViewerStepResult.step == search_index.NAME, ViewerStepResult.status == "ok"
            )
        )
        return {str(key) for text in rows if text and (key := json.loads(text).get("key"))}


def _sweep_search_indexes(hub: Hub, cutoff, report: GcReport) -> None:  # type: ignore[no-untyped-def]
    named = _search_index_keys(hub)
    for key, _size in list(hub.blobs.iter_keys(search_store.KEY_PREFIX)):
        if key not in named and _modified_before(hub, key, cutoff):
            freed = _free_bytes(hub, key, cutoff, lambda key=key: key in _search_index_keys(hub))  # type: ignore[misc]
            if freed:
                report.search_indexes_removed += 1
                report.bytes_freed += freed


def _free_bytes(hub: Hub, key: str, cutoff: datetime, named_again: Callable[[], bool]) -> int:
    """Delete the bytes under ``key``, whose row is gone, unless they are needed again: written
    again after ``cutoff``, or named by a row that appeared meanwhile. Returns the bytes freed."""
    if not _modified_before(hub, key, cutoff):  # bytes re-uploaded meanwhile are fresh: kept
        return 0
    size = hub.blobs.stat(key) or 0
    tombstone = f"{TOMBSTONES}/{key.replace('/', '~')}~{uuid.uuid4().hex}"
    if not hub.blobs.move(key, tombstone):
        return 0
    if _restored(hub, key, tombstone, named_again):
        return 0
    return size


def _restored(hub: Hub, key: str, tombstone: str, named_again: Callable[[], bool]) -> bool:
    """Put the bytes back if a row names them again; otherwise drop the tombstone."""
    if named_again():
        if hub.blobs.stat(key) is None:
            hub.blobs.move(tombstone, key)
        else:  # stored again by the upload itself: the same content, by its hash
            hub.blobs.delete(tombstone)
        log.info("garbage collection: %s was linked again while being freed; kept", key)
        return True
    hub.blobs.delete(tombstone)
    return False


def _settle_tombstones(hub: Hub) -> None:
    """Tombstones a crashed run left: restore what a row names, drop the rest."""
    for tombstone, _size in list(hub.blobs.iter_keys(TOMBSTONES)):
        key = tombstone.rsplit("/", 1)[-1].rsplit("~", 1)[0].replace("~", "/")
        name = key.rsplit("/", 1)[-1]
        exists = _lfs_row_exists if key.startswith("lfs/") else _xorb_row_exists
        _restored(hub, key, tombstone, partial(exists, hub, name))


def _lfs_row_exists(hub: Hub, oid: str) -> bool:
    with hub.db.read() as session:
        return session.get(LfsObject, oid) is not None


def _xorb_row_exists(hub: Hub, hash_hex: str) -> bool:
    with hub.db.read() as session:
        return session.get(XetXorb, hash_hex) is not None


def _modified_before(hub: Hub, key: str, cutoff: datetime) -> bool:
    modified = hub.blobs.modified_at(key)
    return modified is not None and modified < cutoff
