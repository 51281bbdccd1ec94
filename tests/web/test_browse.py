"""Browsing in a real browser: the lists with their facets, sorts and pages, global search,
profiles, and collections (create, edit, add an item from a repo, reorder, annotate, remove).
The repos here carry a random prefix, so every count below is exact whatever else the server holds."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from dockyard.accounts import service as accounts
from dockyard.cli.common import open_hub
from tests.support.accounts import Identities
from tests.support.browser import screenshots, serious_accessibility_violations
from tests.support.server import LiveServer
from tests.web.conftest import Browse, log_in

CARD = """---
pipeline_tag: {task}
library_name: {library}
language:
- {language}
license: {license}
tags:
- {tag}
---
# {name}
"""


@dataclass(frozen=True)
class FacetRepos:
    """``a``, ``b``, ``c`` are public, ``secret`` is alice's private one (same task as a and b)."""

    prefix: str
    a: str
    b: str
    c: str
    secret: str
    tag: str


def _make(
    api: Any, repo_id: str, *, private: bool, task: str, library: str, language: str, license: str, tag: str
) -> None:
    api.create_repo(repo_id, private=private)
    card = CARD.format(task=task, library=library, language=language, license=license, tag=tag, name=repo_id)
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)


@pytest.fixture(scope="session")
def facet_repos(server: LiveServer, ids: Identities) -> FacetRepos:
    from huggingface_hub import HfApi

    prefix = f"fz{uuid.uuid4().hex[:8]}"
    tag = f"{prefix}-tag"
    repos = FacetRepos(prefix, f"alice/{prefix}-a", f"alice/{prefix}-b", f"alice/{prefix}-c", f"alice/{prefix}-s", tag)
    alice = HfApi(endpoint=server.url, token=ids.alice)
    _make(
        alice,
        repos.a,
        private=False,
        task="text-classification",
        library="transformers",
        language="en",
        license="mit",
        tag=tag,
    )
    _make(
        alice,
        repos.b,
        private=False,
        task="text-classification",
        library="transformers",
        language="fr",
        license="apache-2.0",
        tag=tag,
    )
    _make(
        alice,
        repos.c,
        private=False,
        task="image-classification",
        library="timm",
        language="en",
        license="mit",
        tag="vision",
    )
    _make(
        alice,
        repos.secret,
        private=True,
        task="text-classification",
        library="transformers",
        language="en",
        license="mit",
        tag=tag,
    )
    for token, repo_id in ((ids.bob, repos.b), (ids.carol, repos.b), (ids.bob, repos.c)):
        liked = httpx.post(f"{server.url}/api/models/{repo_id}/like", headers={"Authorization": f"Bearer {token}"})
        assert liked.status_code == 200, liked.text
    return repos


def make_user(server: LiveServer, name: str, fullname: str) -> None:
    """A user created straight in the hub's database, as the test identities are."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in server.env.items() if k.startswith("DOCKYARD_")})
    try:
        hub = open_hub(Path(server.data_dir))
        with hub.db.write() as session:
            accounts.create_user(session, name, fullname=fullname)
        hub.db.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def facet_link(page: Any, key: str, value: str) -> Any:
    return page.locator(f'a[data-facet="{key}"]').filter(has=page.locator(".facet-value", has_text=value)).first


def card_ids(page: Any) -> list[str]:
    return [text.strip() for text in page.locator(".repo-card > a").all_inner_texts()]


# -- lists ---------------------------------------------------------------------------------------
def test_search_with_facets_counts_change_and_sort(page: Any, facet_repos: FacetRepos) -> None:
    r = facet_repos
    page.goto(f"/models?search={r.prefix}")
    expect(page.locator(".list-total")).to_have_text("3")
    expect(facet_link(page, "pipeline_tag", "text-classification").locator(".facet-count")).to_have_text("2")
    expect(facet_link(page, "pipeline_tag", "image-classification").locator(".facet-count")).to_have_text("1")
    expect(facet_link(page, "license", "mit").locator(".facet-count")).to_have_text("2")

    facet_link(page, "pipeline_tag", "text-classification").click()
    page.wait_for_url("**pipeline_tag=text-classification**")
    expect(page.locator(".list-total")).to_have_text("2")
    assert sorted(card_ids(page)) == [r.a, r.b]
    expect(facet_link(page, "license", "mit").locator(".facet-count")).to_have_text("1")
    expect(facet_link(page, "language", "fr").locator(".facet-count")).to_have_text("1")

    facet_link(page, "language", "fr").click()
    page.wait_for_url("**language=fr**")
    assert card_ids(page) == [r.b]
    facet_link(page, "language", "fr").click()  # a chosen value removes its filter
    page.wait_for_url(lambda url: "language=" not in url)
    expect(page.locator(".list-total")).to_have_text("2")

    page.get_by_role("link", name="Most likes").click()
    page.wait_for_url("**sort=likes**")
    assert "pipeline_tag=text-classification" in page.url
    assert card_ids(page) == [r.b, r.a]  # b has two likes


def test_other_tags_and_the_search_box(page: Any, facet_repos: FacetRepos) -> None:
    r = facet_repos
    page.goto(f"/models?other={r.tag}")
    expect(page.locator(".list-total")).to_have_text("2")
    page.get_by_label("Filter models by name").fill(f"{r.prefix}-b")
    page.get_by_label("Filter models by name").press("Enter")
    page.wait_for_url("**search=**")
    assert f"other={r.tag}" in page.url  # the search box keeps the chosen facets
    assert card_ids(page) == [r.b]


def test_pages_go_forward_and_back(page: Any, server: LiveServer, ids: Identities) -> None:
    from huggingface_hub import HfApi

    prefix = f"pg{uuid.uuid4().hex[:8]}"
    api = HfApi(endpoint=server.url, token=ids.alice)
    for number in range(31):
        api.create_repo(f"alice/{prefix}-{number:02d}")
    page.goto(f"/models?search={prefix}&sort=created")
    expect(page.get_by_text("Showing 1\u201330 of 31")).to_be_visible()
    assert len(card_ids(page)) == 30
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**p=1**")
    assert card_ids(page) == [f"alice/{prefix}-00"]  # the oldest, last of newest-first
    page.get_by_role("link", name="Previous").click()
    page.wait_for_url(lambda url: "p=1" not in url)
    assert len(card_ids(page)) == 30


def test_every_type_has_its_list(browse: Browse) -> None:
    client = browse(None)
    for plural in ("models", "datasets", "spaces", "kernels"):
        response = client.get(f"/{plural}?sort=downloads&p=bad&pipeline_tag=none-such")
        assert response.status_code == 200
        assert "match these filters" in response.text


def test_home_shows_trending_sections(browse: Browse, facet_repos: FacetRepos) -> None:
    html = browse(None).get("/").text
    for title in ("Trending models", "Trending datasets", "Trending spaces"):
        assert title in html


# -- global search -------------------------------------------------------------------------------
def test_global_search_finds_repos_users_orgs_and_collections(
    page: Any, server: LiveServer, ids: Identities, facet_repos: FacetRepos
) -> None:
    from huggingface_hub import HfApi

    HfApi(endpoint=server.url, token=ids.alice).create_collection(f"{facet_repos.prefix} reading list")
    page.goto("/")
    page.get_by_label("Search models, datasets, users…").fill(facet_repos.prefix)
    page.get_by_label("Search models, datasets, users…").press("Enter")
    page.wait_for_url("**/search?q=**")
    results = page.get_by_role("region", name="Models")
    expect(results.get_by_role("link", name=facet_repos.a)).to_be_visible()
    expect(
        page.get_by_role("region", name="Collections").get_by_role("link", name=f"{facet_repos.prefix} reading list")
    ).to_be_visible()
    page.goto("/search?q=acme")
    expect(page.get_by_role("region", name="Organizations").get_by_role("link", name="acme")).to_be_visible()
    page.goto("/search?q=liddell")
    expect(page.get_by_role("region", name="Users").get_by_role("link", name="alice")).to_be_visible()


# -- profiles ------------------------------------------------------------------------------------
def test_profile_shows_repos_likes_and_memberships(page: Any, facet_repos: FacetRepos) -> None:
    page.goto("/alice")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alice Liddell")
    expect(page.get_by_role("img", name="Avatar of alice")).to_have_attribute("src", "/-/avatars/alice")
    expect(page.get_by_role("link", name="acme")).to_be_visible()
    page.goto("/bob")
    likes = page.get_by_role("region", name="Likes")
    expect(likes.get_by_role("link", name=facet_repos.b)).to_be_visible()
    expect(likes.get_by_role("link", name=facet_repos.c)).to_be_visible()
    page.goto("/acme")
    members = page.get_by_role("region", name="Members")
    for name in ("alice", "carol", "dave"):
        expect(members.get_by_role("link", name=name)).to_be_visible()


def test_unknown_profile_is_a_404_page(browse: Browse) -> None:
    response = browse(None).get("/no-such-account-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


# -- collections ---------------------------------------------------------------------------------
def test_add_a_repo_to_a_new_collection_then_edit_it(page: Any, facet_repos: FacetRepos) -> None:
    r = facet_repos
    title = f"Picks {uuid.uuid4().hex[:6]}"
    log_in(page, "alice")
    page.goto(f"/collections/add?item=model/{r.a}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(r.a)
    page.get_by_label("A new collection").check()
    page.get_by_label("Title of the new collection").fill(title)
    page.get_by_label("Note").fill("The first one")
    page.get_by_role("button", name="Add to collection").click()
    page.wait_for_url("**/collections/alice/picks-**")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".card-note")).to_have_text("The first one")

    page.get_by_text("Add an item").click()
    page.get_by_label("Id (namespace/name)").fill(r.b)
    page.get_by_role("button", name="Add item").click()
    expect(page.locator(".collection-entry")).to_have_count(2)
    page.get_by_role("button", name="Move up item 2").click()
    expect(page.locator(".collection-entry .repo-card > a").first).to_have_text(r.b)

    page.get_by_label("Note for item 1").fill("Now first")
    page.get_by_role("button", name="Save note").first.click()
    expect(page.locator(".card-note").first).to_have_text("Now first")

    page.get_by_text("Edit collection").click()
    page.get_by_label("Title").fill(f"{title} renamed")
    page.get_by_label("Description").fill("Models worth a look")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url("**-renamed-**")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{title} renamed")
    expect(page.locator(".collection-description")).to_have_text("Models worth a look")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove item 2").click()
    expect(page.locator(".collection-entry")).to_have_count(1)


def test_create_a_private_collection_from_the_list(page: Any) -> None:
    title = f"Private shelf {uuid.uuid4().hex[:6]}"
    log_in(page, "dave")
    page.goto("/collections")
    page.get_by_role("link", name="New collection").click()
    page.get_by_label("Owner", exact=True).select_option("acme")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Private").check()
    page.get_by_role("button", name="Create collection").click()
    page.wait_for_url("**/collections/acme/private-shelf-**")
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    page.goto("/collections/new")
    page.get_by_label("Owner", exact=True).select_option("acme")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")


# -- quality -------------------------------------------------------------------------------------
def test_main_browse_pages_are_accessible_and_pictured(
    page: Any, server: LiveServer, ids: Identities, facet_repos: FacetRepos
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    collection = api.create_collection(f"Pictured {uuid.uuid4().hex[:6]}", description="For the screenshots")
    api.add_collection_item(collection.slug, item_id=facet_repos.a, item_type="model", note="A note")
    log_in(page, "alice")
    for name, url in (
        ("home", "/"),
        ("models", f"/models?search={facet_repos.prefix}"),
        ("profile", "/alice"),
        ("collection", f"/collections/{collection.slug}"),
        ("search", f"/search?q={facet_repos.prefix}"),
    ):
        page.goto(url)
        assert serious_accessibility_violations(page) == [], name
        assert all(path.stat().st_size > 0 for path in screenshots(page, f"browse-{name}"))


def test_author_narrows_a_list_to_one_namespace(browse: Browse, facet_repos: FacetRepos) -> None:
    html = browse(None).get(f"/models?author=alice&search={facet_repos.prefix}").text
    assert 'data-total="3"' in html
    assert 'data-total="0"' in browse(None).get(f"/models?author=acme&search={facet_repos.prefix}").text
