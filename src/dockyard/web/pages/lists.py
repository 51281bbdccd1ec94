"""``/models``, ``/datasets``, ``/spaces``, ``/kernels``: a search box, facet filters with counts,
sorts and pages, all as plain GET links and forms (no script needed), with the Hub's parameters."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.identifiers import RepoType
from dockyard.request_context import hub_of
from dockyard.search.facets import PAGE_SIZE, SORT_LABELS, PageQuery, list_page
from dockyard.web.templating import TEMPLATES, render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)


def compact(number: int) -> str:
    """Counts as the Hub prints them on cards: 950, 1.2k, 3.4M."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if number >= limit:
            return f"{number / limit:.1f}".removesuffix(".0") + suffix
    return str(number)


def day(moment: datetime) -> str:
    return moment.strftime("%b %-d, %Y")


# The card macros (templates/lists/_cards.html) use these on every browse page.
TEMPLATES.filters["compact"] = compact
TEMPLATES.filters["day"] = day

TITLES = {RepoType.MODEL: "Models", RepoType.DATASET: "Datasets", RepoType.SPACE: "Spaces", RepoType.KERNEL: "Kernels"}


def _list_page(request: Request, kind: RepoType) -> Response:
    params = request.query_params
    query = PageQuery.from_params(kind, params, params.getlist("other"))
    with hub_of(request).db.read() as session:
        listing = list_page(session, viewer_of(request).caller, query)

    def link(**changes: str | None) -> str:
        """This list's URL with ``changes`` applied (facet toggles, sorts, pages)."""
        encoded = urlencode(query.params(**changes), doseq=True)
        return f"/{kind.plural}" + (f"?{encoded}" if encoded else "")

    def toggle(key: str, value: str) -> str:
        """The link of a facet value: adds it, or removes it when already chosen."""
        if key == "other":
            chosen = list(query.other)
            others = [o for o in chosen if o != value] if value in chosen else [*chosen, value]
            encoded = urlencode({**query.params(p=None), "other": others}, doseq=True)
            return f"/{kind.plural}?{encoded}" if encoded else f"/{kind.plural}"
        return link(**{key: None if getattr(query, key) == value else value})

    return render(
        request,
        "lists/list.html",
        kind=kind,
        title=TITLES[kind],
        query=query,
        listing=listing,
        sorts=SORT_LABELS,
        link=link,
        toggle=toggle,
        first=query.page * PAGE_SIZE + 1,
    )


@router.get("/models")
def models(request: Request) -> Response:
    return _list_page(request, RepoType.MODEL)


@router.get("/datasets")
def datasets(request: Request) -> Response:
    return _list_page(request, RepoType.DATASET)


@router.get("/spaces")
def spaces(request: Request) -> Response:
    return _list_page(request, RepoType.SPACE)


@router.get("/kernels")
def kernels(request: Request) -> Response:
    return _list_page(request, RepoType.KERNEL)
