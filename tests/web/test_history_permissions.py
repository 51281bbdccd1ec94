"""Who sees the history pages: the commit list follows the repo's visibility; a commit's diff and a
comparison are file content, so a gated repo shows them only after access is granted."""

from __future__ import annotations

import uuid

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse
from tests.web.matrix import VIEWERS, WebRepos, visit

# Expected status per repo row, for (the commit list, a commit page, a comparison), per viewer.
_ROWS: dict[str, dict[str, tuple[int, int, int]]] = {
    "public": {viewer: (200, 200, 200) for viewer in VIEWERS},
    "private": {viewer: (404, 404, 404) for viewer in VIEWERS} | {"alice": (200, 200, 200)},
    "gated": {"anonymous": (200, 401, 401), "bob": (200, 403, 403), "carol": (200, 403, 403)}
    | {"dave": (200, 403, 403), "alice": (200, 200, 200)},
    "org_private": {"anonymous": (404, 404, 404), "bob": (404, 404, 404)}
    | {viewer: (200, 200, 200) for viewer in ("carol", "dave", "alice")},
}
CASES = [(row, viewer, expected) for row, by_viewer in _ROWS.items() for viewer, expected in by_viewer.items()]


@pytest.mark.parametrize(("row", "viewer", "expected"), CASES, ids=[f"{r}-{v}" for r, v, _ in CASES])
def test_history_pages_follow_the_access_rules(
    browse: Browse, web_repos: WebRepos, row: str, viewer: str, expected: tuple[int, int, int]
) -> None:
    repo = getattr(web_repos, row)
    urls = (f"/{repo}/commits/main", f"/{repo}/commit/main", f"/{repo}/compare/main...main")
    client = browse(None if viewer == "anonymous" else viewer)
    pages = [client.get(url) for url in urls]
    assert tuple(response.status_code for response in pages) == expected
    assert ("config.json" in pages[1].text) == (expected[1] == 200)  # the diff's file only with the right


def test_a_private_repo_name_never_shows_in_a_refusal(browse: Browse, web_repos: WebRepos) -> None:
    response = visit(browse, "bob", f"/{web_repos.private}/commits/main")
    assert response.status_code == 404
    assert "web-private" not in response.text


def test_a_gated_repo_shows_its_diffs_once_access_is_granted(
    browse: Browse, server: LiveServer, ids: Identities
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.url, token=ids.alice)
    repo = f"alice/gated-hist-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"secret weights recipe\n", path_in_repo="recipe.txt", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    url = f"/{repo}/commit/main"
    assert browse("bob").get(url).status_code == 403
    assert "Upload recipe.txt" in browse("bob").get(f"/{repo}/commits/main").text  # the list stays public
    api.grant_access(repo, "bob")
    granted = browse("bob").get(url)
    assert granted.status_code == 200
    assert "secret weights recipe" in granted.text
    assert browse("carol").get(url).status_code == 403
