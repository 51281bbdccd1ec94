"""Hostile file names and file contents on the files pages stay text: no payload of the corpus
runs (checked in the browser) and none reaches the HTML unescaped."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.accounts import Identities
from tests.support.browser import XSS_PAYLOADS, ScriptWatch
from tests.support.server import LiveServer
from tests.web.conftest import Browse

CORPUS = "\n\n".join(XSS_PAYLOADS).encode()
RAW_MARKERS = (
    "<script>window.__xss",
    "<img src=x onerror",
    "<svg onload",
    "<details open ontoggle",
    '<a href="javascript:',
)


@pytest.fixture(scope="module")
def hostile_repo(server: LiveServer, ids: Identities) -> tuple[str, list[str]]:
    """alice's repo with a file named after each payload (a ``/`` in one makes folders), and an
    .md and an .html file holding the whole corpus."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo_id = f"alice/hostile-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    names = [f"{payload}.txt" for payload in XSS_PAYLOADS] + ["corpus.md", "corpus.html"]
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=CORPUS) for name in names]
    api.create_commit(repo_id, operations=operations, commit_message="<script>window.__xss=1</script> files")
    return repo_id, names


def _pages(repo_id: str, names: list[str]) -> list[str]:
    folders = {name.rsplit("/", 1)[0] for name in names if "/" in name}
    return (
        [f"/{repo_id}/tree/main"]
        + [f"/{repo_id}/tree/main/{quote(folder)}" for folder in sorted(folders)]
        + [f"/{repo_id}/blob/main/{quote(name)}" for name in names]
        + [f"/{repo_id}/blob/main/corpus.md?plain=1"]
    )


def test_hostile_names_and_contents_are_escaped(browse: Browse, hostile_repo: tuple[str, list[str]]) -> None:
    repo_id, names = hostile_repo
    client = browse(None)
    for url in _pages(repo_id, names):
        response = client.get(url)
        assert response.status_code == 200, url
        for marker in RAW_MARKERS:
            assert marker not in response.text, (url, marker)


def test_no_payload_runs_in_the_browser(page: Any, hostile_repo: tuple[str, list[str]]) -> None:
    repo_id, names = hostile_repo
    watch = ScriptWatch(page)
    for url in _pages(repo_id, names):
        page.goto(url)
        assert page.locator("h1.repo-title").count() == 1, url  # the page itself rendered
        assert not watch.ran(), url
    page.goto(f"/{repo_id}/tree/main")
    page.get_by_role("link", name="[link](javascript:window.__xss=1).txt", exact=True).click()
    page.wait_for_url("**/blob/main/**")
    assert not watch.ran()
