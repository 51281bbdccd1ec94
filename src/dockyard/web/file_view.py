"""What the "Files and versions" pages show: a folder's entries at a revision and a file's
viewer, gathered from the repo's git storage and the large-file store (LFS or Xet).

The view models hold everything the templates need, so the templates only lay them out. File
bytes are read only for viewers, only when the viewer has the download right, and only as far
as the viewer needs (see :mod:`dockyard.web.viewers`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from urllib.parse import quote

from fastapi import Request
from sqlalchemy import select

from dockyard.errors import EntryNotFoundError
from dockyard.hub import Hub
from dockyard.identifiers import validate_repo_path
from dockyard.lfs import content
from dockyard.lfs.models import LfsObject
from dockyard.repos.git_repo import BRANCH_PREFIX, TAG_PREFIX, Entry, FileEntry, FolderEntry, GitRepo
from dockyard.request_context import hub_of
from dockyard.scanning import service as scanning
from dockyard.scanning.results import ERROR, QUEUED, SUSPICIOUS, UNSAFE
from dockyard.web.markdown import LinkBase
from dockyard.web.repo_pages import RepoPage
from dockyard.web.viewers import Shown, Source, Viewer, binary, image, parquet, safetensors, text
from dockyard.web.viewers import csv as csv_viewer
from dockyard.web.viewers import json as json_viewer
from dockyard.web.viewers import markdown as markdown_viewer

TREE_PAGE = 500  # entries per page of a folder
LAST_COMMIT_LIMIT = 50  # folders with more entries on a page skip the per-entry last commit (a history walk)
#: Never read for a preview: weights, archives and pickles say nothing as text.
BINARY_SUFFIXES = frozenset({
    ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".gguf", ".h5", ".msgpack", ".zip", ".gz", ".tar", ".tgz",
    ".zst", ".xz", ".bz2", ".7z", ".npy", ".npz", ".pkl", ".pickle", ".joblib", ".tflite", ".ot", ".mlmodel",
    ".arrow", ".wasm", ".so", ".dll", ".exe", ".mp3", ".mp4", ".wav", ".flac", ".ogg", ".webm", ".pdf",
})  # fmt: skip
SECURITY_BADGES = {UNSAFE: "unsafe", SUSPICIOUS: "suspicious", ERROR: "scan error", QUEUED: "scan pending"}


# -- URLs -------------------------------------------------------------------------------------
def _rev(revision: str) -> str:
    return quote(revision, safe="")


def tree_url(repo_url: str, revision: str, path: str = "") -> str:
    return f"{repo_url}/tree/{_rev(revision)}" + (f"/{quote(path)}" if path else "")


def blob_url(repo_url: str, revision: str, path: str) -> str:
    return f"{repo_url}/blob/{_rev(revision)}/{quote(path)}"


def resolve_url(repo_url: str, revision: str, path: str) -> str:
    return f"{repo_url}/resolve/{_rev(revision)}/{quote(path)}"


def history_url(repo_url: str, revision: str, path: str) -> str:
    return f"{repo_url}/commits/{_rev(revision)}/{quote(path)}"


def commits_url(where: Location) -> str:
    return f"{where.page.url}/commits/{_rev(where.revision)}"


# -- the parts both pages share ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Crumb:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Location:
    """Where a page is: the repo, the revision as named in the URL and its commit, the path,
    the breadcrumbs to it, and the branches and tags to switch to."""

    page: RepoPage
    revision: str
    commit_id: str
    path: str
    crumbs: list[Crumb]
    branches: list[str]
    tags: list[str]

    @property
    def short_commit(self) -> str:
        return self.commit_id[:7]


def clean_path(raw: str) -> str:
    """A path from the URL, checked like the API checks it ('' for the root)."""
    path = raw.strip("/")
    return validate_repo_path(path) if path else ""


def locate(hub: Hub, page: RepoPage, revision: str, path: str) -> tuple[GitRepo, Location]:
    git = hub.git.open(page.repo.uid)
    commit_id = git.resolve(revision).commit_id
    crumbs = [Crumb(page.repo.name, tree_url(page.url, revision))]
    parts = path.split("/") if path else []
    for index, part in enumerate(parts):
        crumbs.append(Crumb(part, tree_url(page.url, revision, "/".join(parts[: index + 1]))))
    branches = [ref.name for ref in git.refs(BRANCH_PREFIX)]
    tags = [ref.name for ref in git.refs(TAG_PREFIX)]
    return git, Location(page, revision, commit_id, path, crumbs, branches, tags)


def _xet_hashes(hub: Hub, oids: list[str]) -> dict[str, str]:
    if not oids:
        return {}
    with hub.db.read() as session:
        rows = session.execute(
            select(LfsObject.oid, LfsObject.xet_hash).where(LfsObject.oid.in_(oids), LfsObject.xet_hash.is_not(None))
        )
        return {oid: xet for oid, xet in rows if xet is not None}


# -- the tree ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    name: str
    url: str
    folder: bool
    size: int | None = None
    storage: str | None = None  # "LFS" or "Xet" for large files
    security: str | None = None  # a badge for files with a scan verdict worth showing
    security_level: str = ""
    raw_url: str | None = None
    commit_title: str | None = None
    commit_url: str | None = None
    commit_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class TreeView:
    where: Location
    rows: list[Row]
    more_url: str | None
    last_commits_shown: bool

    @property
    def here(self) -> str:
        return tree_url(self.where.page.url, self.where.revision, self.where.path)

    @property
    def history_url(self) -> str:
        where = self.where
        return history_url(where.page.url, where.revision, where.path) if where.path else commits_url(where)

    @property
    def upload_url(self) -> str:
        """The upload page for this folder (committed directly, or proposed as a pull request)."""
        return _change_url(self.where, "upload", self.where.path)

    @property
    def new_file_url(self) -> str:
        return _change_url(self.where, "new", self.where.path)


def _change_url(where: Location, action: str, path: str) -> str:
    return f"{where.page.url}/{action}/{_rev(where.revision)}" + (f"/{quote(path)}" if path else "")


def tree_view(request: Request, page: RepoPage, revision: str, path: str, cursor: int) -> TreeView:
    hub = hub_of(request)
    git, where = locate(hub, page, revision, path)
    listing = git.list_tree(where.commit_id, path)
    entries = list(islice(listing, cursor, cursor + TREE_PAGE + 1))
    more_url = None
    if len(entries) > TREE_PAGE:
        entries = entries[:TREE_PAGE]
        more_url = f"{tree_url(page.url, revision, path)}?cursor={cursor + TREE_PAGE}"
    entries.sort(key=lambda entry: (not isinstance(entry, FolderEntry), entry.path.rsplit("/", 1)[-1].lower()))
    with_commits = len(entries) <= LAST_COMMIT_LIMIT
    rows = _rows(hub, git, where, entries, with_commits)
    return TreeView(where=where, rows=rows, more_url=more_url, last_commits_shown=with_commits)


def _rows(hub: Hub, git: GitRepo, where: Location, entries: list[Entry], with_commits: bool) -> list[Row]:
    last = git.last_commits(where.commit_id, [entry.path for entry in entries]) if with_commits else {}
    with hub.db.read() as session:
        statuses = scanning.file_statuses(session, entries)
    xet = _xet_hashes(hub, [e.lfs.oid for e in entries if isinstance(e, FileEntry) and e.lfs is not None])
    url, rev = where.page.url, where.revision
    rows = []
    for entry in entries:
        name = entry.path.rsplit("/", 1)[-1]
        if isinstance(entry, FolderEntry):
            row = Row(name=name, url=tree_url(url, rev, entry.path), folder=True)
        else:
            status = statuses.get(entry.path, {}).get("status") or ""
            storage = None if entry.lfs is None else ("Xet" if entry.lfs.oid in xet else "LFS")
            row = Row(
                name=name,
                url=blob_url(url, rev, entry.path),
                folder=False,
                size=entry.size,
                storage=storage,
                security=SECURITY_BADGES.get(status),
                security_level=status,
                raw_url=resolve_url(url, rev, entry.path),
            )
        commit = last.get(entry.path)
        if commit is not None:
            commit_url = f"{url}/commit/{commit.id}"
            row = replace(row, commit_title=commit.title, commit_url=commit_url, commit_date=commit.date)
        rows.append(row)
    return rows


# -- one file ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BlobView:
    where: Location
    name: str
    size: int
    storage: str | None
    oid: str | None  # the sha256 of a large file
    security: str | None
    security_level: str
    raw_url: str
    download_url: str
    history_url: str
    shown: Shown | None  # None: the viewer may not read the content (a gated repo)
    plain_url: str | None = None  # for rendered Markdown: the source; for its source, the rendering
    plain: bool = False

    @property
    def here(self) -> str:
        return blob_url(self.where.page.url, self.where.revision, self.where.path)

    @property
    def edit_url(self) -> str:
        return _change_url(self.where, "edit", self.where.path)


def blob_view(request: Request, page: RepoPage, revision: str, path: str, *, plain: bool) -> BlobView | str:
    """The file's page, or the folder URL to redirect to when ``path`` is a folder. Content is
    read only when the viewer has the download right (a gated repo shows the name and size)."""
    hub = hub_of(request)
    git, where = locate(hub, page, revision, path)
    entry = git.entry(where.commit_id, path)
    if isinstance(entry, FolderEntry):
        return tree_url(page.url, revision, path)
    if entry is None:
        raise EntryNotFoundError(f"{path} does not exist at revision {revision}")
    with hub.db.read() as session:
        status = scanning.file_statuses(session, [entry]).get(path, {}).get("status") or ""
        stored = content.locate(hub, session, entry.lfs.oid) if entry.lfs is not None else None
    storage = None
    if entry.lfs is not None:
        storage = "Xet" if stored is not None and stored.xet_hash is not None else "LFS"
    shown = None
    if page.may_download:
        links = LinkBase(page.url, revision, path.rpartition("/")[0])
        shown = _show(hub, git, entry, stored, links, plain=plain)
    raw = resolve_url(page.url, revision, path)
    markdown_file = path.lower().endswith((".md", ".markdown"))
    return BlobView(
        where=where,
        name=path.rsplit("/", 1)[-1],
        size=entry.size,
        storage=storage,
        oid=entry.lfs.oid if entry.lfs is not None else None,
        security=SECURITY_BADGES.get(status),
        security_level=status,
        raw_url=raw,
        download_url=f"{raw}?download=true",
        history_url=history_url(page.url, revision, path),
        shown=shown,
        plain_url=(blob_url(page.url, revision, path) + ("" if plain else "?plain=1")) if markdown_file else None,
        plain=plain,
    )


def _show(
    hub: Hub, git: GitRepo, entry: FileEntry, stored: content.StoredContent | None, links: LinkBase, *, plain: bool
) -> Shown:
    if entry.lfs is not None and stored is None:
        return binary("The content of this file is missing from storage.")
    source = _source(hub, git, entry, stored)
    suffix = source.suffix
    if suffix in BINARY_SUFFIXES:
        return binary("This file is binary: download it to use it.")
    if suffix in image.IMAGE_SUFFIXES:
        return image.view(source)
    if suffix in (".md", ".markdown") and not plain:
        return markdown_viewer.viewer(links)(source)
    viewers: dict[str, Viewer] = {
        ".json": json_viewer.view,
        ".csv": csv_viewer.view,
        ".tsv": csv_viewer.view,
        ".parquet": parquet.view,
        ".safetensors": safetensors.view,
    }
    return viewers.get(suffix, text.view)(source)


def _source(hub: Hub, git: GitRepo, entry: FileEntry, stored: content.StoredContent | None) -> Source:
    """The file's bytes behind one ``read_range``: a git blob in memory, or the large-file store
    (a whole blob or Xet chunks: :mod:`dockyard.lfs.content` reads either)."""
    if stored is None:
        data = git.read_blob(entry.blob_id)
        return Source(entry.path, len(data), lambda start, end: data[start : end + 1])
    large = stored
    return Source(entry.path, large.size, lambda start, end: content.read_range(hub, large, start, end))
