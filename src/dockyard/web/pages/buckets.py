"""``/buckets/{ns}/{name}`` and ``/buckets/{ns}/{name}/tree/{folder}``: a bucket's files, one
folder and one page at a time, with the commands that read and write it.

A bucket has no history: the page lists what its paths point at now (size, Xet hash, when it
was uploaded) through the same paged listing as the API, so a folder of a million files costs a
page, never the folder. Who may not read the bucket gets the same 404 (or sign-in) as the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.api.routing import unquote_param
from dockyard.auth.access import Right
from dockyard.buckets import access, listing, service
from dockyard.buckets.models import Bucket
from dockyard.buckets.service import BucketId
from dockyard.request_context import hub_of
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

PAGE = 100


@dataclass(frozen=True, slots=True)
class Crumb:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    folder: bool
    url: str
    size: int | None
    uploaded_at: datetime | None
    xet_hash: str | None


@dataclass(frozen=True, slots=True)
class BucketSummary:
    full_id: str
    namespace: str
    name: str
    private: bool
    size: int
    total_files: int
    updated_at: datetime
    url: str
    may_write: bool


@dataclass(frozen=True, slots=True)
class FolderView:
    bucket: BucketSummary
    folder: str
    crumbs: list[Crumb]
    rows: list[Row]
    more_url: str | None


def bucket_url(full_id: str) -> str:
    return f"/buckets/{full_id}"


def _folder_url(full_id: str, folder: str) -> str:
    return bucket_url(full_id) + (f"/tree/{quote(folder)}" if folder else "")


def _row(full_id: str, entry: listing.Entry, folder: str) -> Row:
    name = entry.path[len(folder) + 1 :] if folder else entry.path
    if isinstance(entry, listing.Folder):
        return Row(name, True, _folder_url(full_id, entry.path), None, entry.uploaded_at, None)
    download = f"{bucket_url(full_id)}/resolve/{quote(entry.path)}?download=true"
    return Row(name, False, download, entry.size, entry.uploaded_at, entry.xet_hash)


def _crumbs(full_id: str, folder: str) -> list[Crumb]:
    crumbs = [Crumb(full_id.split("/", 1)[1], bucket_url(full_id))]
    parts = folder.split("/") if folder else []
    return crumbs + [Crumb(part, _folder_url(full_id, "/".join(parts[: i + 1]))) for i, part in enumerate(parts)]


def _summary(bucket: Bucket, may_write: bool) -> BucketSummary:
    return BucketSummary(
        bucket.full_id, bucket.namespace, bucket.name, bucket.private, bucket.size, bucket.total_files,
        bucket.updated_at, bucket_url(bucket.full_id), may_write,
    )  # fmt: skip


def folder_view(request: Request, bucket_id: BucketId, folder: str) -> FolderView:
    caller = viewer_of(request).caller
    cursor = request.query_params.get("cursor")
    start = listing.decode_cursor(cursor) if cursor else None
    prefix = listing.check_path(folder.strip("/"))
    with hub_of(request).db.read() as session:
        bucket = service.get_bucket(session, caller, bucket_id, Right.DOWNLOAD)
        page = listing.children_page(session, bucket, prefix + "/" if prefix else "", start, PAGE)
        may_write = access.may(session, caller, bucket, Right.WRITE)
        summary = _summary(bucket, may_write)
    more = f"{_folder_url(summary.full_id, prefix)}?cursor={listing.encode_cursor(page.next)}" if page.next else None
    rows = [_row(summary.full_id, entry, prefix) for entry in page.entries]
    return FolderView(summary, prefix, _crumbs(summary.full_id, prefix), rows, more)


@router.get("/buckets/{namespace}/{name}")
def bucket_page(request: Request, namespace: str, name: str) -> Response:
    view = folder_view(request, BucketId(namespace, name), "")
    return render(request, "buckets/bucket.html", view=view)


@router.get("/buckets/{namespace}/{name}/tree/{folder:path}")
def folder_page(request: Request, namespace: str, name: str, folder: str) -> Response:
    view = folder_view(request, BucketId(namespace, name), unquote_param(folder))
    return render(request, "buckets/bucket.html", view=view)
