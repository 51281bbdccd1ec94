"""The dataset viewer API under ``/api/viewer/``, wire-compatible with the Hub's dataset viewer:
the same query parameters (``dataset``, ``config``, ``split``, ``offset``, ``length``, ``query``,
``where``, ``orderby``) and JSON shapes. Every route needs the DOWNLOAD right on the dataset
(private: 404 to outsiders; gated: the Hub's 401/403). An optional ``revision`` (a branch, tag or
sha) reads an older revision's cached answers; the default is the default branch's head. Image
and audio cells come back as signed URLs to ``/api/viewer/assets/{token}``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.api.deps import base_url, caller_of, hub_of
from dockyard.auth.access import Right, ensure
from dockyard.errors import BadRequestError, RepoNotFoundError
from dockyard.hub import Hub
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.models import Repo
from dockyard.repos.service import RepoRef, find_repo
from dockyard.viewer import assets, croissant, query, rows, service, truncation
from dockyard.viewer.catalog import SplitEntry
from dockyard.viewer.errors import ViewerNotReadyError, ViewerStepFailedError
from dockyard.viewer.features import feature_list

router = APIRouter()

PAGE = 100
FIRST_ROWS = 100


class MissingParameterError(BadRequestError):
    status = 422
    code = "MissingRequiredParameter"
    default_message = "Parameter 'dataset' is required"


class InvalidParameterError(BadRequestError):
    status = 422
    code = "InvalidParameter"


# -- request parsing ---------------------------------------------------------------------------------
def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise MissingParameterError(f"Parameter '{name}' is required")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameterError(f"Parameter '{name}' must be an integer") from None
    if not low <= value <= high:
        raise InvalidParameterError(f"Parameter '{name}' must be between {low} and {high}")
    return value


class Target:
    """The dataset a request names, checked for DOWNLOAD, at the revision it reads."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.hub: Hub = hub_of(request)
        self.dataset = _param(request, "dataset")
        try:
            ref = RepoRef(RepoType.DATASET, RepoId.parse(self.dataset))
        except BadRequestError:
            raise RepoNotFoundError() from None
        with self.hub.db.read() as session:
            repo = find_repo(session, ref)
            if repo is None:
                raise RepoNotFoundError()
            ensure(session, caller_of(request, session), repo, Right.DOWNLOAD)
            session.expunge(repo)
        self.repo: Repo = repo
        self.revision = self._revision(request.query_params.get("revision"))

    def _revision(self, wanted: str | None) -> str:
        if wanted:
            return self.hub.git.open(self.repo.uid).resolve(wanted).commit_id
        if self.repo.sha is None:
            raise ViewerNotReadyError("The dataset has no commit yet.")
        return self.repo.sha

    def splits(self) -> list[SplitEntry]:
        with self.hub.db.read() as session:
            return service.splits(self.hub, session, self.repo, self.revision)

    def entry(self) -> SplitEntry:
        return service.find_split(self.splits(), _param(self.request, "config"), _param(self.request, "split"))

    def open(self) -> service.OpenSplit:
        return service.open_split(self.hub, self.repo, self.entry())

    def asset_url(self, entry: SplitEntry) -> rows.AssetUrl:
        base = base_url(self.request)
        url: rows.AssetUrl = assets.url_maker(
            self.hub.signer, base, self.repo.id, self.revision, entry.config, entry.split
        )
        return url


# -- rendering ---------------------------------------------------------------------------------------
def _rows_answer(target: Target, split: service.OpenSplit, found: list[tuple[int, dict[str, Any]]], total: int) -> Any:
    return {
        "features": feature_list(split.features),
        "rows": rows.render_rows(found, split.features, target.asset_url(split.entry)),
        "num_rows_total": total,
        "num_rows_per_page": PAGE,
        "partial": False,
    }


def _hits_answer(target: Target, split: service.OpenSplit, hits: query.Hits) -> Any:
    found = rows.rows_by_index(split.shards, hits.row_indexes)
    ordered = [(i, found[i]) for i in hits.row_indexes if i in found]
    return _rows_answer(target, split, ordered, hits.total)


def _split_ref(target: Target, entry: SplitEntry) -> dict[str, str]:
    return {"dataset": target.dataset, "config": entry.config, "split": entry.split}


# -- routes ------------------------------------------------------------------------------------------
@router.get("/api/viewer/is-valid")
def is_valid(request: Request) -> Any:
    target = Target(request)
    try:
        entries = target.splits()
    except (ViewerNotReadyError, ViewerStepFailedError):
        entries = []
    ready = any(e.num_rows is not None and e.error_code is None for e in entries)
    with target.hub.db.read() as session:
        stats = service.has_statistics(session, target.repo, target.revision)
    return {"preview": ready, "viewer": ready, "search": ready, "filter": ready, "statistics": stats}


@router.get("/api/viewer/splits")
def splits(request: Request) -> Any:
    target = Target(request)
    entries = target.splits()
    return {"splits": [_split_ref(target, e) for e in entries], "pending": [], "failed": []}


@router.get("/api/viewer/first-rows")
def first_rows(request: Request) -> Any:
    target = Target(request)
    split = target.open()
    page = rows.read_page(split.shards, 0, FIRST_ROWS).rows
    rendered = rows.render_rows(page, split.features, target.asset_url(split.entry))
    fitted = truncation.fit(rendered, keep=rows.media_columns(split.features))
    return {
        **_split_ref(target, split.entry),
        "features": feature_list(split.features),
        "rows": fitted,
        "truncated": split.num_rows > len(fitted),
    }


@router.get("/api/viewer/rows")
def rows_page(request: Request) -> Any:
    target = Target(request)
    offset = _int(request, "offset", 0, 0, 2**62)
    length = _int(request, "length", PAGE, 1, PAGE)
    split = target.open()
    page = rows.read_page(split.shards, offset, length).rows
    return _rows_answer(target, split, page, split.num_rows)


@router.get("/api/viewer/search")
def search(request: Request) -> Any:
    target = Target(request)
    text = _param(request, "query")
    offset = _int(request, "offset", 0, 0, 2**62)
    length = _int(request, "length", PAGE, 1, PAGE)
    split = target.open()
    index = service.search_index_file(target.hub, target.repo, target.revision, split.entry)
    hits = query.search_rows(
        split.shards, split.schema, split.features, query=text, offset=offset, length=length, index=index
    )
    return _hits_answer(target, split, hits)


@router.get("/api/viewer/filter")
def filter_(request: Request) -> Any:
    target = Target(request)
    where = request.query_params.get("where") or None
    orderby = request.query_params.get("orderby") or None
    if where is None and orderby is None:
        raise MissingParameterError("Parameter 'where' or 'orderby' is required")
    offset = _int(request, "offset", 0, 0, 2**62)
    length = _int(request, "length", PAGE, 1, PAGE)
    split = target.open()
    hits = query.filter_rows(
        split.shards, split.schema, split.features, where=where, orderby=orderby, offset=offset, length=length
    )
    return _hits_answer(target, split, hits)


def _selected(target: Target) -> list[SplitEntry]:
    config = target.request.query_params.get("config")
    split = target.request.query_params.get("split")
    return [
        e for e in target.splits() if (config is None or e.config == config) and (split is None or e.split == split)
    ]


@router.get("/api/viewer/parquet")
def parquet(request: Request) -> Any:
    target = Target(request)
    base = base_url(request)
    files, failed, pending = [], [], []
    for entry in _selected(target):
        if entry.error_code is not None:
            failed.append({**_split_ref(target, entry), "error": entry.error})
        elif entry.num_rows is None:
            pending.append(_split_ref(target, entry))
        for shard in entry.shards:
            path = quote(shard.filename)
            files.append(
                {
                    **_split_ref(target, entry),
                    "url": f"{base}/datasets/{target.repo.full_id}/resolve/refs%2Fconvert%2Fparquet/{path}",
                    "filename": shard.filename.rsplit("/", 1)[-1],
                    "size": shard.size,
                }
            )
    return {"parquet_files": files, "pending": pending, "failed": failed, "partial": False}


def _config_info(target: Target, config: str, entries: list[SplitEntry]) -> dict[str, Any]:
    ready = [e for e in entries if e.num_rows is not None and e.error_code is None]
    features = next((e.features for e in ready if e.features), None)
    if features is None and ready:
        features = service.open_split(target.hub, target.repo, ready[0]).features
    return {
        "dataset_name": target.repo.name,
        "config_name": config,
        "features": features or {},
        "splits": {
            e.split: {
                "name": e.split,
                "num_bytes": e.num_bytes or 0,
                "num_examples": e.num_rows,
                "dataset_name": target.repo.name,
            }
            for e in ready
        },
        "download_size": sum(s.size for e in ready for s in e.shards),
        "dataset_size": sum(e.num_bytes or 0 for e in ready),
    }


@router.get("/api/viewer/info")
def info(request: Request) -> Any:
    target = Target(request)
    entries = _selected(target)
    configs = list(dict.fromkeys(e.config for e in entries))
    if not configs:
        raise service.SplitNotFoundError("No such config.")
    by_config = {c: _config_info(target, c, [e for e in entries if e.config == c]) for c in configs}
    pending, failed = _unfinished(target, entries)
    answer = by_config[configs[0]] if request.query_params.get("config") else by_config
    return {"dataset_info": answer, "pending": pending, "failed": failed, "partial": False}


def _unfinished(target: Target, entries: list[SplitEntry]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Splits still converting, and splits that failed with their error (as ``/parquet`` lists
    them): a config-level answer (``/info``, ``/size``) covers the others and says which are out."""
    pending = [_split_ref(target, e) for e in entries if e.num_rows is None and e.error_code is None]
    failed = [{**_split_ref(target, e), "error": e.error} for e in entries if e.error_code is not None]
    return pending, failed


@router.get("/api/viewer/size")
def size(request: Request) -> Any:
    target = Target(request)
    ready = [e for e in _selected(target) if e.num_rows is not None and e.error_code is None]
    split_sizes = [
        {
            **_split_ref(target, e),
            "num_bytes_parquet_files": sum(s.size for s in e.shards),
            "num_bytes_memory": e.num_bytes or 0,
            "num_rows": e.num_rows or 0,
            "num_columns": len(e.features or {}),
        }
        for e in ready
    ]
    configs = []
    for config in dict.fromkeys(e.config for e in ready):
        mine = [s for s in split_sizes if s["config"] == config]
        configs.append({"dataset": target.dataset, "config": config, **_sum_sizes(mine)})
    dataset = {"dataset": target.dataset, **_sum_sizes(split_sizes)}
    pending, failed = _unfinished(target, _selected(target))
    return {
        "size": {"dataset": dataset, "configs": configs, "splits": split_sizes},
        "pending": pending,
        "failed": failed,
        "partial": False,
    }


def _sum_sizes(items: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("num_bytes_parquet_files", "num_bytes_memory", "num_rows")
    return {key: sum(int(item[key]) for item in items) for key in keys}


@router.get("/api/viewer/statistics")
def statistics(request: Request) -> Any:
    target = Target(request)
    entry = target.entry()
    with target.hub.db.read() as session:
        return service.statistics(session, target.repo, target.revision, entry)


@router.get("/api/viewer/croissant")
def croissant_ld(request: Request) -> Response:
    target = Target(request)
    document = croissant.document(
        name=target.repo.full_id,
        url=f"{base_url(request)}/datasets/{target.repo.full_id}",
        parquet_base=f"{base_url(request)}/datasets/{target.repo.full_id}/resolve/refs%2Fconvert%2Fparquet/",
        entries=[e for e in target.splits() if e.num_rows is not None and e.error_code is None],
    )
    return Response(croissant.dumps(document), media_type="application/ld+json")


@router.get("/api/viewer/assets/{token}")
def asset(request: Request, token: str) -> Response:
    """The bytes of one image or audio cell, by a signed grant handed out with the rows (the
    grant was given to a caller with DOWNLOAD; the URL carries no credentials, like LFS URLs)."""
    hub = hub_of(request)
    ref = assets.verify(hub.signer, token)
    with hub.db.read() as session:
        repo = session.get(Repo, ref.repo_id)
        if repo is None:
            raise RepoNotFoundError()
        session.expunge(repo)
        entries = service.splits(hub, session, repo, ref.revision)
    split = service.open_split(hub, repo, service.find_split(entries, ref.config, ref.split))
    page = rows.read_page(split.shards, ref.row_idx, 1).rows
    cell = page[0][1].get(ref.column) if page else None
    data = cell.get("bytes") if isinstance(cell, dict) else None
    if not isinstance(data, bytes):
        raise service.SplitNotFoundError("No such cell.")
    mime = ref.mime
    if not mime.startswith(("image/", "audio/")):
        mime = "application/octet-stream"
    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    return Response(data, media_type=mime, headers=headers)
