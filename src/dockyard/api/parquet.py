"""The Hub's listing of a dataset's Parquet export: ``/api/datasets/{id}/parquet[/{config}[/{split}]]``
answers URLs ``.../parquet/{config}/{split}/{n}.parquet``, each a redirect to the file on
``refs/convert/parquet``. They list bytes of the dataset, so they need the DOWNLOAD right (gated
repos: granted access); private repos answer 404 to outsiders."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from dockyard.api.deps import RepoToDownload, base_url, hub_of
from dockyard.auth.permissions import not_found
from dockyard.errors import EntryNotFoundError
from dockyard.repos.git_repo import DEFAULT_REF
from dockyard.repos.models import Repo
from dockyard.viewer import catalog
from dockyard.viewer.publish import PARQUET_REF

router = APIRouter()
_BASE = "/api/{repo_type:rtype}/{repo_id:repo}/parquet"


def _export(request: Request, repo: Repo, repo_id: str) -> dict[str, dict[str, list[catalog.ParquetShard]]]:
    """The converted splits of the default branch's head, ``{config: {split: shards}}``; a split
    that failed or is not converted yet is left out, as on the Hub."""
    if repo.type != "dataset":
        raise not_found(repo_id)
    hub = hub_of(request)
    head = hub.git.open(repo.uid).ref_target(DEFAULT_REF)
    if head is None:
        return {}
    with hub.db.read() as session:
        entries = catalog.dataset_splits(hub, session, repo, head)
    found: dict[str, dict[str, list[catalog.ParquetShard]]] = {}
    for entry in entries:
        if entry.shards:
            found.setdefault(entry.config, {})[entry.split] = entry.shards
    return found


def _urls(request: Request, repo_id: str, config: str, split: str, shards: list[catalog.ParquetShard]) -> list[str]:
    prefix = f"{base_url(request)}/api/datasets/{repo_id}/parquet/{quote(config, safe='')}/{quote(split, safe='')}"
    return [f"{prefix}/{index}.parquet" for index in range(len(shards))]


def _config(
    found: dict[str, dict[str, list[catalog.ParquetShard]]], config: str
) -> dict[str, list[catalog.ParquetShard]]:
    if config not in found:
        raise EntryNotFoundError(f"Config {config!r} has no Parquet files")
    return found[config]


def _split(splits: dict[str, list[catalog.ParquetShard]], split: str) -> list[catalog.ParquetShard]:
    if split not in splits:
        raise EntryNotFoundError(f"Split {split!r} has no Parquet files")
    return splits[split]


@router.get(_BASE)
def list_parquet(request: Request, repo_type: str, repo_id: str, repo: RepoToDownload) -> dict[str, Any]:
    found = _export(request, repo, repo_id)
    return {
        config: {split: _urls(request, repo_id, config, split, shards) for split, shards in splits.items()}
        for config, splits in found.items()
    }


@router.get(_BASE + "/{config}")
def list_config_parquet(
    request: Request, repo_type: str, repo_id: str, config: str, repo: RepoToDownload
) -> dict[str, list[str]]:
    splits = _config(_export(request, repo, repo_id), config)
    return {split: _urls(request, repo_id, config, split, shards) for split, shards in splits.items()}


@router.get(_BASE + "/{config}/{split}")
def list_split_parquet(
    request: Request, repo_type: str, repo_id: str, config: str, split: str, repo: RepoToDownload
) -> list[str]:
    shards = _split(_config(_export(request, repo, repo_id), config), split)
    return _urls(request, repo_id, config, split, shards)


@router.get(_BASE + "/{config}/{split}/{index:int}.parquet")
def parquet_file(
    request: Request, repo_type: str, repo_id: str, config: str, split: str, index: int, repo: RepoToDownload
) -> RedirectResponse:
    """A redirect to the shard on ``refs/convert/parquet``, where the download checks run again."""
    shards = _split(_config(_export(request, repo, repo_id), config), split)
    if not 0 <= index < len(shards):
        raise EntryNotFoundError(f"Split {split!r} has {len(shards)} Parquet files")
    path = quote(shards[index].filename)
    return RedirectResponse(f"{base_url(request)}/datasets/{repo_id}/resolve/{quote(PARQUET_REF, safe='')}/{path}", 302)
