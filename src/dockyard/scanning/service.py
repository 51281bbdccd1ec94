"""Scanning a commit's files, and answering the Hub's security fields from the stored results.

``scan_commit`` runs in the background (``scanning.scan_commit``): it lists the commit's files, skips
contents that already have a current result anywhere on the hub, copies each remaining pickle-capable
content to a temporary file and scans it, and validates safetensors headers in place. The read side
(``file_statuses``, ``repo_security_status``) only looks results up, so tree listings and
``model_info`` never scan anything themselves; a content without a result reads as ``queued``.
"""

from __future__ import annotations

import logging
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.db.base import utcnow
from dockyard.errors import NotFoundError, StorageError
from dockyard.hub import Hub
from dockyard.lfs import content as lfs_content
from dockyard.repos.git_repo import Entry, FileEntry, GitRepo
from dockyard.repos.models import Repo
from dockyard.scanning import pickles, safetensors_check
from dockyard.scanning.detect import HEAD_BYTES, ContentKind, PathKind, content_key, content_kind, path_kind
from dockyard.scanning.models import ContentScan
from dockyard.scanning.pickles import DEFAULT_LIMITS, ScanLimits, scan_pickle_file
from dockyard.scanning.results import (
    ERROR,
    FINAL_STATUSES,
    INNOCUOUS,
    QUEUED,
    SAFE,
    SUSPICIOUS,
    UNSAFE,
    ScanResult,
    highest_safety_level,
)

MIB = 1024 * 1024
READ_CHUNK = 8 * MIB
DETECT_SCANNER = "dockyard-detect"  # the verdict on a file whose first bytes show no pickle
DETECT_VERSION = "2"  # 2: gzip streams are no longer "safe" by their first bytes
CURRENT_SCANNERS = frozenset(
    {
        (pickles.SCANNER, pickles.SCANNER_VERSION),
        (safetensors_check.SCANNER, safetensors_check.SCANNER_VERSION),
        (DETECT_SCANNER, DETECT_VERSION),
    }
)
ISSUE_LEVELS = frozenset({UNSAFE, SUSPICIOUS, ERROR})
#: The Hub's shape has an antivirus verdict; no antivirus runs here, so it says so rather than "safe".
AV_SCAN: dict[str, Any] = {"status": "unscanned", "virusFound": None, "virusNames": None}
_KEY_BATCH = 500
# What hostile bytes make a reader raise when its own checks missed them (the scanners report what
# they foresee as results). Storage and database failures are not among them: the job retries those.
_CONTENT_FAILURES = (ValueError, RecursionError, OverflowError, EOFError, IndexError, KeyError, struct.error)
log = logging.getLogger(__name__)


@dataclass
class CommitScanSummary:
    """What one ``scan_commit`` did: paths scanned (with their status) and paths whose content was known."""

    scanned: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


# -- scanning -------------------------------------------------------------------------------------
def scan_commit(hub: Hub, repo_id: int, commit_id: str, *, limits: ScanLimits = DEFAULT_LIMITS) -> CommitScanSummary:
    """Scan every file at ``commit_id`` whose content has no current result yet (idempotent)."""
    summary = CommitScanSummary()
    with hub.db.read() as session:
        repo = session.get(Repo, repo_id)
        uid = repo.uid if repo is not None else None
    if uid is None:  # deleted since the job was queued
        return summary
    git = hub.git.open(uid)
    try:
        entries = [entry for entry in git.iter_files(commit_id) if path_kind(entry.path) is not PathKind.INERT]
    except KeyError:  # the commit was collected (its branch deleted or force-pushed): nothing to scan
        return summary
    with hub.db.read() as session:
        done = _current_keys(session, {content_key(entry) for entry in entries})
    unreadable: list[StorageError | NotFoundError] = []
    for entry in entries:
        key = content_key(entry)
        if key in done:
            summary.skipped.append(entry.path)
            continue
        done.add(key)  # the same content twice in one commit is scanned once
        try:
            result = _scan_one(hub, git, entry, limits)
        except (
            StorageError,
            NotFoundError,
        ) as error:  # bytes missing or unreachable, not the content's fault: left queued, retried with the job
            unreadable.append(error)
            continue
        _store(hub, key, result)
        summary.scanned[entry.path] = result.status
    if unreadable:
        raise unreadable[0]  # every other file has its result; the retry scans only what is missing
    return summary


def _scan_one(hub: Hub, git: GitRepo, entry: FileEntry, limits: ScanLimits) -> ScanResult:
    """One file's verdict; content that breaks a reader fails this file's scan, never the commit's."""
    try:
        return scan_entry(hub, git, entry, limits=limits)
    except _CONTENT_FAILURES as error:
        log.warning("scanning %s failed on its content: %r", entry.path, error)
        message = f"{entry.path}: cannot be scanned ({type(error).__name__})"
        return ScanResult(ERROR, DETECT_SCANNER, DETECT_VERSION, message=message)


def scan_entry(hub: Hub, git: GitRepo, entry: FileEntry, *, limits: ScanLimits = DEFAULT_LIMITS) -> ScanResult:
    """The scan one file needs, by its name and then its first bytes."""
    content = _open_content(hub, git, entry)
    if content is None:
        return ScanResult(ERROR, DETECT_SCANNER, DETECT_VERSION, message=f"{entry.path}: content is not stored")
    kind = path_kind(entry.path)
    if kind is PathKind.SAFETENSORS:
        return safetensors_check.scan_safetensors(content.read_range, entry.size)
    if kind is PathKind.SNIFF:
        head = content.read_range(0, min(HEAD_BYTES, entry.size) - 1) if entry.size else b""
        if content_kind(head) is ContentKind.OTHER:
            return ScanResult(SAFE, DETECT_SCANNER, DETECT_VERSION)
    return _scan_pickle_content(hub, content, entry, limits)


def _scan_pickle_content(hub: Hub, content: _Content, entry: FileEntry, limits: ScanLimits) -> ScanResult:
    """Copy the content to a temporary file (scanners seek; archives are read from their end) and scan it."""
    if entry.size > limits.max_file_bytes:
        message = f"{entry.path}: {entry.size} bytes is more than the {limits.max_file_bytes} scanned"
        return ScanResult(ERROR, pickles.SCANNER, pickles.SCANNER_VERSION, message=message)
    scratch = hub.settings.resolved_data_dir() / "tmp" / "scanning"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        path = Path(folder) / ("content" + PurePosixPath(entry.path.lower()).suffix)
        with path.open("wb") as file:
            content.copy_to(file)
        return scan_pickle_file(path, name=entry.path, limits=limits)


class _Content(Protocol):
    def read_range(self, start: int, end: int) -> bytes: ...

    def copy_to(self, file: IO[bytes]) -> None: ...


@dataclass(frozen=True, slots=True)
class _BlobContent:
    """A regular file: a git blob, small enough to be held in memory."""

    data: bytes

    def read_range(self, start: int, end: int) -> bytes:
        return self.data[start : end + 1]

    def copy_to(self, file: IO[bytes]) -> None:
        file.write(self.data)


@dataclass(frozen=True, slots=True)
class _LargeContent:
    """A large file, stored whole or as Xet chunks: ``lfs.content`` reads either."""

    hub: Hub
    stored: lfs_content.StoredContent

    def read_range(self, start: int, end: int) -> bytes:
        return lfs_content.read_range(self.hub, self.stored, start, end)

    def copy_to(self, file: IO[bytes]) -> None:
        if self.stored.size == 0:
            return
        for chunk in lfs_content.iter_range(self.hub, self.stored, 0, self.stored.size - 1, READ_CHUNK):
            file.write(chunk)


def _open_content(hub: Hub, git: GitRepo, entry: FileEntry) -> _Content | None:
    if entry.lfs is None:
        return _BlobContent(git.read_blob(entry.blob_id))
    with hub.db.read() as session:
        stored = lfs_content.locate(hub, session, entry.lfs.oid)
    return _LargeContent(hub, stored) if stored is not None else None


def _store(hub: Hub, key: str, result: ScanResult) -> None:
    try:
        with hub.db.write() as session:
            row = session.get(ContentScan, key)
            if row is None:
                row = ContentScan(content_key=key)
                session.add(row)
            row.status = result.status
            row.imports = result.imports_json()
            row.message = result.message
            row.scanner = result.scanner
            row.scanner_version = result.scanner_version
            row.scanned_at = utcnow()
    except IntegrityError:
        pass  # another worker stored this content's result at the same moment; both scanned the same bytes


def _current_keys(session: Session, keys: set[str]) -> set[str]:
    """The keys whose stored result is final and was made by a current scanner version."""
    return {row.content_key for row in _rows(session, keys) if is_current(row)}


def is_current(row: ContentScan) -> bool:
    return row.status in FINAL_STATUSES and (row.scanner, row.scanner_version) in CURRENT_SCANNERS


def _rows(session: Session, keys: Iterable[str]) -> Iterator[ContentScan]:
    ordered = sorted(keys)
    for index in range(0, len(ordered), _KEY_BATCH):
        batch = ordered[index : index + _KEY_BATCH]
        yield from session.scalars(select(ContentScan).where(ContentScan.content_key.in_(batch)))


# -- the Hub's security fields --------------------------------------------------------------------
def file_statuses(session: Session, entries: Iterable[Entry]) -> dict[str, dict[str, Any]]:
    """``securityFileStatus`` for each file among ``entries`` (folders are ignored), keyed by path."""
    files = [entry for entry in entries if isinstance(entry, FileEntry)]
    kinds = {entry.path: path_kind(entry.path) for entry in files}
    keys = {content_key(entry) for entry in files if kinds[entry.path] is not PathKind.INERT}
    rows = {row.content_key: row for row in _rows(session, keys)}
    return {entry.path: _file_status(kinds[entry.path], rows.get(content_key(entry))) for entry in files}


def _file_status(kind: PathKind, row: ContentScan | None) -> dict[str, Any]:
    if kind is PathKind.INERT:
        return _status_json(SAFE, None, None)
    if row is None or row.status == QUEUED:
        return _status_json(QUEUED, _pickle_scan_json(QUEUED, []) if kind is PathKind.PICKLE else None, None)
    pickle_scan = _pickle_scan_json(row.status, row.imports) if row.scanner == pickles.SCANNER else None
    return _status_json(row.status, pickle_scan, row.message)


def _status_json(status: str, pickle_scan: dict[str, Any] | None, message: str | None) -> dict[str, Any]:
    status_json: dict[str, Any] = {"status": status, "avScan": dict(AV_SCAN), "pickleImportScan": pickle_scan}
    if message is not None:
        status_json["message"] = message
    return status_json


def _pickle_scan_json(status: str, imports: list[dict[str, Any]]) -> dict[str, Any]:
    highest = highest_safety_level([found["safety"] for found in imports])
    if highest is None and status == SAFE:
        highest = INNOCUOUS  # a pickle that imports nothing
    return {"status": status, "highestSafetyLevel": highest, "imports": list(imports)}


def repo_security_status(session: Session, hub: Hub, repo: Repo, commit_id: str) -> dict[str, Any]:
    """``securityRepoStatus`` of ``model_info(securityStatus=True)`` for the files at ``commit_id``."""
    entries = list(hub.git.open(repo.uid).iter_files(commit_id))
    statuses = file_statuses(session, entries)
    issues = [_issue(path, status) for path, status in sorted(statuses.items()) if status["status"] in ISSUE_LEVELS]
    return {"scansDone": all(status["status"] != QUEUED for status in statuses.values()), "filesWithIssues": issues}


def _issue(path: str, status: dict[str, Any]) -> dict[str, Any]:
    pickle_scan = status["pickleImportScan"] or {"imports": []}
    return {
        "path": path,
        "level": status["status"],
        "message": status.get("message"),
        "pickleImports": [found for found in pickle_scan["imports"] if found["safety"] != INNOCUOUS],
    }
