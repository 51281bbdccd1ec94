"""Who sees what on the browse pages: private repos and collections never appear in a list, a
count, a search result or a profile for someone who may not see them; only owners and writing
members change a collection."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of
from tests.web.matrix import VIEWERS, WebRepos, visit
from tests.web.test_browse import FacetRepos, facet_repos  # noqa: F401 - the shared fixture

# Which viewers may see each of the shared repos (matrix.py).
SEES = {
    "public": set(VIEWERS),
    "gated": set(VIEWERS),  # gated: the card and the listing are public, as on the Hub
    "private": {"alice"},
    "org_private": {"carol", "dave", "alice"},
}
PAGES = ("/models?search=web-", "/search?q=web-", "/alice", "/acme")


def _shown(html: str, repo_id: str) -> bool:
    return f'href="/{repo_id}"' in html


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("url", PAGES)
def test_lists_search_and_profiles_show_only_visible_repos(
    browse: Browse, web_repos: WebRepos, viewer: str, url: str
) -> None:
    response = visit(browse, viewer, url)
    assert response.status_code == 200
    for key, allowed in SEES.items():
        repo_id = getattr(web_repos, key)
        if url in ("/alice", "/acme"):
            if not repo_id.startswith(url[1:] + "/"):
                continue  # a profile lists its own repos only
            if viewer in allowed:
                # A profile shows the newest repos of each type: on the shared server other tests'
                # newer repos may push these off it (lists and search above show them). A repo the
                # viewer may not see must never be there.
                continue
        assert _shown(response.text, repo_id) == (viewer in allowed), (key, viewer, url)


@pytest.mark.parametrize("viewer", ["anonymous", "bob"])
def test_the_home_page_never_shows_private_repos_to_outsiders(browse: Browse, web_repos: WebRepos, viewer: str) -> None:
    html = visit(browse, viewer, "/").text
    assert not _shown(html, web_repos.private)
    assert not _shown(html, web_repos.org_private)


def _total(html: str) -> int:
    found = re.search(r'data-total="(\d+)"', html)
    assert found is not None
    return int(found.group(1))


def _facet_count(html: str, key: str, value: str) -> int:
    found = re.search(
        rf'data-facet="{key}">(?:<span[^>]*>[^<]*</span>)*<span class="facet-value">{re.escape(value)}</span> '
        r'<span class="facet-count">(\d+)</span>',
        html,
    )
    assert found is not None, (key, value)
    return int(found.group(1))


@pytest.mark.parametrize(
    ("viewer", "expected"), [("anonymous", 3), ("bob", 3), ("carol", 3), ("dave", 3), ("alice", 4)]
)
def test_counts_leave_out_private_repos(browse: Browse, facet_repos: FacetRepos, viewer: str, expected: int) -> None:  # noqa: F811
    html = visit(browse, viewer, f"/models?search={facet_repos.prefix}").text
    assert _total(html) == expected
    private_counted = expected - 3
    assert _facet_count(html, "pipeline_tag", "text-classification") == 2 + private_counted
    assert _facet_count(html, "library", "transformers") == 2 + private_counted
    assert _facet_count(html, "license", "mit") == 2 + private_counted
    assert _facet_count(html, "language", "en") == 2 + private_counted
    assert _facet_count(html, "other", facet_repos.tag) == 2 + private_counted
    assert _shown(html, facet_repos.secret) == (viewer == "alice")


@dataclass(frozen=True)
class Collections:
    public: str
    alice_private: str
    acme_private: str
    title: str  # the common part of the three titles, for search


@pytest.fixture(scope="module")
def collections(server: LiveServer, ids: Identities) -> Collections:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    marker = f"shelf{uuid.uuid4().hex[:8]}"
    public = api.create_collection(f"{marker} public")
    mine = api.create_collection(f"{marker} alice private", private=True)
    acme = api.create_collection(f"{marker} acme private", namespace="acme", private=True)
    return Collections(public.slug, mine.slug, acme.slug, marker)


COLLECTION_SEES = {
    "public": set(VIEWERS),
    "alice_private": {"alice"},
    "acme_private": {"carol", "dave", "alice"},
}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("key", list(COLLECTION_SEES))
def test_a_private_collection_is_a_404_for_outsiders(
    browse: Browse, collections: Collections, viewer: str, key: str
) -> None:
    slug = getattr(collections, key)
    response = visit(browse, viewer, f"/collections/{slug}")
    assert response.status_code == (200 if viewer in COLLECTION_SEES[key] else 404)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize(
    "url", ["/collections", "/search?q={title}", "/alice", "/acme", "/collections/alice", "/collections/acme"]
)
def test_private_collections_are_left_out_of_lists(
    browse: Browse, collections: Collections, viewer: str, url: str
) -> None:
    html = visit(browse, viewer, url.format(title=collections.title)).text
    for key, allowed in COLLECTION_SEES.items():
        slug = getattr(collections, key)
        if viewer not in allowed:
            assert f"/collections/{slug}" not in html, (key, viewer, url)
        elif url.startswith("/search") or url == f"/collections/{slug.split('/')[0]}":
            # (a profile shows only its newest collections: on a busy hub, not necessarily these)
            assert f"/collections/{slug}" in html, (key, viewer, url)


@pytest.mark.parametrize(("viewer", "status"), [("bob", 403), ("carol", 403), ("dave", 303), ("alice", 303)])
def test_only_writers_edit_an_org_collection(
    browse: Browse, server: LiveServer, ids: Identities, viewer: str, status: int
) -> None:
    from huggingface_hub import HfApi

    slug = (
        HfApi(endpoint=server.url, token=ids.alice)
        .create_collection(f"Edit {uuid.uuid4().hex[:8]}", namespace="acme")
        .slug
    )
    client = browse(viewer)
    token = csrf_of(client.get("/").text)
    form = {"_csrf": token, "title": "Changed", "description": "", "theme": "blue"}
    assert client.post(f"/collections/{slug}/edit", data=form).status_code == status
    assert client.post(f"/collections/{slug}/delete", data={"_csrf": token}).status_code == status


def test_adding_a_private_repo_to_a_collection_is_a_404_for_outsiders(browse: Browse, web_repos: WebRepos) -> None:
    assert visit(browse, "bob", f"/collections/add?item=model/{web_repos.private}").status_code == 404
    assert visit(browse, "alice", f"/collections/add?item=model/{web_repos.private}").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in_before_collecting(browse: Browse, web_repos: WebRepos) -> None:
    response = visit(browse, "anonymous", f"/collections/add?item=model/{web_repos.public}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/collections/add")


def test_a_repo_made_private_leaves_the_counts_at_once(browse: Browse, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    prefix = f"flip{uuid.uuid4().hex[:8]}"
    for name in ("one", "two"):
        api.create_repo(f"alice/{prefix}-{name}")
    client = browse(None)
    assert _total(client.get(f"/models?search={prefix}").text) == 2  # counted, and cached
    api.update_repo_settings(f"alice/{prefix}-two", private=True)
    html = client.get(f"/models?search={prefix}").text
    assert _total(html) == 1
    assert not _shown(html, f"alice/{prefix}-two")
