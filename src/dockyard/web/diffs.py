"""What changed between two commits, shaped for reading: text diffs line by line, large files
(LFS or Xet pointers) as their size and sha change, and safetensors as which tensors were added,
removed or changed (dtype or shape), read from the headers of both versions.

Commit pages, compare pages and pull requests share this one renderer. The work is bounded: a
diff lists every changed path but renders at most :data:`MAX_FILES` of them, each with at most
:data:`MAX_FILE_LINES` lines (and :data:`MAX_TOTAL_LINES` in all); text bigger than
:data:`MAX_TEXT_BYTES` is summarised by its sizes. Whatever is cut says so on the page.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pygit2

from dockyard.errors import NotFoundError, StorageError
from dockyard.hub import Hub
from dockyard.lfs import content as lfs_content
from dockyard.lfs.pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer
from dockyard.repos.git_repo import GitRepo
from dockyard.scanning.safetensors_header import SafetensorsHeaderError, read_header

log = logging.getLogger(__name__)

MAX_FILES = 200  # files rendered with their changes; the rest are listed by name only
MAX_FILE_LINES = 1500
MAX_TOTAL_LINES = 10_000
MAX_TEXT_BYTES = 1024 * 1024  # a side larger than this is not diffed line by line
MAX_SAFETENSORS_HEADER = 10 * 1024 * 1024
MAX_TENSOR_ROWS = 500
MAX_RENAME_DETECTION = 1000  # deltas above which renames are not looked for (quadratic work)

_STATUS = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "C": "copied", "T": "modified"}
_ZERO = pygit2.Oid(raw=b"\0" * 20)


@dataclass(frozen=True, slots=True)
class Line:
    """One row of a unified diff: ``kind`` is ``add``, ``del``, ``ctx`` or ``hunk``."""

    kind: str
    text: str
    old: int | None = None
    new: int | None = None

    @property
    def sign(self) -> str:
        return {"add": "+", "del": "-", "ctx": " "}.get(self.kind, "")


@dataclass(frozen=True, slots=True)
class TensorChange:
    name: str
    change: str  # added, removed, changed
    old: str | None  # "F32 [2, 3]"
    new: str | None


@dataclass
class FileDiff:
    path: str
    status: str  # added, deleted, modified, renamed
    old_path: str | None = None
    kind: str = "text"  # text, binary, large, too-big, skipped
    lines: list[Line] = field(default_factory=list)
    additions: int = 0
    deletions: int = 0
    truncated: bool = False
    old_size: int | None = None
    new_size: int | None = None
    old_pointer: LfsPointer | None = None
    new_pointer: LfsPointer | None = None
    tensors: list[TensorChange] | None = None
    tensor_note: str | None = None

    @property
    def anchor(self) -> str:
        """A fragment id per path (a digest, so ``a-b`` and ``a_b`` never share one)."""
        return "file-" + hashlib.sha1(self.path.encode(), usedforsecurity=False).hexdigest()[:12]


@dataclass
class Comparison:
    files: list[FileDiff]
    truncated: bool = False  # some files are listed without their changes

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)


def compare(hub: Hub, git: GitRepo, old: str | None, new: str) -> Comparison:
    """The changes from commit ``old`` (None: the empty tree) to commit ``new``."""
    new_tree = _tree(git, new)
    if old is None:
        diff = new_tree.diff_to_tree(swap=True, context_lines=3, interhunk_lines=0)
    else:
        diff = _tree(git, old).diff_to_tree(new_tree, context_lines=3, interhunk_lines=0)
    if len(diff) <= MAX_RENAME_DETECTION:
        diff.find_similar()
    budget = MAX_TOTAL_LINES
    files: list[FileDiff] = []
    truncated = False
    for index, delta in enumerate(diff.deltas):
        file = _file_of(delta)
        if index >= MAX_FILES or budget <= 0:
            file.kind, truncated = "skipped", True
        else:
            _fill(hub, git, diff, index, delta, file, budget)
            budget -= len(file.lines)
        files.append(file)
    return Comparison(files=files, truncated=truncated)


def _tree(git: GitRepo, commit_id: str) -> pygit2.Tree:
    commit = git.raw[commit_id]
    assert isinstance(commit, pygit2.Commit)
    return commit.tree


def _file_of(delta: pygit2.DiffDelta) -> FileDiff:
    status = _STATUS.get(delta.status_char(), "modified")
    path = delta.old_file.path if status == "deleted" else delta.new_file.path
    renamed = status in ("renamed", "copied") and delta.old_file.path != delta.new_file.path
    return FileDiff(path=path, status=status, old_path=delta.old_file.path if renamed else None)


def _fill(
    hub: Hub, git: GitRepo, diff: pygit2.Diff, index: int, delta: pygit2.DiffDelta, file: FileDiff, budget: int
) -> None:
    """Decide how to show one file (pointer, too big, binary, text) and gather what that needs."""
    old_id = delta.old_file.id if delta.old_file.id != _ZERO else None
    new_id = delta.new_file.id if delta.new_file.id != _ZERO else None
    file.old_size = _size(git, old_id)
    file.new_size = _size(git, new_id)
    file.old_pointer = _pointer(git, old_id, file.old_size)
    file.new_pointer = _pointer(git, new_id, file.new_size)
    if file.old_pointer is not None or file.new_pointer is not None:
        file.kind = "large"
        if file.old_pointer is not None:
            file.old_size = file.old_pointer.size
        if file.new_pointer is not None:
            file.new_size = file.new_pointer.size
    elif max(file.old_size or 0, file.new_size or 0) > MAX_TEXT_BYTES:
        file.kind = "too-big"
    else:
        patch = diff[index]
        if patch is None or patch.delta.is_binary:
            file.kind = "binary"
        else:
            _lines(patch, file, min(budget, MAX_FILE_LINES))
    if file.path.endswith(".safetensors"):
        _tensors(hub, git, file, old_id, new_id)


def _size(git: GitRepo, blob_id: pygit2.Oid | None) -> int | None:
    if blob_id is None:
        return None
    _, size = git.raw.odb.read_header(blob_id)
    return int(size)


def _pointer(git: GitRepo, blob_id: pygit2.Oid | None, size: int | None) -> LfsPointer | None:
    if blob_id is None or size is None or size > MAX_POINTER_SIZE:
        return None
    return parse_pointer(git.read_blob(blob_id))


def _lines(patch: pygit2.Patch, file: FileDiff, limit: int) -> None:
    for hunk in patch.hunks:
        if len(file.lines) >= limit:
            file.truncated = True
            break
        file.lines.append(Line("hunk", hunk.header.rstrip("\n")))
        for line in hunk.lines:
            kind = {"+": "add", "-": "del", " ": "ctx"}.get(line.origin)
            if kind is None:  # "no newline at end of file" markers
                continue
            if kind == "add":
                file.additions += 1
            elif kind == "del":
                file.deletions += 1
            if len(file.lines) < limit:
                text = line.raw_content.decode("utf-8", "replace").rstrip("\r\n")
                old = line.old_lineno if line.old_lineno > 0 else None
                new = line.new_lineno if line.new_lineno > 0 else None
                file.lines.append(Line(kind, text, old, new))
            else:
                file.truncated = True


# -- safetensors ---------------------------------------------------------------------------------
def _tensors(hub: Hub, git: GitRepo, file: FileDiff, old_id: pygit2.Oid | None, new_id: pygit2.Oid | None) -> None:
    """Which tensors were added, removed or changed between the two headers."""
    try:
        old = _header(hub, git, old_id, file.old_pointer)
        new = _header(hub, git, new_id, file.new_pointer)
    except SafetensorsHeaderError as error:
        file.tensor_note = f"The safetensors header could not be read: {error}"
        return
    except (StorageError, NotFoundError) as error:
        log.warning("could not read a safetensors header of %s: %s", file.path, error)
        file.tensor_note = "The safetensors header could not be read from storage."
        return
    if old is None and new is None and (old_id is not None or new_id is not None):
        file.tensor_note = "The file's content is not stored here: its tensors are unknown."
        return
    changes = tensor_changes(old or {}, new or {})
    if len(changes) > MAX_TENSOR_ROWS:
        file.tensor_note = f"{len(changes)} tensors changed: the first {MAX_TENSOR_ROWS} are shown."
        changes = changes[:MAX_TENSOR_ROWS]
    file.tensors = changes


def _header(hub: Hub, git: GitRepo, blob_id: pygit2.Oid | None, pointer: LfsPointer | None) -> dict[str, str] | None:
    """Tensor name -> "DTYPE [shape]" from one version's header (None: no such version or bytes)."""
    if blob_id is None:
        return None
    if pointer is None:
        data = git.read_blob(blob_id)
        summary = read_header(_bytes_reader(data), len(data), max_header_bytes=MAX_SAFETENSORS_HEADER)
    else:
        with hub.db.read() as session:
            stored = lfs_content.locate(hub, session, pointer.oid)
        if stored is None:
            return None
        reader = _stored_reader(hub, stored)
        summary = read_header(reader, stored.size, max_header_bytes=MAX_SAFETENSORS_HEADER)
    described: dict[str, str] = {}
    for name, info in summary.header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        shape = info.get("shape")
        dims = ", ".join(str(d) for d in shape) if isinstance(shape, list) else "?"
        described[name] = f"{info.get('dtype', '?')} [{dims}]"
    return described


def tensor_changes(old: dict[str, str], new: dict[str, str]) -> list[TensorChange]:
    """Added, removed and changed tensors, in name order."""
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        changes.append(TensorChange(name, change, before, after))
    return changes


def _bytes_reader(data: bytes) -> Callable[[int, int], bytes]:
    def read_range(start: int, end: int) -> bytes:
        return data[start : end + 1]

    return read_range


def _stored_reader(hub: Hub, stored: lfs_content.StoredContent) -> Callable[[int, int], bytes]:
    def read_range(start: int, end: int) -> bytes:
        return lfs_content.read_range(hub, stored, start, end)

    return read_range
