"""What the repo page shows, gathered in one read: the card (README.md at the default branch,
its front matter as data and chips), the sidebar facts, the viewer's like and access request,
and the "Use this model" snippets. The page handler only renders what this returns."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dockyard.auth.access import Viewer as AccessViewer
from dockyard.auth.access import visible_clause
from dockyard.db.base import utcnow
from dockyard.errors import InvalidNameError, RevisionNotFoundError
from dockyard.gating.models import AccessRequest
from dockyard.gating.service import required_fields
from dockyard.identifiers import RepoId, RepoType
from dockyard.repos.cards import as_list, parse_card
from dockyard.repos.git_repo import FileEntry
from dockyard.repos.git_storage import DEFAULT_BRANCH
from dockyard.repos.models import Like, Repo, RepoDownloadDay, RepoTag
from dockyard.request_context import base_url, hub_of
from dockyard.scanning import service as scanning
from dockyard.web.markdown import LinkBase, render_markdown
from dockyard.web.repo_pages import RepoPage
from dockyard.web.repo_snippets import Snippet, snippets_for
from dockyard.web.viewer import viewer_of

CHART_DAYS = 30
CACHE_SIZE = 512
K = TypeVar("K")
V = TypeVar("V")
FINETUNES_SHOWN = 5
_CHART_WIDTH, _CHART_HEIGHT = 300, 48


@dataclass(frozen=True, slots=True)
class Chip:
    label: str
    value: str
    href: str


@dataclass(frozen=True, slots=True)
class CardView:
    """The README: sanitised HTML of its body, and its YAML front matter as rows and chips."""

    html: Markup | None
    rows: list[tuple[str, str, bool]]  # (key, text, is_block) of the front matter
    chips: list[Chip]
    errors: list[str]
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Bar:
    day: str
    count: int
    x: float
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class Downloads:
    """Downloads over the last 30 days, from the per-day counts (days without a row drew none)."""

    last_month: int
    bars: list[Bar]
    width: int = _CHART_WIDTH
    height: int = _CHART_HEIGHT


@dataclass(frozen=True, slots=True)
class GateField:
    name: str
    kind: str  # "text", "checkbox", "date", "select"
    options: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Gate:
    """The gated banner: the owner's heading, prompt and questions, and the viewer's request."""

    mode: str
    status: str | None  # None (never asked), "pending", "accepted", "rejected"
    heading: str
    prompt: str
    button: str
    fields: list[GateField]


@dataclass(frozen=True, slots=True)
class Params:
    total: str
    by_dtype: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RepoLink:
    """A repo named by a card; ``href`` is None when the name is no valid repo id (shown as text)."""

    repo_id: str
    href: str | None


def _repo_link(prefix: str, repo_id: str) -> RepoLink:
    """Card values are untrusted: only a valid id becomes a link (``/evil.example`` would
    otherwise become the off-site ``//evil.example``)."""
    try:
        RepoId.parse(repo_id)
    except InvalidNameError:
        return RepoLink(repo_id, None)
    return RepoLink(repo_id, f"{prefix}/{repo_id}")


@dataclass(frozen=True, slots=True)
class RepoView:
    page: RepoPage
    kind: RepoType
    card: CardView
    downloads: Downloads
    likes: int
    liked: bool
    params: Params | None
    facts: list[tuple[str, list[Chip]]]
    base_models: list[RepoLink]
    finetunes: list[RepoLink]
    finetune_count: int
    datasets: list[RepoLink]
    security: dict[str, Any] | None
    gate: Gate | None
    snippets: list[Snippet]
    collection_url: str


def build_repo_view(request: Request, page: RepoPage) -> RepoView:
    """Everything the page shows; one database session and one git handle."""
    hub = hub_of(request)
    caller = viewer_of(request).caller
    repo, kind = page.repo, RepoType(page.repo.type)
    git = hub.git.open(repo.uid)
    commit_id = _default_commit(git)
    card = _card(git, kind, page.url, commit_id)
    with hub.db.read() as session:
        liked = caller.user is not None and session.get(Like, (caller.user.id, repo.id)) is not None
        finetunes, finetune_count = _finetunes(session, caller, repo)
        security = _security_status(session, hub, repo, commit_id) if commit_id else None
        status = _request_status(session, repo, caller.user.id) if caller.user is not None and repo.gated else None
        downloads = _downloads(session, repo)
        likes = session.scalar(select(Repo.likes).where(Repo.id == repo.id)) or 0
    library = repo.library_name or _first(card.data.get("library_name"))
    pipeline_tag = repo.pipeline_tag or _first(card.data.get("pipeline_tag"))
    return RepoView(
        page=page,
        kind=kind,
        card=card,
        downloads=downloads,
        likes=likes,
        liked=liked,
        params=_params(repo.safetensors),
        facts=_facts(kind, card.data, pipeline_tag, library),
        base_models=[_repo_link("", b) for b in as_list(card.data.get("base_model"))],
        finetunes=finetunes,
        finetune_count=finetune_count,
        datasets=[_repo_link("/datasets", d) for d in as_list(card.data.get("datasets"))],
        security=security,
        gate=_gate(repo, status) if repo.gated else None,
        snippets=snippets_for(
            kind, repo.full_id, base_url=base_url(request), pipeline_tag=pipeline_tag, library=library
        ),
        collection_url=f"/collections/add?{urlencode({'item': f'{kind.value}/{repo.full_id}'})}",
    )


def _default_commit(git: Any) -> str | None:
    if git.is_empty():
        return None
    try:
        commit_id: str = git.resolve(DEFAULT_BRANCH).commit_id
    except RevisionNotFoundError:
        return None
    return commit_id


def _first(value: Any) -> str | None:
    found = as_list(value)
    return found[0] if found else None


# -- the card -------------------------------------------------------------------------------------
def _card(git: Any, kind: RepoType, repo_url: str, commit_id: str | None) -> CardView:
    entry = git.entry(commit_id, "README.md") if commit_id else None
    if not isinstance(entry, FileEntry):
        return _card_view(kind, repo_url, None)
    key = (repo_url, kind.value, entry.blob_id)
    card = _CARDS.get(key)
    if card is None:
        card = _card_view(kind, repo_url, git.read_blob(entry.blob_id))
        _CARDS.keep(key, card)
    return card


def _card_view(kind: RepoType, repo_url: str, readme: bytes | None) -> CardView:
    if readme is None:
        return CardView(html=None, rows=[], chips=[], errors=[], data={})
    parsed = parse_card(readme.decode("utf-8", errors="replace"))
    html = render_markdown(parsed.body, links=LinkBase(repo_url, DEFAULT_BRANCH)) if parsed.body.strip() else None
    rows = [_row(str(key), value) for key, value in parsed.data.items()]
    return CardView(
        html=html, rows=rows, chips=_chips(kind, parsed.data), errors=parsed.errors + parsed.warnings, data=parsed.data
    )


def _row(key: str, value: Any) -> tuple[str, str, bool]:
    """A front-matter value as text: scalars and lists of scalars on one line, the rest as YAML-like JSON."""
    if isinstance(value, str | int | float | bool) or value is None:
        return key, "" if value is None else str(value), False
    if isinstance(value, list) and all(isinstance(item, str | int | float | bool) for item in value):
        return key, ", ".join(str(item) for item in value), False
    return key, json.dumps(value, indent=2, ensure_ascii=False), True


def _list_url(kind: RepoType, **query: str) -> str:
    return f"/{kind.plural}?{urlencode(query)}"


def _chips(kind: RepoType, data: dict[str, Any]) -> list[Chip]:
    """The Hub's chips under the title: task, library, languages, license, datasets, other tags."""
    chips: list[Chip] = []
    for task in as_list(data.get("pipeline_tag")) + as_list(data.get("task_categories")):
        chips.append(Chip("Task", task, _list_url(kind, pipeline_tag=task)))
    for library in as_list(data.get("library_name")):
        chips.append(Chip("Library", library, _list_url(kind, library=library)))
    for language in as_list(data.get("language")):
        chips.append(Chip("Language", language, _list_url(kind, language=language)))
    for license_name in as_list(data.get("license")):
        chips.append(Chip("License", license_name, _list_url(kind, license=license_name)))
    for dataset in as_list(data.get("datasets")):
        chips.append(Chip("Dataset", dataset, f"/datasets/{quote(dataset, safe='/')}"))
    for tag in as_list(data.get("tags")):
        chips.append(Chip("Tag", tag, _list_url(kind, other=tag)))
    return chips


def _facts(
    kind: RepoType, data: dict[str, Any], pipeline_tag: str | None, library: str | None
) -> list[tuple[str, list[Chip]]]:
    """The sidebar's task, library, license and languages, linked to the filtered list."""
    facts: list[tuple[str, list[Chip]]] = []
    if pipeline_tag:
        facts.append(("Task", [Chip("Task", pipeline_tag, _list_url(kind, pipeline_tag=pipeline_tag))]))
    if library:
        facts.append(("Library", [Chip("Library", library, _list_url(kind, library=library))]))
    licenses = as_list(data.get("license"))
    if licenses:
        facts.append(("License", [Chip("License", x, _list_url(kind, license=x)) for x in licenses]))
    languages = as_list(data.get("language"))
    if languages:
        facts.append(("Languages", [Chip("Language", x, _list_url(kind, language=x)) for x in languages]))
    return facts


# -- the sidebar ----------------------------------------------------------------------------------
def _downloads(session: Session, repo: Repo) -> Downloads:
    """Per-day bars for the last 30 days (the same window as ``repos.downloads.recent_downloads``)."""
    today = utcnow().date()
    days = [(today - timedelta(days=offset)).isoformat() for offset in range(CHART_DAYS - 1, -1, -1)]
    rows = session.execute(
        select(RepoDownloadDay.day, RepoDownloadDay.count).where(
            RepoDownloadDay.repo_id == repo.id, RepoDownloadDay.day >= days[0]
        )
    )
    counts = {day: int(count) for day, count in rows}
    peak = max(counts.values(), default=0) or 1
    step = _CHART_WIDTH / CHART_DAYS
    bars = []
    for index, day in enumerate(days):
        count = counts.get(day, 0)
        height = max(1.0, (_CHART_HEIGHT - 2) * count / peak) if count else 0.0
        bars.append(Bar(day, count, round(index * step, 2), round(_CHART_HEIGHT - height, 2), round(height, 2)))
    return Downloads(last_month=sum(counts.get(day, 0) for day in days), bars=bars)


def _finetunes(session: Session, caller: Any, repo: Repo) -> tuple[list[RepoLink], int]:
    """Models whose card names this one as ``base_model``: only those the viewer may see."""
    if repo.type != RepoType.MODEL.value:
        return [], 0
    where = (
        RepoTag.tag == f"base_model:{repo.full_id}",
        Repo.type == RepoType.MODEL.value,
        visible_clause(AccessViewer.of(caller)),
    )
    base = select(Repo).join(RepoTag, RepoTag.repo_id == Repo.id).where(*where)
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    found = session.scalars(base.order_by(Repo.downloads.desc(), Repo.id).limit(FINETUNES_SHOWN))
    return [RepoLink(r.full_id, f"/{r.full_id}") for r in found], count


class _Kept(Generic[K, V]):
    """A small least-recently-used map shared by the request threads of one process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def keep(self, key: K, value: V) -> None:
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


# Walking a commit's tree for its scan status is most of the page's time in a repo of 1,000
# files. A commit's files never change and a final scan result is stored once per content, so
# once every scan of a commit is done its answer stays the same (until a new scanner version,
# which comes with a restart). Answers with scans still queued are never kept.
_FINAL_SCANS: _Kept[tuple[str, str], dict[str, Any]] = _Kept(CACHE_SIZE)
# A card is a pure function of the README's bytes and the repo's URL: keyed by both.
_CARDS: _Kept[tuple[str, str, str], CardView] = _Kept(CACHE_SIZE)


def _security_status(session: Session, hub: Any, repo: Repo, commit_id: str) -> dict[str, Any]:
    key = (repo.uid, commit_id)
    status = _FINAL_SCANS.get(key)
    if status is None:
        status = scanning.repo_security_status(session, hub, repo, commit_id)
        if status.get("scansDone"):
            _FINAL_SCANS.keep(key, status)
    return status


def _request_status(session: Session, repo: Repo, user_id: int) -> str | None:
    return session.scalar(
        select(AccessRequest.status).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == user_id)
    )


def _gate(repo: Repo, status: str | None) -> Gate:
    data = repo.card_data or {}
    fields = [_gate_field(str(name), spec) for name, spec in required_fields(repo).items()]
    return Gate(
        mode=repo.gated or "",
        status=status,
        heading=_text(data.get("extra_gated_heading"))
        or f"You need to agree to share your contact information to access {repo.full_id}",
        prompt=_text(data.get("extra_gated_prompt"))
        or "The owners of this repository ask you to answer a few questions before you can download its files.",
        button=_text(data.get("extra_gated_button_content")) or "Agree and access repository",
        fields=fields,
    )


def _gate_field(name: str, spec: Any) -> GateField:
    """The Hub's ``extra_gated_fields`` values: ``text``, ``checkbox``, ``date_picker``,
    ``country`` or ``{type: select, options: [...]}``."""
    if isinstance(spec, dict) and spec.get("type") == "select":
        options = [str(o.get("label", o.get("value")) if isinstance(o, dict) else o) for o in spec.get("options") or []]
        return GateField(name, "select", options)
    kinds = {"checkbox": "checkbox", "date_picker": "date"}
    return GateField(name, kinds.get(spec if isinstance(spec, str) else "", "text"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _params(safetensors: dict[str, Any] | None) -> Params | None:
    if not safetensors or not isinstance(safetensors.get("parameters"), dict):
        return None
    by_dtype = sorted(safetensors["parameters"].items(), key=lambda item: -int(item[1]))
    return Params(
        total=human_count(int(safetensors.get("total") or 0)),
        by_dtype=[(str(dtype), human_count(int(count))) for dtype, count in by_dtype],
    )


def human_count(value: int) -> str:
    """``7241732096`` → ``7.24B``: how the Hub prints model sizes."""
    for limit, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k")):
        if value >= limit:
            return f"{value / limit:.3g}{suffix}"
    return str(value)
