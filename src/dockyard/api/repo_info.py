"""Building ModelInfo / DatasetInfo / SpaceInfo dictionaries, in full or for listings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.api.serialize import iso, sibling
from dockyard.errors import BadRequestError
from dockyard.hub import Hub
from dockyard.identifiers import RepoType
from dockyard.repos import metadata
from dockyard.repos.git_repo import DEFAULT_REF, FileEntry, GitRepo
from dockyard.repos.models import Repo

Field = Callable[["InfoContext"], Any]


class InfoContext:
    """Lazily computed facts about one repo at one revision (git is read only when asked)."""

    def __init__(
        self,
        hub: Hub,
        repo: Repo,
        *,
        commit_id: str | None,
        with_blobs: bool,
        stored_tags: list[str],
        head: str | None = None,
    ) -> None:
        self.hub = hub
        self.repo = repo
        self._commit_id = commit_id
        self._head = head  # the default branch head if the caller read it already ("": none)
        self.with_blobs = with_blobs
        self._stored_tags = stored_tags
        self._git: GitRepo | None = None
        self._meta: metadata.RepoMetadata | None = None

    @property
    def git(self) -> GitRepo:
        if self._git is None:
            self._git = self.hub.git.open(self.repo.uid)
        return self._git

    @property
    def meta(self) -> metadata.RepoMetadata:
        """Stored metadata when asking about the indexed commit; extracted on the fly otherwise."""
        if self._meta is None:
            if self.uses_stored_metadata:
                self._meta = metadata.RepoMetadata(
                    card_data=self.repo.card_data or {},
                    config=self.repo.config,
                    pipeline_tag=self.repo.pipeline_tag,
                    library_name=self.repo.library_name,
                    safetensors=self.repo.safetensors,
                    tags=[],
                    warnings=list(self.repo.metadata_warnings or []),
                )
            elif self.commit_id is None:  # an empty repository: nothing to extract
                self._meta = metadata.RepoMetadata()
            else:  # total: a hostile card or header on any branch becomes warnings
                self._meta = metadata.extract(self.hub, self.git, RepoType(self.repo.type), self.commit_id)
        return self._meta

    @property
    def metadata_warnings(self) -> list[str]:
        """Why some metadata is missing ("invalid metadata"), if the metadata was looked at."""
        return self._meta.warnings if self._meta is not None else []

    @property
    def commit_id(self) -> str | None:
        """The asked revision, else the default branch head read from git (the source of truth)."""
        if self._commit_id is None:
            head = self._head if self._head is not None else self.git.ref_target(DEFAULT_REF)
            self._commit_id = head or ""
        return self._commit_id or None

    @property
    def uses_stored_metadata(self) -> bool:
        """Without an explicit revision the stored metadata is used (it is re-extracted whenever the
        default branch moves), so listings never open git repositories unless asked for sha/files."""
        return self._commit_id is None or self._commit_id == self.repo.metadata_sha

    @property
    def tags(self) -> list[str]:
        return self._stored_tags if self.uses_stored_metadata else self.meta.tags

    def siblings(self) -> list[dict[str, Any]]:
        if self.commit_id is None:
            return []
        return [sibling(entry, with_blobs=self.with_blobs) for entry in self._files(self.commit_id)]

    def used_storage(self) -> int:
        if self.commit_id is None:
            return 0
        return sum(entry.size for entry in self._files(self.commit_id))

    def _files(self, commit_id: str) -> tuple[FileEntry, ...]:
        """A commit's files never change: walked once per process (see repos.entry_cache)."""
        return self.hub.entries.files(self.git, self.repo.uid, commit_id)


def _gated(ctx: InfoContext) -> Any:
    return ctx.repo.gated or False


COMMON: dict[str, Field] = {
    "author": lambda c: c.repo.namespace,
    "sha": lambda c: c.commit_id,
    "lastModified": lambda c: iso(c.repo.last_modified),
    "createdAt": lambda c: iso(c.repo.created_at),
    "private": lambda c: c.repo.private,
    "gated": _gated,
    "disabled": lambda c: c.repo.disabled,
    "downloads": lambda c: c.repo.downloads,
    "downloadsAllTime": lambda c: c.repo.downloads_all_time,
    "likes": lambda c: c.repo.likes,
    "trendingScore": lambda c: round(c.repo.trending_score),
    "tags": lambda c: c.tags,
    "cardData": lambda c: c.meta.card_data,
    "siblings": lambda c: c.siblings(),
    "usedStorage": lambda c: c.used_storage(),
    "xetEnabled": lambda c: True,
}
MODEL_FIELDS: dict[str, Field] = {
    **COMMON,
    "library_name": lambda c: c.meta.library_name,
    "pipeline_tag": lambda c: c.meta.pipeline_tag,
    "config": lambda c: _config_subset(c.meta.config),
    "safetensors": lambda c: c.meta.safetensors,
    "spaces": lambda c: [],
    "inference": lambda c: "cold" if c.meta.pipeline_tag else None,
    "inferenceProviderMapping": lambda c: [],
    "widgetData": lambda c: None,
    "transformersInfo": lambda c: None,
    "baseModels": lambda c: None,
    "childrenModelCount": lambda c: 0,
    "model-index": lambda c: c.meta.card_data.get("model-index"),
    "mask_token": lambda c: None,
    "gguf": lambda c: None,
    "resourceGroup": lambda c: None,
}
DATASET_FIELDS: dict[str, Field] = {
    **COMMON,
    "description": lambda c: None,
    "citation": lambda c: None,
    "paperswithcode_id": lambda c: c.meta.card_data.get("paperswithcode_id"),
    "resourceGroup": lambda c: None,
}
SPACE_FIELDS: dict[str, Field] = {
    **COMMON,
    "sdk": lambda c: c.repo.sdk,
    "runtime": lambda c: {"stage": "NO_APP_FILE", "hardware": {"current": None, "requested": None}},
    "models": lambda c: [],
    "datasets": lambda c: [],
    "subdomain": lambda c: None,
    "host": lambda c: None,
    "resourceGroup": lambda c: None,
}
# A kernel's info is the common repo fields (KernelInfo reads id, author, downloads, gated,
# lastModified, likes, private and sha); the client sends no expand for kernels.
KERNEL_FIELDS: dict[str, Field] = dict(COMMON)
FIELDS = {
    RepoType.MODEL: MODEL_FIELDS,
    RepoType.DATASET: DATASET_FIELDS,
    RepoType.SPACE: SPACE_FIELDS,
    RepoType.KERNEL: KERNEL_FIELDS,
}

_COMMON_INFO = [  # the fields every repo type answers by default
    "author",
    "sha",
    "lastModified",
    "createdAt",
    "private",
    "gated",
    "disabled",
    "downloads",
    "likes",
    "tags",
    "cardData",
    "siblings",
    "usedStorage",
]
DEFAULT_INFO = {
    RepoType.MODEL: [
        "author",
        "sha",
        "lastModified",
        "createdAt",
        "private",
        "gated",
        "disabled",
        "downloads",
        "likes",
        "library_name",
        "pipeline_tag",
        "tags",
        "cardData",
        "config",
        "siblings",
        "spaces",
        "safetensors",
        "usedStorage",
        "inference",
        "widgetData",
        "transformersInfo",
    ],
    RepoType.DATASET: [
        "author",
        "sha",
        "lastModified",
        "createdAt",
        "private",
        "gated",
        "disabled",
        "downloads",
        "likes",
        "tags",
        "cardData",
        "siblings",
        "description",
        "citation",
        "paperswithcode_id",
        "usedStorage",
    ],
    RepoType.SPACE: [
        "author",
        "sha",
        "lastModified",
        "createdAt",
        "private",
        "gated",
        "disabled",
        "likes",
        "sdk",
        "tags",
        "cardData",
        "siblings",
        "runtime",
        "models",
        "datasets",
        "subdomain",
        "host",
        "usedStorage",
    ],
    RepoType.KERNEL: _COMMON_INFO,  # KernelInfo reads only fields every repo has
}
DEFAULT_LIST = {
    RepoType.MODEL: [
        "likes",
        "trendingScore",
        "private",
        "downloads",
        "tags",
        "pipeline_tag",
        "library_name",
        "createdAt",
    ],
    RepoType.DATASET: [
        "author",
        "disabled",
        "gated",
        "lastModified",
        "likes",
        "trendingScore",
        "private",
        "sha",
        "downloads",
        "tags",
        "createdAt",
    ],
    RepoType.SPACE: [
        "author",
        "likes",
        "trendingScore",
        "private",
        "sdk",
        "tags",
        "createdAt",
        "lastModified",
        "sha",
    ],
    RepoType.KERNEL: [
        "author",
        "likes",
        "trendingScore",
        "private",
        "downloads",
        "tags",
        "createdAt",
        "lastModified",
        "sha",
    ],
}
FULL_LIST_EXTRA = ["author", "sha", "lastModified", "gated", "disabled", "siblings"]


def _config_subset(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Hub exposes a small subset of config.json in model info."""
    if not config:
        return None
    keys = ("architectures", "model_type", "task_specific_params", "tokenizer_config", "quantization_config")
    return {key: config[key] for key in keys if key in config}


def check_expand(repo_type: RepoType, expand: list[str]) -> None:
    unknown = [name for name in expand if name not in FIELDS[repo_type]]
    if unknown:
        allowed = ", ".join(sorted(FIELDS[repo_type]))
        raise BadRequestError(f"Invalid expand value(s) {', '.join(unknown)}; allowed: {allowed}")


def render(ctx: InfoContext, fields: list[str]) -> dict[str, Any]:
    repo_type = RepoType(ctx.repo.type)
    data: dict[str, Any] = {"_id": ctx.repo.uid, "id": ctx.repo.full_id}
    if repo_type is RepoType.MODEL:
        data["modelId"] = ctx.repo.full_id
    table = FIELDS[repo_type]
    for name in fields:
        data[name] = table[name](ctx)
    return data
