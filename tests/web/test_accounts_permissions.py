"""Who reaches which settings page: your own settings need you signed in (and show only yours),
an organisation's settings need its admin role (404 for outsiders, 403 for other members, as in
the API), and the token scope picker offers only repos the viewer may see."""

from __future__ import annotations

import pytest

from tests.support.accounts import Identities
from tests.web.conftest import Browse, csrf_of
from tests.web.matrix import VIEWERS, WebRepos, visit

ORG_PAGES = ("/organizations/acme/settings", "/organizations/acme/settings/members")
ORG_STATUS = {"anonymous": 303, "bob": 404, "carol": 403, "dave": 403, "alice": 200}


@pytest.mark.parametrize("url", ORG_PAGES)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_org_settings_only_for_its_admins(browse: Browse, ids: Identities, viewer: str, url: str) -> None:
    answer = visit(browse, viewer, url)
    assert answer.status_code == ORG_STATUS[viewer]
    if viewer == "anonymous":
        assert answer.headers["location"].startswith("/login?next=")
    if answer.status_code != 200:
        assert "Create invite link" not in answer.text


@pytest.mark.parametrize("viewer", ["bob", "carol", "dave"])
def test_org_settings_forms_refuse_non_admins(browse: Browse, ids: Identities, viewer: str) -> None:
    client = browse(viewer)
    token = csrf_of(client.get("/").text)
    for action, data in (
        ("/organizations/acme/settings/members/carol/role", {"role": "admin"}),
        ("/organizations/acme/settings/invites", {"role": "admin"}),
        ("/organizations/acme/settings/visibility", {"visibility": "private"}),
    ):
        assert client.post(action, data={**data, "_csrf": token}).status_code == ORG_STATUS[viewer]
    members = browse("alice").get("/organizations/acme/settings/members").text
    assert '<option value="read" selected>' in members  # carol is still a read member


@pytest.mark.parametrize("url", ["/settings/profile", "/settings/password", "/settings/sessions", "/settings/tokens"])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_own_settings_need_a_sign_in_and_show_only_the_viewer(
    browse: Browse, ids: Identities, viewer: str, url: str
) -> None:
    answer = visit(browse, viewer, url)
    if viewer == "anonymous":
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={url}"
        return
    assert answer.status_code == 200
    if url == "/settings/tokens" and viewer != "alice":
        assert "alice-write" not in answer.text  # another user's token labels never show


# (repo row, viewers whose token page offers it in the scope picker)
SCOPE_ROWS = [
    ("public", {"alice"}),
    ("private", {"alice"}),
    ("gated", {"alice"}),
    ("org_private", {"alice", "carol", "dave"}),
]


@pytest.mark.parametrize(("row", "offered_to"), SCOPE_ROWS)
@pytest.mark.parametrize("viewer", VIEWERS[1:])
def test_scope_picker_offers_only_the_viewers_own_repos(
    browse: Browse, web_repos: WebRepos, viewer: str, row: str, offered_to: set[str]
) -> None:
    repo_id = getattr(web_repos, row)
    html = visit(browse, viewer, f"/settings/tokens?repos={repo_id.split('/')[1]}").text
    assert (f'value="model:{repo_id}:read"' in html) == (viewer in offered_to)


def test_revoking_someone_elses_token_or_session_is_a_404(browse: Browse, ids: Identities) -> None:
    alice = browse("alice")
    alice_tokens = alice.get("/settings/tokens").text
    token_id = alice_tokens.split('action="/settings/tokens/', 1)[1].split("/", 1)[0]
    session_page = alice.get("/settings/sessions").text
    session_id = session_page.split('action="/settings/sessions/', 1)[1].split("/", 1)[0]
    bob = browse("bob")
    token = csrf_of(bob.get("/").text)
    assert bob.post(f"/settings/tokens/{token_id}/revoke", data={"_csrf": token}).status_code == 404
    assert bob.post(f"/settings/sessions/{session_id}/revoke", data={"_csrf": token}).status_code == 404
    assert f'action="/settings/tokens/{token_id}/revoke"' in alice.get("/settings/tokens").text
    assert alice.get("/settings/profile").status_code == 200
