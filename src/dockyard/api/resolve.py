"""HEAD and GET /{prefix}{repo}/resolve/{revision}/{path}: what every download goes through.

The client reads its metadata from whichever response it ends on, so every answer, errors
included, carries ``X-Repo-Commit``; the ETag is the git blob id for regular files and the
sha256 for large files, and becomes the client's cache key.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from types import MappingProxyType
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.api.deps import base_url, hub_of
from dockyard.api.errors import error_response
from dockyard.api.files import bytes_response, content_response
from dockyard.api.hot_work import run_hot
from dockyard.api.resolve_access import ReadGrant, grant_read
from dockyard.api.routing import unquote_param
from dockyard.errors import DockyardError, EntryNotFoundError, StorageError, WouldBlockError
from dockyard.hub import Hub
from dockyard.identifiers import RepoType, validate_repo_path
from dockyard.lfs import content
from dockyard.lfs.content import StoredContent
from dockyard.repos import downloads
from dockyard.repos.git_repo import FileEntry, GitRepo

router = APIRouter()
PRESIGNED_TTL = 3600


#: On every /resolve answer, errors included: repo files are anyone's bytes served from the hub's
#: own origin. The browser must not guess a type (nosniff), and a document opened from here runs
#: in a sandbox (a unique origin, no scripts, forms or plugins) and loads nothing, so an uploaded HTML
#: or SVG file cannot act as the hub (read its cookies, call its API as the visitor).
ISOLATION_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}

#: Types a browser renders as an active document (scripts, links, forms): sent as attachments,
#: so even a browser without CSP sandbox support saves them instead of opening them on our origin.
#: The Hub's clients ignore Content-Disposition; they name files after the URL.
ACTIVE_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl",
    "application/xslt+xml", "text/javascript", "application/javascript", "application/ecmascript",
    "text/ecmascript", "application/x-shockwave-flash", "application/pdf", "application/mathml+xml",
})  # fmt: skip


@lru_cache(maxsize=4096)
def _content_headers(path: str, *, download: bool = False) -> Mapping[str, str]:
    """Type and disposition: active types always as attachments; any file with ``?download=true``
    (the pages' Download links, as on the Hub)."""
    name = path.rsplit("/", 1)[-1]
    quoted = quote(name)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = download or media_type in ACTIVE_TYPES
    disposition = f"{'attachment' if attachment else 'inline'}; filename*=UTF-8''{quoted}"
    if quoted == name:
        disposition += f'; filename="{name}"'
    if media_type.startswith("text/") or media_type == "application/json":
        media_type += "; charset=utf-8"
    # Cached (a pure function of the name): callers copy it into their own headers, never change it.
    return MappingProxyType({"Content-Disposition": disposition, "Content-Type": media_type, **ISOLATION_HEADERS})


#: The same few paths are asked for again and again (config.json, model.safetensors): each is
#: validated once (an invalid one raises every time: exceptions are not cached).
_valid_path = lru_cache(maxsize=8192)(validate_repo_path)


def _asks_download(request: Request) -> bool:
    """``?download=true``; most requests have no query string, whose parsing is then skipped."""
    if not request.scope.get("query_string"):
        return False
    return request.query_params.get("download", "").lower() in ("1", "true")


def resolve_file(
    request: Request, hub: Hub, kind: RepoType, repo_id: str, revision: str, path: str, *, cached_only: bool = False
) -> Response:
    """The answer; ``cached_only`` (tried on the event loop, see :mod:`dockyard.api.hot_work`):
    only a HEAD answered from caches and local reads, else WouldBlockError before any side effect."""
    revision = unquote_param(revision)
    path = _valid_path(unquote_param(path))
    head = request.method == "HEAD"
    if cached_only and not head:
        raise WouldBlockError("a GET reads bytes")
    grant = grant_read(request, hub, kind, repo_id, cached_only=cached_only)  # every check, cached per epoch
    git = hub.git.open(grant.uid, exists=cached_only)  # on the loop: a grant of this very epoch
    commit_id = git.resolve(revision, walk=not cached_only).commit_id  # refs from disk: a push anywhere is seen
    entry = hub.entries.entry(git, grant.uid, commit_id, path, cached_only=cached_only)
    lfs_oid = entry.lfs.oid if isinstance(entry, FileEntry) and entry.lfs is not None else None
    stored = content.locate_quick(hub, lfs_oid, wait=not cached_only) if lfs_oid is not None else None
    if not isinstance(entry, FileEntry):
        error = EntryNotFoundError(f"Entry not found: {path} does not exist at revision {revision}")
        headers = {"X-Repo-Commit": commit_id, **ISOLATION_HEADERS}
        return error_response(error.status, error.message, error.code, headers)
    _count_download(request, hub, kind, grant, git, commit_id, path, cached_only=cached_only)
    download = _asks_download(request)
    headers = {"X-Repo-Commit": commit_id, **_content_headers(path, download=download)}
    if lfs_oid is None:
        headers["ETag"] = f'"{entry.blob_id}"'
        data = b"" if head else git.read_blob(entry.blob_id)
        if head:
            headers["Content-Length"] = str(entry.size)
            headers["Accept-Ranges"] = "bytes"
            return Response(b"", headers=headers)
        return bytes_response(data, headers, request.headers.get("range"), head=False)
    headers.update({"ETag": f'"{lfs_oid}"', "X-Linked-Etag": f'"{lfs_oid}"', "X-Linked-Size": str(entry.size)})
    if stored is None:  # a pointer whose content is gone: a server-side fault, never a 404
        raise StorageError(f"The content of {path} ({lfs_oid}) is missing from storage")
    if stored.xet_hash is not None:
        headers["X-Xet-Hash"] = stored.xet_hash
        token_url = f"{base_url(request)}/api/{kind.plural}/{grant.full_id}/xet-read-token/{commit_id}"
        headers["Link"] = f'<{token_url}>; rel="xet-auth"'
    presigned = _presigned(hub, stored, path)
    if presigned is not None:  # object storage serves the bytes; the Hub's headers ride on the redirect
        return Response(status_code=302, headers={**headers, "Location": presigned})
    if head:
        headers["Content-Length"] = str(entry.size)
        headers["Accept-Ranges"] = "bytes"
        return Response(b"", headers=headers)
    return content_response(hub, stored, headers, request.headers.get("range"))


def _presigned(hub: Hub, stored: StoredContent, path: str) -> str | None:
    """A direct URL on the storage (another origin, so the client reads metadata from our 302 and
    sends no credentials there), when the store offers one; None streams through Dockyard."""
    if stored.blob_key is None:
        return None
    name = path.rsplit("/", 1)[-1]
    return hub.blobs.presigned_get_url(stored.blob_key, filename=name, expires_in=PRESIGNED_TTL)


def _count_download(
    request: Request,
    hub: Hub,
    kind: RepoType,
    grant: ReadGrant,
    git: GitRepo,
    commit_id: str,
    path: str,
    *,
    cached_only: bool,
) -> None:
    """One count per client download: the Hub's clients HEAD before they GET and mark both with
    ``X-HF-Download-Counter``, so their GET is not counted again; a plain GET (browser, curl,
    git-lfs) counts on its own."""
    if kind is RepoType.SPACE:
        return
    if request.method == "GET" and request.headers.get("x-hf-download-counter"):
        return
    has_config = path == "config.json" or (
        kind is RepoType.MODEL
        and hub.entries.has_file(git, grant.uid, commit_id, "config.json", cached_only=cached_only)
    )
    if downloads.counts_as_download(kind, path, has_config):
        if hub.downloads is not None:
            hub.downloads.add(grant.repo_pk)
        elif cached_only:
            raise WouldBlockError("a download written at once")
        else:  # no lifespan (embedded use without a server loop): write at once
            with hub.db.write() as session:
                downloads.record_download(session, grant.repo_pk)


#: Threads for resolve requests that cannot be answered on the event loop (a GET, a cache miss,
#: PostgreSQL): a plain executor hand-off costs a fraction of anyio's ``to_thread``.
#: Few threads: each request holds one for ~0.5 ms of CPU (local lookups; an S3 URL is presigned
#: locally), and 32 threads only fought over the GIL: at 64 connections 8 gave ~30% more req/s
#: and less CPU per request (bench/README.md, "Fewer threads").
_RESOLVE_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="resolve")


def _route(kind: RepoType):  # type: ignore[no-untyped-def]
    async def resolve(request: Request) -> Response:
        params = request.path_params
        hub = hub_of(request)
        work = partial(resolve_file, request, hub, kind, params["repo_id"], params["revision"], params["path"])
        try:
            return await run_hot(hub, _RESOLVE_THREADS, work)
        except DockyardError as error:  # the one error handler answers, with the isolation headers too
            error.headers = {**error.headers, **ISOLATION_HEADERS}
            raise

    return resolve


# Plain Starlette routes (not FastAPI's): this is the hub's hottest path, and it needs no
# dependency injection or response-model machinery, which cost a fifth of its CPU time.
for _kind in RepoType.routing_order():
    _prefix = _kind.route_prefix
    router.add_route(
        f"{_prefix}/{{repo_id:repo}}/resolve/{{revision}}/{{path:path}}",
        _route(_kind),
        methods=["GET", "HEAD"],
        include_in_schema=False,
    )
