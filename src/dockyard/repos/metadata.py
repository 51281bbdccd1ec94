"""What listings and ``*_info`` show about a repo, extracted from its default branch.

Card YAML, ``config.json`` and safetensors headers become the row's ``card_data``, ``config``,
``pipeline_tag``, ``library_name``, ``safetensors`` and its tag rows (the index behind ``filter=``).
It is recomputed whenever the default branch moves, whoever moved it (API commit or git push).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos.cards import as_list, parse_card
from dockyard.repos.git_repo import FileEntry, GitRepo
from dockyard.repos.models import Repo, RepoTag
from dockyard.scanning.safetensors_header import SafetensorsHeaderError, read_header
from dockyard.storage.base import lfs_key

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


@dataclass
class RepoMetadata:
    card_data: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    safetensors: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)


def refresh(hub: Hub, session: Session, repo: Repo, commit_id: str) -> None:
    """Re-extract metadata at ``commit_id`` and store it on the row and in the tag index."""
    meta = extract(hub, hub.git.open(repo.uid), RepoType(repo.type), commit_id)
    repo.card_data = meta.card_data or None
    repo.config = meta.config
    repo.pipeline_tag = meta.pipeline_tag
    repo.library_name = meta.library_name
    repo.safetensors = meta.safetensors
    repo.metadata_sha = commit_id
    if repo.type == RepoType.SPACE.value and isinstance(meta.card_data.get("sdk"), str):
        repo.sdk = meta.card_data["sdk"]
    session.execute(delete(RepoTag).where(RepoTag.repo_id == repo.id))
    session.add_all(RepoTag(repo_id=repo.id, tag=tag) for tag in meta.tags)
    session.flush()


def extract(hub: Hub, git: GitRepo, repo_type: RepoType, commit_id: str) -> RepoMetadata:
    files = {entry.path: entry for entry in git.iter_files(commit_id)}
    meta = RepoMetadata()
    readme = files.get("README.md")
    if readme is not None and readme.lfs is None and readme.size <= _MAX_CARD_BYTES:
        meta.card_data = parse_card(git.read_blob(readme.blob_id).decode("utf-8", "replace")).data
    if repo_type is RepoType.MODEL:
        meta.config = _read_json(git, files.get("config.json"))
        meta.library_name = _library_name(meta.card_data, files)
        meta.pipeline_tag = _pipeline_tag(meta.card_data, meta.config, meta.library_name)
        meta.safetensors = _safetensors_parameters(hub, git, files)
    meta.tags = _tags(repo_type, meta, files)
    return meta


def _read_json(git: GitRepo, entry: FileEntry | None) -> dict[str, Any] | None:
    if entry is None or entry.lfs is not None or entry.size > _MAX_CONFIG_BYTES:
        return None
    try:
        value = json.loads(git.read_blob(entry.blob_id))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _library_name(card: dict[str, Any], files: dict[str, FileEntry]) -> str | None:
    declared = card.get("library_name")
    if isinstance(declared, str) and declared:
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
    declared = card.get("pipeline_tag")
    if isinstance(declared, str) and declared:
        return declared
    if library == "sentence-transformers":
        return "sentence-similarity"
    architectures = (config or {}).get("architectures") or []
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        for suffix, task in _ARCHITECTURE_TASKS:
            if architectures[0].endswith(suffix):
                return task
    return None


def _safetensors_parameters(hub: Hub, git: GitRepo, files: dict[str, FileEntry]) -> dict[str, Any] | None:
    totals: dict[str, int] = {}
    found = False
    for path, entry in files.items():
        if not path.endswith(".safetensors") or entry.lfs is None:
            continue
        key = lfs_key(entry.lfs.oid)
        if hub.blobs.stat(key) is None:
            continue
        try:
            summary = read_header(lambda a, b, key=key: hub.blobs.read_range(key, a, b), entry.lfs.size)
        except SafetensorsHeaderError as error:
            log.info("ignoring malformed safetensors header in %s: %s", path, error)
            continue
        found = True
        for dtype, count in summary.parameters.items():
            totals[dtype] = totals.get(dtype, 0) + count
    if not found:
        return None
    return {"parameters": totals, "total": sum(totals.values())}


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
    return sorted({tag.strip()[:200] for tag in tags if tag and tag.strip()})


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
