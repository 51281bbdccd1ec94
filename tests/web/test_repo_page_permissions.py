"""Who sees which repo page: private repos are a 404 to outsiders at every URL of the page (the
page, its forms, under every type prefix); a gated repo's card is public but its form is the
only way to its files."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import Browse
from tests.web.matrix import VIEWERS, visit

# Who may see each shared repo (tests/web/matrix.py).
SEES = {
    "public": set(VIEWERS),
    "gated": set(VIEWERS),
    "private": {"alice"},
    "org_private": {"alice", "carol", "dave"},
}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("row", sorted(SEES))
def test_the_repo_page_is_shown_only_to_who_may_see_the_repo(
    browse: Browse, web_repos: Any, viewer: str, row: str
) -> None:
    repo_id = getattr(web_repos, row)
    response = visit(browse, viewer, f"/{repo_id}")
    expected = 200 if viewer in SEES[row] else 404
    assert response.status_code == expected
    if expected == 404:
        main = response.text[response.text.index("<main") : response.text.index("</main>")]
        # not even its name; only the log-in links echo the URL that was typed
        assert repo_id not in main.replace(f"next=/{repo_id}", "")
    else:
        assert "Hello." in response.text  # the card, gated or not


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("row", ["private", "org_private", "public"])
@pytest.mark.parametrize("prefix", ["/datasets", "/spaces", "/kernels"])
def test_a_model_is_no_page_under_another_type_prefix(
    browse: Browse, web_repos: Any, viewer: str, row: str, prefix: str
) -> None:
    assert visit(browse, viewer, f"{prefix}/{getattr(web_repos, row)}").status_code == 404


@pytest.mark.parametrize("viewer", ["bob", "carol"])
@pytest.mark.parametrize("action", ["like", "ask-access"])
def test_the_forms_of_a_private_repo_are_a_404_to_outsiders(
    browse: Browse, web_repos: Any, viewer: str, action: str
) -> None:
    client = browse(viewer)
    token = _form_token(client.get("/").text)
    response = client.post(f"/{web_repos.private}/{action}", data={"_csrf": token, "action": "like"})
    assert response.status_code == 404
    assert web_repos.private not in response.text


@pytest.mark.parametrize("viewer", ["anonymous", "bob", "carol", "dave"])
def test_a_gated_page_shows_the_card_but_not_the_files_to_those_not_granted(
    browse: Browse, web_repos: Any, viewer: str
) -> None:
    html = visit(browse, viewer, f"/{web_repos.gated}").text
    assert "Hello." in html
    assert "access granted" not in html
    assert '{"a": 1}' not in html
    assert "{&#34;a&#34;: 1}" not in html
    assert (viewer == "anonymous") is ("to request access to this repository" in html)
    assert (viewer != "anonymous") is (f'action="/{web_repos.gated}/ask-access"' in html)


def test_the_owner_of_a_gated_repo_has_access(browse: Browse, web_repos: Any) -> None:
    html = browse("alice").get(f"/{web_repos.gated}").text
    assert "access granted" in html
    assert "ask-access" not in html


def _form_token(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
