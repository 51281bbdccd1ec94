"""Who sees which OAuth apps: a user's apps only on their own page, an org's apps only for its
admins; everyone else gets "not found" (anonymous visitors are asked to log in), and nobody
deletes an app they do not manage."""

from __future__ import annotations

import pytest

from tests.support.accounts import Identities
from tests.support.server import LiveServer
from tests.web.conftest import Browse, csrf_of
from tests.web.matrix import VIEWERS, visit
from tests.web.test_oauth import register_app

ALICE_APP = "Alice private app"
ACME_APP = "Acme internal app"


@pytest.fixture(scope="module")
def apps(server: LiveServer, ids: Identities) -> dict[str, str]:
    alice, _ = register_app(server.data_dir, server.env, "alice", ["https://a.example/cb"], name=ALICE_APP)
    acme, _ = register_app(
        server.data_dir, server.env, "acme", ["https://acme.example/cb"], name=ACME_APP, actor="alice"
    )
    return {"alice": alice, "acme": acme}


# (page, viewer) -> expected status; 303 = sent to log in.
EXPECTED = {
    "/settings/applications": {"anonymous": 303, "bob": 200, "carol": 200, "dave": 200, "alice": 200},
    "/organizations/acme/settings/applications": {
        "anonymous": 303, "bob": 404, "carol": 404, "dave": 404, "alice": 200,
    },
    "/organizations/alice/settings/applications": {
        "anonymous": 303, "bob": 404, "carol": 404, "dave": 404, "alice": 404,
    },
    "/organizations/nobody-here/settings/applications": {
        "anonymous": 303, "bob": 404, "carol": 404, "dave": 404, "alice": 404,
    },
}  # fmt: skip
ROWS = [(url, viewer, status) for url, row in EXPECTED.items() for viewer, status in row.items()]


@pytest.mark.parametrize(("url", "viewer", "status"), ROWS)
def test_apps_pages_by_viewer(browse: Browse, apps: dict[str, str], url: str, viewer: str, status: int) -> None:
    response = visit(browse, viewer, url)
    assert response.status_code == status
    if status == 303:
        assert response.headers["location"].startswith("/login?next=")
    body = response.text
    sees_alice = viewer == "alice" and url == "/settings/applications"
    sees_acme = viewer == "alice" and "/acme/" in url
    assert (ALICE_APP in body) == sees_alice
    assert (apps["alice"] in body) == sees_alice
    assert (ACME_APP in body) == sees_acme


@pytest.mark.parametrize("viewer", [v for v in VIEWERS if v not in ("anonymous", "alice")])
@pytest.mark.parametrize("owner", ["alice", "acme"])
def test_nobody_else_deletes_an_app(browse: Browse, apps: dict[str, str], viewer: str, owner: str) -> None:
    client = browse(viewer)
    token = csrf_of(client.get("/settings/applications").text)
    response = client.post(f"/settings/applications/{apps[owner]}/delete", data={"_csrf": token})
    assert response.status_code == 404
    alice = browse("alice")
    page = "/settings/applications" if owner == "alice" else "/organizations/acme/settings/applications"
    assert apps[owner] in alice.get(page).text


def test_nobody_else_creates_an_app_for_an_org(browse: Browse, apps: dict[str, str]) -> None:
    client = browse("dave")  # a write member, not an admin
    token = csrf_of(client.get("/settings/applications").text)
    form = {"_csrf": token, "name": "Sneaky", "redirect_uris": "https://x.example/cb"}
    assert client.post("/organizations/acme/settings/applications", data=form).status_code == 404
    assert "Sneaky" not in browse("alice").get("/organizations/acme/settings/applications").text
