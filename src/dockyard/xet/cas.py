"""The content-addressed store behind the CAS API: xorbs in, files registered, reconstructions out.

Every claim a client makes is checked against what the server computed itself: a xorb's hash is
recomputed from its chunks before it is stored, a shard's files are verified against stored chunk
lists, and a file's sha256 (which the Hub commit will reference) is recomputed from its content
before it is linked to anything.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.auth.access import Viewer, downloadable_clause
from dockyard.buckets import access as bucket_access
from dockyard.buckets.models import Bucket, BucketFile
from dockyard.db.base import utcnow
from dockyard.errors import BadRequestError, BlobMissingError, NotFoundError, StorageError
from dockyard.faults import XET_SHARD_VERIFIED, crash_point
from dockyard.hub import Hub
from dockyard.lfs import service as lfs
from dockyard.repos.models import Repo
from dockyard.xet.errors import XetError
from dockyard.xet.hashes import MerkleHash, is_global_dedup_eligible, parse_hash_hex
from dockyard.xet.models import XetBucketXorb, XetDedupChunk, XetFile, XetFileXorb, XetRepoXorb, XetXorb
from dockyard.xet.reader import iter_terms, xorb_key
from dockyard.xet.reconstruction import XorbLayout
from dockyard.xet.shard import FileInfo, FileTerm, Shard, XorbInfo, parse_shard
from dockyard.xet.shard_writer import serialize_dedup_shard
from dockyard.xet.tokens import CasGrant
from dockyard.xet.verify import verify_shard
from dockyard.xet.xorb import ParsedXorb, parse_xorb

MAX_SHARD_BYTES = 64 * 1024 * 1024
_CHUNK_RECORD = struct.Struct("<32sI")


# -- xorbs ---------------------------------------------------------------------------------
def store_xorb(hub: Hub, grant: CasGrant, hash_text: str, body: bytes) -> bool:
    """Validate and keep a xorb; returns True when it was new to the hub."""
    try:
        parsed = parse_xorb(body, parse_hash_hex(hash_text))
    except XetError as error:
        raise BadRequestError(f"Invalid xorb: {error}") from None
    hash_hex = parsed.hash.hex()
    with hub.db.write() as session:
        row = session.get(XetXorb, hash_hex)
        known = row is not None
        if row is not None:
            row.last_used_at = utcnow()  # re-uploaded: in use again, garbage collection keeps it

    stored_size = len(body)
    if not known:
        parsed, stored_size = _publish_xorb(hub, parsed, body)  # complete before any row points at it
    with hub.db.write() as session:
        inserted = not known and _insert_xorb(session, parsed, stored_size)
        _link_xorbs(session, grant, [hash_hex])
    return inserted


def _publish_xorb(hub: Hub, parsed: ParsedXorb, body: bytes) -> tuple[ParsedXorb, int]:
    """Store the xorb unless one with its hash is stored already; the layout of what is stored.

    A xorb's hash names its chunks, not their encoding: two uploads of the same hash may compress
    differently. Stored bytes are never replaced (readers may be streaming them), and the row must
    describe the bytes that are stored, so a lost race re-reads the winner's layout."""
    key = xorb_key(parsed.hash.hex())
    if hub.blobs.publish(hub.blobs.stage_bytes(body), key):
        return parsed, len(body)
    size = hub.blobs.stat(key)
    stored = hub.blobs.read_range(key, 0, size - 1) if size else b""
    if stored == body:
        return parsed, len(body)
    try:
        return parse_xorb(stored, parsed.hash), len(stored)
    except XetError:
        raise StorageError(f"The stored xorb {parsed.hash.hex()} is unreadable") from None


def _insert_xorb(session: Session, parsed: ParsedXorb, stored_size: int) -> bool:
    hash_hex = parsed.hash.hex()
    if session.get(XetXorb, hash_hex) is not None:
        return False
    chunks = b"".join(_CHUNK_RECORD.pack(c.hash.raw, c.unpacked_size) for c in parsed.chunks)
    offsets = (*(c.byte_start for c in parsed.chunks), parsed.chunks[-1].byte_end)
    try:
        with session.begin_nested():
            session.add(
                XetXorb(
                    hash=hash_hex,
                    stored_size=stored_size,
                    unpacked_size=parsed.unpacked_length,
                    chunk_count=len(parsed.chunks),
                    chunks=chunks,
                    offsets=struct.pack(f"<{len(offsets)}I", *offsets),
                )
            )
            session.flush()  # the xorb row first: chunk rows reference it

            eligible = {c.hash.hex() for c in parsed.chunks if is_global_dedup_eligible(c.hash)}
            session.add_all(XetDedupChunk(chunk_hash=h, xorb_hash=hash_hex) for h in eligible)
    except IntegrityError:  # another upload of the same xorb won the race
        return False
    return True


def _link_xorbs(session: Session, grant: CasGrant, hashes: list[str]) -> None:
    """The grant's repo or bucket now holds these xorbs (its uploads delivered or used them)."""
    if grant.bucket_id is not None:
        link_bucket_xorbs(session, grant.bucket_id, hashes)
        return
    assert grant.repo_id is not None
    for hash_hex in set(hashes):
        if session.get(XetRepoXorb, (grant.repo_id, hash_hex)) is None:
            session.add(XetRepoXorb(repo_id=grant.repo_id, xorb_hash=hash_hex))
    session.flush()


def link_bucket_xorbs(session: Session, bucket_id: int, hashes: list[str]) -> None:
    """A bucket holds these xorbs: an upload under its grant, or a server-side copy (no bytes move)."""
    for hash_hex in set(hashes):
        if session.get(XetBucketXorb, (bucket_id, hash_hex)) is None:
            session.add(XetBucketXorb(bucket_id=bucket_id, xorb_hash=hash_hex))
    session.flush()


def claim_for_reuse(session: Session, file_hashes: list[str], xorb_hashes: list[str]) -> None:
    """Content about to gain a reference (a bucket's addFile by hash) is marked in use in the
    same transaction. Garbage collection deletes a Xet file or xorb only with a guarded DELETE
    (created or last used before its cutoff); on PostgreSQL a sweep running concurrently waits
    on these row locks and re-checks that guard against the updated rows, so it keeps them
    instead of freeing what the new reference is about to name. (``created_at`` of a Xet file
    doubles as "last claimed": nothing else reads it.)"""
    now = utcnow()
    for start in range(0, len(file_hashes), 500):
        part = file_hashes[start : start + 500]
        session.execute(update(XetFile).where(XetFile.file_hash.in_(part)).values(created_at=now))
    for start in range(0, len(xorb_hashes), 500):
        part = xorb_hashes[start : start + 500]
        session.execute(update(XetXorb).where(XetXorb.hash.in_(part)).values(last_used_at=now))


def chunk_list(row: XetXorb) -> list[tuple[MerkleHash, int]]:
    return [(MerkleHash(raw), size) for raw, size in _CHUNK_RECORD.iter_unpack(row.chunks)]


def layout_of(row: XetXorb) -> XorbLayout:
    offsets = struct.unpack(f"<{row.chunk_count + 1}I", row.offsets)
    sizes = tuple(size for _, size in _CHUNK_RECORD.iter_unpack(row.chunks))
    return XorbLayout(offsets, sizes)


# -- shards --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShardProgress:
    verified: int
    total: int


@dataclass(frozen=True, slots=True)
class CheckedShard:
    shard: Shard
    rows: _XorbCache


def check_shard(hub: Hub, grant: CasGrant, body: bytes) -> CheckedShard:
    """Parse an upload shard and check its structure, its chunk hashes against stored xorbs, and
    that every xorb its files read is one the uploader may read."""
    if len(body) > MAX_SHARD_BYTES:
        raise BadRequestError("Shard too large")
    try:
        shard = parse_shard(body)
        with hub.db.read() as session:
            rows = _XorbCache(session)
            verify_shard(shard, rows.chunks)
            _check_readable(session, grant, {t.xorb_hash.hex() for info in shard.files for t in info.terms})
    except XetError as error:
        raise BadRequestError(f"Invalid shard: {error}") from None
    return CheckedShard(shard=shard, rows=rows)


def register_shard(hub: Hub, grant: CasGrant, checked: CheckedShard) -> Iterator[ShardProgress]:
    """Recompute each file's sha256, then register all files in one transaction."""
    shard, rows = checked.shard, checked.rows
    total = len(shard.files)

    for index, info in enumerate(shard.files):
        _verify_sha256(hub, rows, info)
        yield ShardProgress(verified=index + 1, total=total)
    crash_point(hub.settings, XET_SHARD_VERIFIED)
    with hub.db.write() as session:
        _link_xorbs(session, grant, [x.xorb_hash.hex() for x in shard.xorbs])
        for info in shard.files:
            _register_file(session, grant, info)


def _check_readable(session: Session, grant: CasGrant, xorbs: set[str]) -> None:
    """A file may only be built from chunks the uploader may *download* (the content-usability
    rule, in its SQL form), or that no repo holds any more (a deleted repo's content, re-uploaded
    from the client's own chunk cache): otherwise a guessed xorb hash would turn someone else's
    private or gated content into a file this repo serves."""
    unseen = sorted(xorbs - set(_visible_xorbs(session, grant, sorted(xorbs))))
    held = union(
        select(XetRepoXorb.xorb_hash).where(XetRepoXorb.xorb_hash.in_(unseen)),
        select(XetBucketXorb.xorb_hash).where(XetBucketXorb.xorb_hash.in_(unseen)),
    )
    hidden = set(session.scalars(held)) if unseen else set()
    if hidden:
        raise NotFoundError(f"xorb {min(hidden)} is missing")


class _XorbCache:
    """Stored xorb rows looked up once per shard."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rows: dict[str, XetXorb | None] = {}

    def row(self, hash_hex: str) -> XetXorb | None:
        if hash_hex not in self._rows:
            self._rows[hash_hex] = self._session.get(XetXorb, hash_hex)
        return self._rows[hash_hex]

    def chunks(self, hash_value: MerkleHash) -> list[tuple[MerkleHash, int]] | None:
        row = self.row(hash_value.hex())
        return chunk_list(row) if row is not None else None

    def layout(self, hash_hex: str) -> XorbLayout:
        row = self.row(hash_hex)
        if row is None:
            raise NotFoundError(f"xorb {hash_hex} is missing")
        return layout_of(row)


def _verify_sha256(hub: Hub, rows: _XorbCache, info: FileInfo) -> None:
    """The commit will name this file by sha256: recompute it from the stored chunks."""
    if info.sha256 is None:
        return
    digest = hashlib.sha256()
    terms = [_term_tuple(t) for t in info.terms]
    layouts = {xorb: rows.layout(xorb) for xorb, *_ in terms}
    for block in iter_terms(hub, terms, layouts, 0, info.size - 1):
        digest.update(block)
    if digest.hexdigest() != info.sha256_hex:
        raise BadRequestError(f"File {info.file_hash}: content does not have the declared sha256")


def _term_tuple(term: FileTerm) -> tuple[str, int, int, int]:
    return (term.xorb_hash.hex(), term.chunk_start, term.chunk_end, term.unpacked_length)


def _register_file(session: Session, grant: CasGrant, info: FileInfo) -> None:
    """A bucket's uploads carry no sha256 (``SKIP_SHA256``): the row keeps sha256 NULL and the size
    the shard declared (verified against the stored chunks), and no LFS object is linked."""
    file_hex = info.file_hash.hex()
    terms = [_term_tuple(t) for t in info.terms]
    if session.get(XetFile, file_hex) is None:
        session.add(XetFile(file_hash=file_hex, size=info.size, sha256=info.sha256_hex, terms=json.dumps(terms)))
        session.flush()
        session.add_all(XetFileXorb(file_hash=file_hex, xorb_hash=xorb) for xorb in dict.fromkeys(t[0] for t in terms))
        session.flush()
    _link_xorbs(session, grant, [xorb for xorb, *_ in terms])
    if info.terms:
        first = info.terms[0]
        row = session.get(XetXorb, first.xorb_hash.hex())
        if row is not None:
            first_chunk = chunk_list(row)[first.chunk_start][0].hex()
            if session.get(XetDedupChunk, (first_chunk, row.hash)) is None:
                session.add(XetDedupChunk(chunk_hash=first_chunk, xorb_hash=row.hash))
    if info.sha256_hex is not None and grant.repo_id is not None:
        lfs.link(session, grant.repo_id, info.sha256_hex, info.size, xet_hash=file_hex)


# -- reading -------------------------------------------------------------------------------
def file_terms(session: Session, file_hex: str) -> tuple[XetFile, list[tuple[str, int, int, int]]]:
    row = session.get(XetFile, file_hex)
    if row is None:  # callers found it linked to a repo first: its rows must exist (503, not 404)
        raise BlobMissingError(f"Xet file {file_hex} is missing")
    return row, [tuple(t) for t in json.loads(row.terms)]


def readable_by_grant(session: Session, grant: CasGrant, file_hex: str) -> bool:
    """A token for repo R may reconstruct files R holds (by their sha256 link); a token for bucket
    B the files B's paths point at."""
    from dockyard.lfs.models import LfsObject, RepoLfsObject

    if grant.bucket_id is not None:
        in_bucket = select(BucketFile.id).where(
            BucketFile.bucket_id == grant.bucket_id, BucketFile.xet_hash == file_hex
        )
        return session.scalar(in_bucket.limit(1)) is not None

    found = session.scalar(
        select(RepoLfsObject.oid)
        .join(LfsObject, LfsObject.oid == RepoLfsObject.oid)
        .where(RepoLfsObject.repo_id == grant.repo_id, LfsObject.xet_hash == file_hex)
        .limit(1)
    )
    return found is not None


def reconstruction_inputs(
    session: Session, terms: list[tuple[str, int, int, int]]
) -> tuple[list[FileTerm], dict[MerkleHash, XorbLayout]]:
    file_terms_ = [FileTerm(parse_hash_hex(x), s, e, n) for x, s, e, n in terms]
    layouts: dict[MerkleHash, XorbLayout] = {}
    for term in file_terms_:
        if term.xorb_hash not in layouts:
            row = session.get(XetXorb, term.xorb_hash.hex())
            if row is None:
                raise BlobMissingError(f"xorb {term.xorb_hash} is missing")
            layouts[term.xorb_hash] = layout_of(row)
    return file_terms_, layouts


# -- global deduplication -------------------------------------------------------------------
def dedup_shard(hub: Hub, grant: CasGrant, chunk_hex: str) -> bytes | None:
    """A shard describing the xorbs that hold ``chunk`` and the other xorbs of the files they belong
    to, limited to xorbs of repos the caller can read.

    Clients only ask about one chunk in ~1024, so answering with just the matching xorb would leave
    most of an unchanged file undiscovered; the files around a match are what a fine-tune re-uploads.
    """
    parse_hash_hex(chunk_hex)
    with hub.db.write() as session:
        matches = list(
            session.scalars(select(XetDedupChunk.xorb_hash).where(XetDedupChunk.chunk_hash == chunk_hex.lower()))
        )
        matches = _visible_xorbs(session, grant, matches)[:8]
        visible = list(dict.fromkeys(matches + _visible_xorbs(session, grant, _file_neighbours(session, matches))))
        rows = [session.get_one(XetXorb, h) for h in visible[:_MAX_DEDUP_XORBS]]
        for row in rows:
            row.last_used_at = utcnow()  # protects it from garbage collection while in use
    if not rows:
        return None
    infos = [XorbInfo.from_chunks(MerkleHash.from_hex(r.hash), chunk_list(r), r.stored_size) for r in rows]
    key = MerkleHash(hashlib.blake2b(f"{grant.holder}:{chunk_hex}:{utcnow()}".encode(), digest_size=32).digest())
    return serialize_dedup_shard(infos, hmac_key=key)


#: Most xorbs in one dedup answer (16 GiB of content): bounds the shard and the work per query.
_MAX_DEDUP_XORBS = 256
#: Most files whose xorbs are offered for one match: the newest uploads that contain it.
_MAX_DEDUP_FILES = 4


def _file_neighbours(session: Session, xorbs: list[str]) -> list[str]:
    if not xorbs:
        return []
    files = (
        select(XetFileXorb.file_hash)
        .join(XetFile, XetFile.file_hash == XetFileXorb.file_hash)
        .where(XetFileXorb.xorb_hash.in_(xorbs))
        .order_by(XetFile.created_at.desc())
        .limit(_MAX_DEDUP_FILES)
    )
    query = select(XetFileXorb.xorb_hash).where(XetFileXorb.file_hash.in_(files)).distinct()
    return list(session.scalars(query.limit(_MAX_DEDUP_XORBS * 2)))


def _visible_xorbs(session: Session, grant: CasGrant, candidates: list[str]) -> list[str]:
    """The candidates the grant may be offered: held by its own repo or bucket, or by a repo or
    bucket whose *content* the grant's user may download, through the token's scopes when the grant
    came from a fine-grained token."""
    viewer = Viewer(user_id=grant.user_id, scopes=grant.scopes if grant.narrow else None)
    return visible_xorbs(session, viewer, candidates, repo_id=grant.repo_id, bucket_id=grant.bucket_id)


def visible_xorbs(
    session: Session, viewer: Viewer, candidates: list[str], *, repo_id: int | None = None, bucket_id: int | None = None
) -> list[str]:
    """The candidates held by repo ``repo_id``, bucket ``bucket_id``, or any repo or bucket whose
    content ``viewer`` may download (:func:`dockyard.auth.access.downloadable_clause`; seeing a
    bucket is downloading it): the dedup boundary, shared by repos and buckets."""
    if not candidates:
        return []
    own_repo: ColumnElement[bool] = Repo.id == repo_id if repo_id is not None else false()
    own_bucket: ColumnElement[bool] = Bucket.id == bucket_id if bucket_id is not None else false()
    by_repos = (
        select(XetRepoXorb.xorb_hash)
        .join(Repo, Repo.id == XetRepoXorb.repo_id)
        .where(XetRepoXorb.xorb_hash.in_(candidates), own_repo | downloadable_clause(viewer))
    )
    by_buckets = (
        select(XetBucketXorb.xorb_hash)
        .join(Bucket, Bucket.id == XetBucketXorb.bucket_id)
        .where(XetBucketXorb.xorb_hash.in_(candidates), own_bucket | bucket_access.visible_clause(viewer))
    )
    return list(session.scalars(union(by_repos, by_buckets)))
