"""The revision's files on local disk for ``datasets``: every file as an empty placeholder (so
that the library's own pattern resolution sees the real layout), and the files a step reads
written out for real, one split at a time, within the size limits."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.lfs import content
from dockyard.repos.git_repo import FileEntry
from dockyard.viewer.errors import DatasetWithTooManyFilesError, TooBigContentError
from dockyard.viewer.steps.context import StepContext

#: Read at detection time: the card (configs) and archives (their members decide the format).
_READ_AT_DETECTION = (".zip",)
_CARD = "README.md"


def tree_dir(ctx: StepContext) -> Path:
    return ctx.workdir / "tree"


def entries(ctx: StepContext) -> dict[str, FileEntry]:
    """The revision's files by path (git's own files left out), within the file-count limit."""
    git = ctx.hub.git.open(ctx.uid)
    found: dict[str, FileEntry] = {}
    for entry in git.iter_files(ctx.revision):
        if entry.path.startswith(".git"):
            continue
        found[entry.path] = entry
        if len(found) > ctx.hub.settings.viewer_max_files:
            raise DatasetWithTooManyFilesError(
                f"The dataset has more than {ctx.hub.settings.viewer_max_files} files: the viewer does not process it"
            )
    return found


def lay_out(ctx: StepContext, files: dict[str, FileEntry]) -> Path:
    """Placeholders for every file, the card and archives with their real bytes."""
    root = tree_dir(ctx)
    for path, entry in files.items():
        target = _target(root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path == _CARD or path.lower().endswith(_READ_AT_DETECTION):
            materialise(ctx, entry, target)
        else:
            target.touch()
    return root


def materialise(ctx: StepContext, entry: FileEntry, target: Path) -> None:
    """Write the file's bytes to ``target``, refusing one over the per-file limit."""
    limit = ctx.hub.settings.viewer_max_file_bytes
    size = entry.lfs.size if entry.lfs is not None else entry.size
    if size > limit:
        raise TooBigContentError(f"{entry.path} is {size} bytes, over the viewer's limit of {limit} bytes")
    git = ctx.hub.git.open(ctx.uid)
    if entry.lfs is None:
        target.write_bytes(git.read_blob(entry.blob_id))
        return
    with ctx.hub.db.read() as session:
        stored = content.locate(ctx.hub, session, entry.lfs.oid)
    if stored is None:
        raise TooBigContentError(f"The content of {entry.path} is missing from storage", code="FileSystemError")
    with target.open("wb") as out:
        if stored.size:
            for block in content.iter_range(ctx.hub, stored, 0, stored.size - 1, 1024 * 1024):
                out.write(block)


def release(root: Path, paths: list[str]) -> None:
    """Turn written files back into placeholders, so a job holds one split's bytes at a time."""
    for path in paths:
        target = _target(root, path)
        if target.exists():
            os.truncate(target, 0)


def _target(root: Path, path: str) -> Path:
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()):  # git paths never escape, but say so here
        raise TooBigContentError(f"Invalid path {path!r}", code="FileSystemError")
    return target
