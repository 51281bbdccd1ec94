"""Hostile text in what the browse pages show (collection titles, descriptions and notes, users'
full names) is inert: no script runs in the browser, and the text reads back as typed."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch
from tests.support.server import LiveServer
from tests.web.conftest import log_in
from tests.web.test_browse import FacetRepos, facet_repos, make_user  # noqa: F401 - the shared fixture


def test_hostile_collection_text_is_inert(
    page: Any,
    server: LiveServer,
    ids: Identities,
    facet_repos: FacetRepos,  # noqa: F811
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    marker = uuid.uuid4().hex[:8]
    slugs = []
    for number, payload in enumerate(XSS_PAYLOADS):
        title = f"{marker}{number} {payload}"[:100]
        collection = api.create_collection(title, description=payload[:150])
        api.add_collection_item(collection.slug, item_id=facet_repos.a, item_type="model", note=payload)
        slugs.append(collection.slug)
    watch = ScriptWatch(page)
    log_in(page, "alice")  # the owner sees the edit forms too, where the text sits in inputs
    for slug, payload in zip(slugs, XSS_PAYLOADS, strict=True):
        page.goto(f"/collections/{slug}")
        assert page.locator(".card-note").first.inner_text() == payload
        assert page.locator(".collection-description").inner_text() == payload[:150]
    for url in ("/collections", f"/search?q={marker}", "/alice"):
        page.goto(url)
    assert not watch.ran()


def test_hostile_full_names_are_inert(page: Any, server: LiveServer, ids: Identities) -> None:
    marker = f"x{uuid.uuid4().hex[:8]}"
    for number, payload in enumerate(XSS_PAYLOADS):
        make_user(server, f"{marker}-{number}", payload[:200])
    watch = ScriptWatch(page)
    page.goto(f"/search?q={marker}")
    assert page.get_by_role("region", name="Users").get_by_role("listitem").count() == min(10, len(XSS_PAYLOADS))
    for number, payload in enumerate(XSS_PAYLOADS):
        page.goto(f"/{marker}-{number}")
        assert page.locator(".profile-fullname").inner_text() == payload[:200].strip()
    assert not watch.ran()
