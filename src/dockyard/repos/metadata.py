"""What listings and ``*_info`` show about a repo, extracted from its default branch.

Card YAML, ``config.json`` and safetensors headers become the row's ``card_data``, ``config``,
``pipeline_tag``, ``library_name``, ``safetensors`` and its tag rows (the index behind ``filter=``).
It is recomputed whenever the default branch moves, whoever moved it (API commit or git push).

Extraction is total: every file it reads is untrusted, so a card or header that cannot be read
becomes a warning in ``metadata_warnings`` (shown by ``model_info`` as an ``X-HF-Warning``) and the
rest of the metadata is still extracted; it never raises because of content. Storing is a
compare-and-set on ``metadata_sha``: metadata is written only for a commit newer than the one it
replaces (a descendant of it, or the branch head), so two commits recorded at the same time can
never leave the older one's tags behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pygit2
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from dockyard.errors import NotFoundError, StorageError
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.lfs import content as lfs_content
from dockyard.repos.cards import as_list, parse_card
from dockyard.repos.git_repo import DEFAULT_REF, FileEntry, GitRepo
from dockyard.repos.models import Repo, RepoTag
from dockyard.scanning.safetensors_header import SafetensorsHeaderError, parse_header_json, read_header

log = logging.getLogger(__name__)

_ARCHITECTURE_TASKS = (
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForConditionalGeneration", "text2text-generation"),
    ("ForSeq2SeqLM", "text2text-generation"),
    ("ForImageClassification", "image-classification"),
    ("ForAudioClassification", "audio-classification"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForObjectDetection", "object-detection"),
    ("Model", "feature-extraction"),
)
_MAX_CONFIG_BYTES = 1024 * 1024
_MAX_CARD_BYTES = 2 * 1024 * 1024
_MAX_WARNINGS = 20
_MAX_NAME = 64  # the pipeline_tag and library_name columns
_CAS_ATTEMPTS = 5
# The client's own limit for one header (huggingface_hub SAFETENSORS_MAX_HEADER_LENGTH), and for all of a
# commit's headers together: metadata is read while a commit is recorded, so its cost is bounded.
_MAX_HEADER_BYTES = 25_000_000
_MAX_HEADERS_TOTAL = 100_000_000
_MAX_HEADER_FILES = 1_000  # the largest real checkpoints have a few hundred shards


@dataclass
class RepoMetadata:
    card_data: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    safetensors: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # "invalid metadata": what could not be read, and why


def refresh(hub: Hub, session: Session, repo: Repo, commit_id: str, *, extracted: RepoMetadata | None = None) -> bool:
    """Extract metadata at ``commit_id`` and store it, unless the row already describes a newer commit.

    ``extracted`` (from :func:`extract`, called before the write transaction) keeps the reading of
    files out of the database's write lock. Returns whether it was stored. Never raises because of
    the repo's content.
    """
    git = hub.git.open(repo.uid)
    meta = extracted
    for _ in range(_CAS_ATTEMPTS):
        current = repo.metadata_sha
        if not is_newer(git, current, commit_id):
            return False
        if meta is None:
            meta = extract(hub, git, RepoType(repo.type), commit_id)
        if _compare_and_set(session, repo, current, commit_id, meta):
            return True
        session.refresh(repo, ["metadata_sha"])  # another process stored metadata meanwhile: decide again
    log.warning("metadata of %s at %s not stored: the row kept changing", repo.full_id, commit_id)
    return False


def is_newer(git: GitRepo, current: str | None, commit_id: str) -> bool:
    """Whether metadata of ``commit_id`` may replace metadata of ``current``: git ancestry decides,
    and the default branch's head always wins (after a force-push or squash it descends from nothing)."""
    if current is None:
        return True
    if current == commit_id:
        return False
    try:
        if git.raw.descendant_of(commit_id, current):
            return True
    except (KeyError, ValueError, pygit2.GitError):
        pass  # ``current`` was collected since: only the head rule applies
    return git.ref_target(DEFAULT_REF) == commit_id


def _compare_and_set(session: Session, repo: Repo, current: str | None, commit_id: str, meta: RepoMetadata) -> bool:
    """Write ``meta`` only if ``metadata_sha`` still is ``current`` (one guarded UPDATE)."""
    guard = Repo.metadata_sha.is_(None) if current is None else Repo.metadata_sha == current
    values: dict[str, Any] = {
        "sha": commit_id,
        "card_data": meta.card_data or None,
        "config": meta.config,
        "pipeline_tag": meta.pipeline_tag,
        "library_name": meta.library_name,
        "safetensors": meta.safetensors,
        "metadata_sha": commit_id,
        "metadata_warnings": meta.warnings or None,
    }
    if repo.type == RepoType.SPACE.value and isinstance(meta.card_data.get("sdk"), str):
        values["sdk"] = meta.card_data["sdk"][:32]
    # synchronize_session (the default) keeps the loaded ``repo`` in step with the row.
    result = session.execute(update(Repo).where(Repo.id == repo.id, guard).values(**values))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.execute(delete(RepoTag).where(RepoTag.repo_id == repo.id))
    session.add_all(RepoTag(repo_id=repo.id, tag=tag) for tag in meta.tags)
    session.flush()
    return True


def extract(hub: Hub, git: GitRepo, repo_type: RepoType, commit_id: str) -> RepoMetadata:
    """Everything listings show about ``commit_id``; unreadable files become ``warnings``."""
    files = {entry.path: entry for entry in git.iter_files(commit_id)}
    meta = RepoMetadata()
    _read_card(git, files.get("README.md"), meta)
    if repo_type is RepoType.MODEL:
        meta.config = _read_json(git, files.get("config.json"), meta.warnings)
        meta.library_name = _library_name(meta.card_data, files)
        meta.pipeline_tag = _pipeline_tag(meta.card_data, meta.config, meta.library_name)
        meta.safetensors = _safetensors_parameters(hub, files, meta.warnings)
    meta.tags = _tags(repo_type, meta, files)
    del meta.warnings[_MAX_WARNINGS:]
    return meta


def _read_card(git: GitRepo, readme: FileEntry | None, meta: RepoMetadata) -> None:
    if readme is None or readme.lfs is not None:
        return
    if readme.size > _MAX_CARD_BYTES:
        meta.warnings.append(f"README.md is larger than {_MAX_CARD_BYTES} bytes: its metadata was not read")
        return
    card = parse_card(git.read_blob(readme.blob_id).decode("utf-8", "replace"))
    meta.card_data = card.data
    meta.warnings += card.errors + [f"README.md metadata: {warning}" for warning in card.warnings]


def _read_json(git: GitRepo, entry: FileEntry | None, warnings: list[str]) -> dict[str, Any] | None:
    if entry is None or entry.lfs is not None:
        return None
    if entry.size > _MAX_CONFIG_BYTES:
        warnings.append(f"{entry.path} is larger than {_MAX_CONFIG_BYTES} bytes: it was not read")
        return None
    try:
        value = parse_header_json(git.read_blob(entry.blob_id), what=entry.path)  # bounded, as headers are
    except SafetensorsHeaderError as error:
        warnings.append(str(error))
        return None
    return value


def _declared(card: dict[str, Any], key: str) -> str | None:
    """A name the card declares, if it can be a column value (short, printable)."""
    value = card.get(key)
    if isinstance(value, str) and value and len(value) <= _MAX_NAME and value.isprintable():
        return value
    return None


def _library_name(card: dict[str, Any], files: dict[str, FileEntry]) -> str | None:
    declared = _declared(card, "library_name")
    if declared:
        return declared
    if "config_sentence_transformers.json" in files or "modules.json" in files:
        return "sentence-transformers"
    if "config.json" in files:
        return "transformers"
    if any(path.endswith(".gguf") for path in files):
        return "gguf"
    if "model_index.json" in files:
        return "diffusers"
    return None


def _pipeline_tag(card: dict[str, Any], config: dict[str, Any] | None, library: str | None) -> str | None:
    declared = _declared(card, "pipeline_tag")
    if declared:
        return declared
    if library == "sentence-transformers":
        return "sentence-similarity"
    architectures = (config or {}).get("architectures") or []
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        for suffix, task in _ARCHITECTURE_TASKS:
            if architectures[0].endswith(suffix):
                return task
    return None


def _safetensors_parameters(hub: Hub, files: dict[str, FileEntry], warnings: list[str]) -> dict[str, Any] | None:
    """Parameter counts from every ``.safetensors`` header, read through the content layer (whole
    blobs and Xet uploads alike); a header that cannot be read is a warning, not an error."""
    totals: dict[str, int] = {}
    found = False
    budget, files_left = _MAX_HEADERS_TOTAL, _MAX_HEADER_FILES
    for path, entry in files.items():
        if not path.endswith(".safetensors") or entry.lfs is None:
            continue
        if budget <= 0 or files_left <= 0:
            limits = f"{_MAX_HEADER_FILES} files or {_MAX_HEADERS_TOTAL} bytes of headers"
            warnings.append(f"{path} and later .safetensors files: not read (past {limits})")
            break
        files_left -= 1
        with hub.db.read() as session:
            stored = lfs_content.locate(hub, session, entry.lfs.oid)
        if stored is None:
            continue
        try:
            budget -= 8 + _header_length(hub, stored)
            summary = read_header(_range_reader(hub, stored), stored.size, max_header_bytes=_MAX_HEADER_BYTES)
        except SafetensorsHeaderError as error:
            warnings.append(f"{path}: invalid safetensors header: {error}")
            continue
        except (StorageError, NotFoundError) as error:  # bytes missing or unreachable
            log.warning("could not read the safetensors header of %s: %s", path, error)
            warnings.append(f"{path}: the safetensors header could not be read")
            continue
        found = True
        for dtype, count in summary.parameters.items():
            totals[dtype] = totals.get(dtype, 0) + count
    if not found:
        return None
    return {"parameters": totals, "total": sum(totals.values())}


def _header_length(hub: Hub, stored: lfs_content.StoredContent) -> int:
    """The header length a file declares (what reading it would cost), 0 for a file too short to say."""
    if stored.size < 8:
        return 0
    return min(int.from_bytes(lfs_content.read_range(hub, stored, 0, 7), "little"), _MAX_HEADER_BYTES)


def _range_reader(hub: Hub, stored: lfs_content.StoredContent) -> Callable[[int, int], bytes]:
    def read_range(start: int, end: int) -> bytes:
        return lfs_content.read_range(hub, stored, start, end)

    return read_range


def _tags(repo_type: RepoType, meta: RepoMetadata, files: dict[str, FileEntry]) -> list[str]:
    card = meta.card_data
    tags: list[str] = list(as_list(card.get("tags")))
    if meta.library_name:
        tags.append(meta.library_name)
    if meta.pipeline_tag:
        tags.append(meta.pipeline_tag)
    if meta.config and isinstance(meta.config.get("model_type"), str):
        tags.append(meta.config["model_type"])
    if any(path.endswith(".safetensors") for path in files):
        tags.append("safetensors")
    if any(path.endswith((".bin", ".pt", ".pth")) for path in files) and repo_type is RepoType.MODEL:
        tags.append("pytorch")
    for language in as_list(card.get("language")):
        tags += [language, f"language:{language}"]
    for license_name in as_list(card.get("license")):
        tags.append(f"license:{license_name}")
    for dataset in as_list(card.get("datasets")):
        tags.append(f"dataset:{dataset}")
    for base in as_list(card.get("base_model")):
        tags.append(f"base_model:{base}")
    if repo_type is RepoType.DATASET:
        tags += _dataset_tags(card, files)
    if repo_type is RepoType.SPACE and isinstance(card.get("sdk"), str):
        tags.append(card["sdk"])
    return sorted({tag.strip()[:200] for tag in tags if tag and tag.strip() and tag.isprintable()})


def _dataset_tags(card: dict[str, Any], files: dict[str, FileEntry]) -> list[str]:
    tags: list[str] = []
    for key in ("task_categories", "task_ids", "size_categories", "multilinguality", "source_datasets"):
        tags += [f"{key}:{value}" for value in as_list(card.get(key))]
    extensions = {path.rsplit(".", 1)[-1].lower() for path in files if "." in path}
    for fmt in ("parquet", "csv", "json", "jsonl", "arrow", "txt", "webdataset"):
        if fmt in extensions:
            tags.append(f"format:{'json' if fmt == 'jsonl' else fmt}")
    if extensions & {"parquet", "csv", "json", "jsonl", "arrow", "txt"}:
        tags.append("library:datasets")
    return tags
