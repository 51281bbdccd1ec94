"""Who may open the pages that change a repo, for every viewer and every shared repo: private
repos are a 404 to outsiders (even anonymous ones, who are otherwise sent to log in), settings
need the admin right, the editor needs the right to download (gated content), and upload is
open to anyone who may propose a pull request. Forms posted without the right change nothing."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of
from tests.web.matrix import WebRepos, visit

LOGIN = 303
# viewer -> expected status for the repos (public, private, gated, org_private)
SETTINGS = {
    "anonymous": (LOGIN, 404, LOGIN, 404),
    "bob": (403, 404, 403, 404),
    "carol": (403, 404, 403, 403),
    "dave": (403, 404, 403, 403),
    "alice": (200, 200, 200, 200),
}
UPLOAD = {
    "anonymous": (LOGIN, 404, LOGIN, 404),
    "bob": (200, 404, 200, 404),
    "carol": (200, 404, 200, 200),
    "dave": (200, 404, 200, 200),
    "alice": (200, 200, 200, 200),
}
EDIT = {
    "anonymous": (LOGIN, 404, LOGIN, 404),
    "bob": (200, 404, 403, 404),
    "carol": (200, 404, 403, 200),
    "dave": (200, 404, 403, 200),
    "alice": (200, 200, 200, 200),
}
ROWS = ("public", "private", "gated", "org_private")
CASES = [
    (page, suffix, viewer, row, table[viewer][index])
    for page, suffix, table in (
        ("settings", "/settings", SETTINGS),
        ("upload", "/upload/main", UPLOAD),
        ("new-file", "/new/main", UPLOAD),
        ("edit", "/edit/main/README.md", EDIT),
    )
    for viewer in table
    for index, row in enumerate(ROWS)
]


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


@pytest.mark.parametrize(("page", "suffix", "viewer", "row", "expected"), CASES)
def test_who_may_open_the_change_pages(
    browse: Browse, web_repos: WebRepos, page: str, suffix: str, viewer: str, row: str, expected: int
) -> None:
    repo_id = getattr(web_repos, row)
    response = visit(browse, viewer, f"/{repo_id}{suffix}")
    assert response.status_code == expected, response.text[:300]
    if expected == LOGIN:
        assert response.headers["location"].startswith("/login?next=")
    if expected == 404:  # the same page as for a repo that does not exist
        missing = visit(browse, viewer, f"/{repo_id}-missing{suffix}")
        assert missing.status_code == 404
        assert _main(response.text).replace(repo_id, "X") == _main(missing.text).replace(f"{repo_id}-missing", "X")
    if expected != 200:
        assert "Hello." not in response.text  # the card's text: no file content leaks


def test_an_outsider_cannot_commit_to_a_branch_by_posting_the_form(
    browse: Browse, server: LiveServer, ids: Identities, web_repos: WebRepos
) -> None:
    client = browse("bob")
    url = f"/{web_repos.public}/edit/main/README.md"
    token = csrf_of(client.get(url).text)
    form = {"_csrf": token, "content": "defaced", "target": "branch", "action": "commit"}
    response = client.post(url, data=form)
    assert response.status_code == 303  # proposed as a pull request instead
    assert "/discussions/" in response.headers["location"]
    card = client.get(f"/{web_repos.public}/resolve/main/README.md", headers={"Accept": "*/*"})
    assert card.text == "# A card\n\nHello.\n"


def test_a_writer_cannot_change_settings_by_posting_the_form(
    browse: Browse, server: LiveServer, ids: Identities, web_repos: WebRepos
) -> None:
    client = browse("dave")
    token = csrf_of(client.get("/").text)
    url = f"/{web_repos.org_private}/settings/visibility"
    assert client.post(url, data={"_csrf": token, "visibility": "public"}).status_code == 403
    assert HfApi(endpoint=server.url, token=ids.alice).model_info(web_repos.org_private).private is True


def test_delete_of_someone_elses_repo_is_a_404_when_it_is_private(browse: Browse, web_repos: WebRepos) -> None:
    client = browse("bob")
    token = csrf_of(client.get("/").text)
    response = client.post(f"/{web_repos.private}/settings/delete", data={"_csrf": token, "confirm": web_repos.private})
    assert response.status_code == 404
    assert browse("alice").get(f"/{web_repos.private}/settings").status_code == 200


def test_a_repo_named_like_a_change_page_keeps_its_own_url(browse: Browse, server: LiveServer, ids: Identities) -> None:
    """``/alice/settings`` is the repo ``alice/settings``, never the settings of a repo ``alice``."""
    HfApi(endpoint=server.url, token=ids.alice).create_repo("alice/settings", exist_ok=True)
    assert browse("alice").get("/alice/settings/settings").status_code == 200
    assert "Delete this repository" not in browse("alice").get("/alice/settings").text
