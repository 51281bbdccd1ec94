"""The bucket batch: NDJSON lines that add, copy and delete files, applied one by one.

Not transactional, as on the Hub: each operation runs in its own savepoint and a failure is
reported for its path while the others go through. A line that is not a well-formed operation
fails the whole request (400) before anything is written.

Content is referenced by Xet file hash, and a hash is a capability only together with the right to
read it: ``addFile`` accepts a file whose every xorb this bucket holds (its grant uploaded them) or
that the caller may download through some repo or bucket; ``copyFile`` names its source, which the
caller must be able to download and which must hold the file. Either way the file's xorbs are then
linked to the bucket (no bytes move), so later dedup answers and reads follow the bucket.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.audit.service import record_for
from dockyard.auth import permissions
from dockyard.auth.access import Right, Viewer
from dockyard.auth.identity import Caller
from dockyard.buckets import access, service
from dockyard.buckets.models import Bucket, BucketFile
from dockyard.errors import BadRequestError, DockyardError, EntryNotFoundError, InvalidPathError
from dockyard.identifiers import RepoId, RepoType
from dockyard.lfs.models import LfsObject, RepoLfsObject
from dockyard.quotas import service as quotas
from dockyard.repos.service import RepoRef, get_readable_repo
from dockyard.xet import cas
from dockyard.xet.hashes import file_hash, is_hash_hex
from dockyard.xet.models import XetFile, XetFileXorb

MAX_LINES = 1000
MAX_PATH_LENGTH = 1000
#: Milliseconds that render as a date (years 1 to 9999): the tree shows ``mtime`` as ISO text.
MTIME_RANGE = (-62135596800000, 253402300799999)
#: A stored Content-Type is sent back in a header: printable ASCII, ``type/subtype[; params]``.
_CONTENT_TYPE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[ -~]*)?$")
#: The Xet hash of an empty file (no chunks): clients may reference it without uploading anything.
EMPTY_FILE_HASH = file_hash([]).hex()
SOURCE_TYPES = ("bucket", *(t.value for t in RepoType))


@dataclass(frozen=True, slots=True)
class AddFile:
    path: str
    xet_hash: str
    mtime: int | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class CopyFile:
    path: str
    xet_hash: str
    mtime: int | None
    source_type: str
    source_id: str


@dataclass(frozen=True, slots=True)
class DeleteFile:
    path: str


Operation = AddFile | CopyFile | DeleteFile


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    error: str


# -- parsing -------------------------------------------------------------------------------------
def parse_batch(body: bytes) -> list[Operation]:
    """Every line checked for shape before anything runs; ``BadRequestError`` names the line."""
    operations: list[Operation] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        if len(operations) == MAX_LINES:
            raise BadRequestError(f"At most {MAX_LINES} operations per batch")
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, huge integers, deep nesting
            raise BadRequestError(f"Line {number} of the batch is not valid JSON") from None
        if not isinstance(item, dict):
            raise BadRequestError(f"Line {number}: expected a JSON object")
        operations.append(_operation(number, item))
    return operations


def _operation(number: int, item: dict[str, Any]) -> Operation:
    kind = item.get("type")
    path = _string(number, item, "path")
    if kind == "deleteFile":
        return DeleteFile(path)
    if kind == "addFile":
        return AddFile(path, _string(number, item, "xetHash"), _mtime(number, item), _content_type(number, item))
    if kind == "copyFile":
        source_type = _string(number, item, "sourceRepoType")
        if source_type not in SOURCE_TYPES:
            raise BadRequestError(f"Line {number}: sourceRepoType must be one of {', '.join(SOURCE_TYPES)}")
        source_id = _string(number, item, "sourceRepoId")
        return CopyFile(path, _string(number, item, "xetHash"), _mtime(number, item), source_type, source_id)
    raise BadRequestError(f"Line {number}: type must be addFile, copyFile or deleteFile")


def _string(number: int, item: dict[str, Any], field: str) -> str:
    value = item.get(field)
    if not isinstance(value, str):
        raise BadRequestError(f"Line {number}: {field} must be a string")
    return value


def _mtime(number: int, item: dict[str, Any]) -> int | None:
    value = item.get("mtime")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not MTIME_RANGE[0] <= value <= MTIME_RANGE[1]:
        raise BadRequestError(f"Line {number}: mtime must be an integer number of milliseconds")
    return value


def _content_type(number: int, item: dict[str, Any]) -> str | None:
    value = item.get("contentType")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255 or not _CONTENT_TYPE.match(value):
        raise BadRequestError(f"Line {number}: contentType must be a media type")
    return value


def check_path(path: str) -> str:
    """A bucket path: relative, ``/``-separated, no empty, ``.`` or ``..`` segment, no NUL."""
    if not path or len(path) > MAX_PATH_LENGTH or "\x00" in path or path.startswith("/"):
        raise InvalidPathError(f"Invalid path {path!r}")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise InvalidPathError(f"Invalid path {path!r}: empty, '.' or '..' segment")
    return path


# -- applying ------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Content:
    """What the batch's ``addFile`` hashes are, resolved in a few queries for the whole batch
    instead of several per line: the size of each hash that may become the bucket's, the xorbs
    it reads, and the hashes whose xorbs this batch has already linked to the bucket."""

    usable: dict[str, int]
    xorbs: dict[str, list[str]]
    linked: set[str] = field(default_factory=set)


def apply_batch(session: Session, caller: Caller, bucket: Bucket, operations: list[Operation]) -> list[Failure]:
    """Each operation in its own savepoint; one audit record with the counts."""
    failures: list[Failure] = []
    done: Counter[str] = Counter()
    limited = quotas.quota_of(session, bucket.owner_id) is not None  # read once: most namespaces have none
    content = _resolve_content(session, caller, bucket, operations)
    for operation in operations:
        try:
            with session.begin_nested():
                _apply(session, caller, bucket, operation, content, limited=limited)
        except DockyardError as error:
            failures.append(Failure(operation.path, error.message))
            continue
        done[type(operation).__name__] += 1
    record_for(
        session,
        caller,
        "bucket.batch",
        f"bucket:{bucket.full_id}",
        added=done["AddFile"],
        copied=done["CopyFile"],
        deleted=done["DeleteFile"],
        failed=len(failures),
    )
    return failures


def _resolve_content(session: Session, caller: Caller, bucket: Bucket, operations: list[Operation]) -> _Content:
    """A hash may become this bucket's when every xorb it reads is held by the bucket (its own
    upload) or by something the caller may download. Unknown and unreadable hashes are alike
    absent, so a hash reveals nothing. Linking xorbs during the batch cannot change the answer:
    only xorbs that were already usable get linked."""
    hashes = sorted({op.xet_hash.lower() for op in operations if isinstance(op, AddFile) and is_hash_hex(op.xet_hash)})
    sizes: dict[str, int] = {}
    xorbs: dict[str, list[str]] = defaultdict(list)
    for part in _chunks(hashes):
        known = select(XetFile.file_hash, XetFile.size).where(XetFile.file_hash.in_(part))
        sizes.update(dict(session.execute(known).tuples().all()))
        pairs = select(XetFileXorb.file_hash, XetFileXorb.xorb_hash).where(XetFileXorb.file_hash.in_(part))
        for file_hex, xorb_hex in session.execute(pairs).tuples():
            xorbs[file_hex].append(xorb_hex)
    needed = sorted({xorb for file_hex in sizes for xorb in xorbs[file_hex]})
    visible: set[str] = set()
    for part in _chunks(needed):
        visible.update(cas.visible_xorbs(session, Viewer.of(caller), part, bucket_id=bucket.id))
    usable = {file_hex: size for file_hex, size in sizes.items() if visible.issuperset(xorbs[file_hex])}
    cas.claim_for_reuse(session, sorted(usable), sorted({x for file_hex in usable for x in xorbs[file_hex]}))
    if EMPTY_FILE_HASH in hashes:
        usable.setdefault(EMPTY_FILE_HASH, 0)  # no chunks: nothing to upload, nothing to read
    return _Content(usable, xorbs)


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _apply(
    session: Session, caller: Caller, bucket: Bucket, operation: Operation, content: _Content, *, limited: bool
) -> None:
    path = check_path(operation.path)
    if isinstance(operation, DeleteFile):
        service.delete_file(session, bucket, path)  # deleting a missing path is not an error
        return
    xet_hash = _hash(operation.xet_hash)
    if isinstance(operation, AddFile):
        if xet_hash not in content.usable:
            raise EntryNotFoundError(f"Unknown xetHash {xet_hash}: upload the file first")
        size, content_type = content.usable[xet_hash], operation.content_type
    else:
        size, content_type = _copy_source(session, caller, operation, xet_hash)
        content_type = content_type or mimetypes.guess_type(path)[0]
    if limited:  # the namespace's quota counts logical bytes: an overwrite adds the difference
        at_path = BucketFile.bucket_id == bucket.id, BucketFile.path == path
        previous = session.scalar(select(BucketFile.size).where(*at_path))
        quotas.ensure_room(session, bucket.owner_id, size - (previous or 0))
    if xet_hash not in content.linked:
        cas.link_bucket_xorbs(session, bucket.id, content.xorbs.get(xet_hash) or _file_xorbs(session, xet_hash))
    service.add_file(
        session, bucket, path, xet_hash=xet_hash, size=size, mtime=operation.mtime, content_type=content_type
    )
    content.linked.add(xet_hash)  # only once the line went through: a failed line's savepoint undid its links


def _hash(text: str) -> str:
    if not is_hash_hex(text):
        raise BadRequestError(f"Invalid xetHash {text!r}")
    return text.lower()


def _file_xorbs(session: Session, xet_hash: str) -> list[str]:
    return list(session.scalars(select(XetFileXorb.xorb_hash).where(XetFileXorb.file_hash == xet_hash)))


def _copy_source(session: Session, caller: Caller, operation: CopyFile, xet_hash: str) -> tuple[int, str | None]:
    """Size and content type of ``xet_hash`` in the source, which the caller must be able to
    download; a source that is hidden, missing or does not hold the file is a per-path failure."""
    missing = EntryNotFoundError(f"{operation.source_type} {operation.source_id} has no file with xetHash {xet_hash}")
    if operation.source_type == "bucket":
        source = _source_bucket(session, caller, operation.source_id)
        query = select(BucketFile.size, BucketFile.content_type).where(
            BucketFile.bucket_id == source.id, BucketFile.xet_hash == xet_hash
        )
        found = session.execute(query.limit(1)).first()
        if found is None:
            raise missing
        return int(found.size), found.content_type
    repo = get_readable_repo(
        session, caller, RepoRef(RepoType(operation.source_type), RepoId.parse(operation.source_id))
    )
    permissions.ensure_content(session, caller, repo)
    size = session.scalar(
        select(LfsObject.size)
        .join(RepoLfsObject, RepoLfsObject.oid == LfsObject.oid)
        .where(RepoLfsObject.repo_id == repo.id, LfsObject.xet_hash == xet_hash)
        .limit(1)
    )
    if size is None:
        raise missing
    return size, None


def _source_bucket(session: Session, caller: Caller, source_id: str) -> Bucket:
    parts = source_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise BadRequestError(f"Invalid bucket id {source_id!r}")
    source = service.find_bucket(session, service.BucketId(parts[0], parts[1]))
    if source is None or not access.may(session, caller, source, Right.DOWNLOAD):
        raise access.not_found(caller)
    return source
