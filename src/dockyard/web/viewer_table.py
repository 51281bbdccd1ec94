"""The dataset page's viewer table, server-rendered: the config/split switcher, the row count, a
page of rows (long text in a ``<details>``, images inline, audio playable), column histograms from
the cached statistics, search and filter boxes, pagination, and the steps' status with their
errors. It works without JavaScript; ``viewer.js`` only swaps the table in place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa  # type: ignore[import-untyped]
from fastapi import Request

from dockyard.errors import BadRequestError, DockyardError
from dockyard.hub import Hub
from dockyard.repos.models import Repo
from dockyard.request_context import base_url, hub_of
from dockyard.viewer import assets, query, rows, service
from dockyard.viewer.catalog import SplitEntry, processing_status
from dockyard.viewer.errors import ViewerNotReadyError, ViewerStepFailedError

PAGE = 25
LONG_TEXT = 200
BARS = 10


@dataclass(frozen=True, slots=True)
class Cell:
    kind: str  # null, text, long, image, audio
    text: str = ""
    src: str = ""
    mime: str = ""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    bars: list[tuple[int, str]]  # (height 0-20, tooltip) per histogram bar


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str
    current: bool = False


@dataclass
class ViewerTable:
    """Everything ``repo/_viewer.html`` shows."""

    action: str
    status: list[tuple[str, str]] = field(default_factory=list)  # (step, status)
    errors: list[str] = field(default_factory=list)
    message: str | None = None
    switcher: list[Link] = field(default_factory=list)
    config: str = ""
    split: str = ""
    num_rows: int | None = None
    matched: int | None = None
    columns: list[Column] = field(default_factory=list)
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    pages: list[Link] = field(default_factory=list)
    q: str = ""
    where: str = ""


def _cell(value: Any) -> Cell:
    if value is None:
        return Cell("null", "null")
    if isinstance(value, dict) and "src" in value:
        return Cell("image", src=str(value["src"]))
    if isinstance(value, list) and value and isinstance(value[0], dict) and "src" in value[0]:
        return Cell("audio", src=str(value[0]["src"]), mime=str(value[0].get("type", "")))
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return Cell("long" if len(text) > LONG_TEXT else "text", text)


def _bars(stat: dict[str, Any] | None) -> list[tuple[int, str]]:
    if not stat:
        return []
    stats = stat["column_statistics"]
    histogram = stats.get("histogram")
    if histogram:
        counts, edges = histogram["hist"], histogram["bin_edges"]
        labels = [f"{edges[i]} to {edges[i + 1]}: {n}" for i, n in enumerate(counts)]
    elif stats.get("frequencies"):
        items = list(stats["frequencies"].items())[:BARS]
        total = sum(stats["frequencies"].values()) or 1
        counts = [n for _, n in items]
        labels = [f"{k}: {n} ({100 * n / total:.1f}%)" for k, n in items]
    else:
        return []
    top = max(counts) or 1
    return [(max(1, round(20 * n / top)) if n else 0, label) for n, label in zip(counts, labels, strict=True)]


def _status(hub: Hub, repo: Repo, revision: str, table: ViewerTable) -> None:
    with hub.db.read() as session:
        steps = processing_status(hub, session, repo, revision)
    table.status = [(name, state["status"]) for name, state in steps.items()]
    for name, state in steps.items():
        for error in state["errors"]:
            where = "/".join(part for part in (error["config"], error["split"]) if part)
            table.errors.append(f"{name} {where}: {error['error_code']}: {error['error']}".replace("  ", " "))


def _href(action: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", 0)}
    return f"{action}?{urlencode(kept)}#viewer" if kept else f"{action}#viewer"


def build(request: Request, repo: Repo, action: str) -> ViewerTable:
    """The table for the dataset page; every failure becomes a message, never a page error."""
    hub = hub_of(request)
    table = ViewerTable(action=action)
    revision = repo.sha
    if revision is None:
        table.message = "This dataset has no data yet."
        return table
    _status(hub, repo, revision, table)
    try:
        with hub.db.read() as session:
            entries = service.splits(hub, session, repo, revision)
    except ViewerNotReadyError:
        table.message = "The dataset viewer is processing this revision."
        return table
    except ViewerStepFailedError as error:
        table.message = f"The dataset viewer is not available: {error.code}: {error.message}"
        return table
    if not entries:
        table.message = "No splits were found."
        return table
    try:
        _fill(request, hub, repo, revision, entries, table)
    except (DockyardError, OSError, pa.ArrowException) as error:  # a missing or unreadable shard
        table.message = f"The split cannot be read: {getattr(error, 'message', None) or error}"
        table.rows, table.columns = [], []
    return table


def _choose(request: Request, entries: list[SplitEntry]) -> SplitEntry:
    config, split = request.query_params.get("config"), request.query_params.get("split")
    for entry in entries:
        if entry.config == config and entry.split == split:
            return entry
    return entries[0]


def _fill(request: Request, hub: Hub, repo: Repo, revision: str, entries: list[SplitEntry], table: ViewerTable) -> None:
    entry = _choose(request, entries)
    table.config, table.split = entry.config, entry.split
    table.switcher = [
        Link(f"{e.config} / {e.split}" + (f" ({e.num_rows:,})" if e.num_rows is not None else ""),
             _href(table.action, config=e.config, split=e.split), e is entry)
        for e in entries
    ]  # fmt: skip
    if entry.error_code is not None:
        table.message = f"This split could not be converted: {entry.error_code}: {entry.error}"
        return
    if entry.num_rows is None:
        table.message = "This split is being converted."
        return
    split = service.open_split(hub, repo, entry)
    table.num_rows = split.num_rows
    table.q = (request.query_params.get("q") or "").strip()[: query.MAX_QUERY_LENGTH]
    table.where = (request.query_params.get("where") or "").strip()[:1000]
    _columns(hub, repo, revision, split, table)
    _page(request, hub, repo, revision, split, table)


def _columns(hub: Hub, repo: Repo, revision: str, split: service.OpenSplit, table: ViewerTable) -> None:
    try:
        with hub.db.read() as session:
            stats = service.statistics(session, repo, revision, split.entry)
    except (ViewerNotReadyError, ViewerStepFailedError):
        stats = {"statistics": []}
    by_name = {s["column_name"]: s for s in stats["statistics"]}
    table.columns = [
        Column(name, by_name[name]["column_type"] if name in by_name else _type_name(feature), _bars(by_name.get(name)))
        for name, feature in split.features.items()
    ]


def _type_name(feature: Any) -> str:
    if isinstance(feature, dict):
        return str(feature.get("dtype") or feature.get("_type") or "struct")
    return "list"


def _page(request: Request, hub: Hub, repo: Repo, revision: str, split: service.OpenSplit, table: ViewerTable) -> None:
    try:
        number = max(0, int(request.query_params.get("p") or 0))
    except ValueError:
        number = 0
    offset = number * PAGE
    try:
        if table.q:
            index = service.search_index_file(hub, repo, revision, split.entry)
            hits = query.search_rows(
                split.shards, split.schema, split.features, query=table.q, offset=offset, length=PAGE, index=index
            )
        elif table.where:
            hits = query.filter_rows(
                split.shards, split.schema, split.features, where=table.where, orderby=None, offset=offset, length=PAGE
            )
        else:
            hits = None
    except BadRequestError as error:
        table.message = f"Invalid filter: {error.message}"
        return
    if hits is None:
        found = rows.read_page(split.shards, offset, PAGE).rows
        total = split.num_rows
    else:
        by_index = rows.rows_by_index(split.shards, hits.row_indexes)
        found = [(i, by_index[i]) for i in hits.row_indexes if i in by_index]
        total = table.matched = hits.total
    url = assets.url_maker(hub.signer, base_url(request), repo.id, revision, split.entry.config, split.entry.split)
    rendered = rows.render_rows(found, split.features, url)
    table.rows = [(r["row_idx"], [_cell(r["row"].get(name)) for name in split.features]) for r in rendered]
    table.pages = _pages(table, number, total)


def _pages(table: ViewerTable, number: int, total: int) -> list[Link]:
    last = max(0, (total - 1) // PAGE)
    wanted = sorted({0, number - 1, number, number + 1, last} & set(range(last + 1)))
    common = {"config": table.config, "split": table.split, "q": table.q, "where": table.where}
    return [Link(str(p + 1), _href(table.action, **common, p=p), p == number) for p in wanted]
