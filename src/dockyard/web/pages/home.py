"""The home page: what is trending among the models, datasets and spaces the viewer may see."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dockyard.identifiers import RepoType
from dockyard.repos.models import Repo
from dockyard.request_context import hub_of
from dockyard.search.listing import ListQuery, list_repos
from dockyard.web.templating import render
from dockyard.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)

TRENDING_COUNT = 8
SECTIONS = (
    (RepoType.MODEL, "Trending models"),
    (RepoType.DATASET, "Trending datasets"),
    (RepoType.SPACE, "Trending spaces"),
)


def trending(request: Request) -> list[tuple[RepoType, str, list[Repo]]]:
    """Each section's repos by trending score, through the listing's visibility rule."""
    caller = viewer_of(request).caller
    with hub_of(request).db.read() as session:
        return [
            (
                kind,
                title,
                list_repos(session, caller, ListQuery(repo_type=kind, sort="trending"), page_size=TRENDING_COUNT),
            )
            for kind, title in SECTIONS
        ]


@router.get("/")
def home(request: Request) -> Response:
    return render(request, "home.html", sections=trending(request))
